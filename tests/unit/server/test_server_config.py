"""Settings: every bad value is refused with the variable named; production refuses weak DB passwords."""

from __future__ import annotations

import pytest

from server.config import ConfigError, load_settings, parse_rate_limits


def test_defaults_to_sqlite_under_the_data_dir(tmp_path):
    settings = load_settings({"POST16_DATA_DIR": str(tmp_path)})
    assert settings.is_sqlite
    assert str(tmp_path) in settings.database_url


def test_rate_limits_parse_and_zero_turns_one_off():
    limits = parse_rate_limits("activity_save=0,python_run=5")
    assert limits == {"activity_save": 0, "python_run": 5, "mark_activity": 30, "default": 120}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"POST16_RATE_LIMITS": "nonsense=3"}, "POST16_RATE_LIMITS"),
        ({"POST16_RATE_LIMITS": "python_run=many"}, "POST16_RATE_LIMITS"),
        ({"POST16_TRUSTED_PROXIES": "10.0.0.300"}, "POST16_TRUSTED_PROXIES"),
        ({"POST16_DB_POOL_SIZE": "zero"}, "POST16_DB_POOL_SIZE"),
        ({"POST16_COOKIE_SECURE": "maybe"}, "POST16_COOKIE_SECURE"),
        ({"POST16_DATABASE_URL": "mysql://x"}, "POST16_DATABASE_URL"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_variable(env, named):
    with pytest.raises(ConfigError, match=named):
        load_settings(env)


@pytest.mark.parametrize("password", ["", "postgres", "changeme", "short-pw"])
def test_production_refuses_an_empty_default_or_short_database_password(tmp_path, password):
    secret = tmp_path / "db_password"
    secret.write_text(password + "\n")
    with pytest.raises(ConfigError, match="POST16_DATABASE_PASSWORD_FILE"):
        load_settings({"POST16_DATABASE_PASSWORD_FILE": str(secret)})


def test_production_builds_the_url_from_the_secret_file(tmp_path):
    secret = tmp_path / "db_password"
    secret.write_text("s3cret/with@odd:chars-long\n")
    settings = load_settings({"POST16_DATABASE_PASSWORD_FILE": str(secret), "POST16_DB_HOST": "db"})
    assert (
        settings.database_url == "postgresql+psycopg://post16:s3cret%2Fwith%40odd%3Achars-long@db:5432/post16"
    )


def test_the_server_cli_refuses_to_start_with_a_weak_password(tmp_path, monkeypatch, capsys):
    from server.cli import main

    secret = tmp_path / "db_password"
    secret.write_text("password")
    monkeypatch.setenv("POST16_DATABASE_PASSWORD_FILE", str(secret))
    monkeypatch.delenv("POST16_DATABASE_URL", raising=False)
    assert main(["migrate"]) == 2
    assert "database password" in capsys.readouterr().err


def test_metrics_token_can_come_from_a_secret_file(tmp_path):
    token_file = tmp_path / "metrics_token"
    token_file.write_text("from-the-secret\n")
    settings = load_settings(
        {"POST16_METRICS_TOKEN_FILE": str(token_file), "POST16_METRICS_TOKEN": "ignored"}
    )
    assert settings.metrics_token == "from-the-secret"


def test_an_unreadable_metrics_token_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="POST16_METRICS_TOKEN_FILE"):
        load_settings({"POST16_METRICS_TOKEN_FILE": str(tmp_path / "missing")})


RUNNER_SECRET = "unit-test-runner-secret-0123456789abcdef"


def test_runner_urls_and_secret_are_read_and_trailing_slashes_dropped(tmp_path):
    secret_file = tmp_path / "runner_secret"
    secret_file.write_text(RUNNER_SECRET + "\n", encoding="utf-8")
    settings = load_settings(
        {
            "POST16_RUNNER_URLS": "http://10.0.0.21:8700/, https://runner-b.school:8700",
            "POST16_RUNNER_SECRET_FILE": str(secret_file),
        }
    )
    assert settings.runner_urls == ("http://10.0.0.21:8700", "https://runner-b.school:8700")
    assert settings.runner_secret == RUNNER_SECRET
    assert load_settings({}).runner_urls == ()  # no runners: the in-process sandbox (the demo)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"POST16_RUNNER_URLS": "runner:8700"}, "POST16_RUNNER_URLS: 'runner:8700' is not a runner address"),
        ({"POST16_RUNNER_URLS": "tcp://runner:2375"}, "is not a runner address"),
        ({"POST16_RUNNER_URLS": "http://runner:8700/run"}, "is not a runner address"),
        ({"POST16_RUNNER_URLS": "http://a:1,http://a:1/"}, "a runner is listed twice"),
        ({"POST16_RUNNER_URLS": "http://runner:8700"}, "POST16_RUNNER_SECRET: the runner secret is empty"),
        (
            {"POST16_RUNNER_URLS": "http://runner:8700", "POST16_RUNNER_SECRET": "too-short"},
            "shorter than 32 characters",
        ),
        (
            {"POST16_RUNNER_URLS": "http://runner:8700", "POST16_RUNNER_SECRET_FILE": "/nonexistent/secret"},
            "POST16_RUNNER_SECRET_FILE: cannot read /nonexistent/secret",
        ),
        ({"POST16_RUNNER_TIMEOUT_SECONDS": "1"}, "POST16_RUNNER_TIMEOUT_SECONDS: must be at least 5"),
    ],
)
def test_bad_runner_settings_are_refused_naming_the_variable(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_settings(env)
