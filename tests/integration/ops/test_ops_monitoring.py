"""Monitoring: the real Prometheus scrapes a running server with the bearer token and stores `tlac_`
series; the alert rules and the scrape config pass promtool and fire when they should; every metric the
dashboard and the alerts use is one the server exports; the backup gauges follow the last backup."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml
from ops_helpers import METRICS_TOKEN, REPO

from server.ops import create_backup, read_metadata

PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "post16.json"
IN_CI = __import__("os").environ.get("CI", "").lower() in {"1", "true", "yes"}


def _tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        message = f"{name} is not installed (Debian package prometheus; scripts/provision.sh installs it)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def _run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=cwd)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_alert_rules_pass_promtool():
    result = _run(_tool("promtool"), "check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout + result.stderr


def _local_config(tmp_path: Path, target: str, *, interval: str = "15s") -> Path:
    """The shipped prometheus.yml with the target, token file and rules pointed at this machine."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    token_file = tmp_path / "metrics_token"
    token_file.write_text(METRICS_TOKEN, encoding="utf-8")
    config["global"]["scrape_interval"] = interval
    config["global"]["evaluation_interval"] = interval
    config["global"]["scrape_timeout"] = interval
    config["rule_files"] = [str(ALERTS)]
    api_job = next(job for job in config["scrape_configs"] if job["job_name"] == "post16-api")
    api_job["authorization"]["credentials_file"] = str(token_file)
    api_job["static_configs"] = [{"targets": [target]}]
    runner_job = next(job for job in config["scrape_configs"] if job["job_name"] == "post16-runner")
    runner_job["authorization"]["credentials_file"] = str(token_file)
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_prometheus_config_passes_promtool(tmp_path):
    promtool = _tool("promtool")
    shipped = _run(promtool, "check", "config", "--syntax-only", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    # The full check also opens the token file and the rule files, which exist only in the container.
    local = _run(promtool, "check", "config", str(_local_config(tmp_path, "127.0.0.1:8000")))
    assert local.returncode == 0, local.stdout + local.stderr
    assert "SUCCESS" in local.stdout + local.stderr


ALERT_TESTS = {
    "rule_files": [str(ALERTS)],
    "evaluation_interval": "1m",
    "tests": [
        {
            "name": "more than 26 hours without a good backup alerts",
            "interval": "1m",
            "input_series": [
                {
                    "series": 'tlac_backup_last_success_timestamp_seconds{job="post16-api"}',
                    "values": "0x1700",
                },
                {
                    "series": 'tlac_backup_last_failure_timestamp_seconds{job="post16-api"}',
                    "values": "0x1700",
                },
            ],
            "alert_rule_test": [
                {
                    "eval_time": "27h",
                    "alertname": "Post16BackupTooOld",
                    "exp_alerts": [
                        {
                            "exp_labels": {"severity": "critical"},
                            "exp_annotations": {
                                "summary": "No successful backup in the last 26 hours",
                                "description": "The last good backup is 1d 3h 0m 0s old (or there never was "
                                "one). See docs/backup-and-recovery.md.",
                            },
                        }
                    ],
                },
                {"eval_time": "27h", "alertname": "Post16BackupFailed", "exp_alerts": []},
            ],
        },
        {
            "name": "a backup from less than two hours ago is fine",
            "interval": "1m",
            "input_series": [
                # At eval time 200m the last success (6000 s = 100m) is 100 minutes old.
                {
                    "series": 'tlac_backup_last_success_timestamp_seconds{job="post16-api"}',
                    "values": "6000x200",
                },
            ],
            "alert_rule_test": [{"eval_time": "200m", "alertname": "Post16BackupTooOld", "exp_alerts": []}],
        },
        {
            "name": "a burst of failed logins alerts",
            "interval": "1m",
            "input_series": [
                {"series": 'tlac_auth_login_attempts_total{status="failure"}', "values": "0+30x30"},
                {"series": 'tlac_auth_login_attempts_total{status="success"}', "values": "0+100x30"},
            ],
            "alert_rule_test": [
                {
                    "eval_time": "20m",
                    "alertname": "Post16FailedLoginSpike",
                    "exp_alerts": [
                        {
                            "exp_labels": {"severity": "warning"},
                            "exp_annotations": {
                                "summary": "Many failed logins",
                                "description": "150 failed or throttled logins in 5 minutes: a "
                                "password-guessing attempt, or a class that forgot the new password. "
                                "Check the audit log (actions user.login_failed, user.login_throttled).",
                            },
                        }
                    ],
                }
            ],
        },
        {
            "name": "an API that stops answering alerts after two minutes",
            "interval": "1m",
            "input_series": [
                {"series": 'up{job="post16-api",instance="api:8000"}', "values": "1 1 0 0 0 0 0"}
            ],
            "alert_rule_test": [
                {"eval_time": "3m", "alertname": "Post16ApiDown", "exp_alerts": []},
                {
                    "eval_time": "5m",
                    "alertname": "Post16ApiDown",
                    "exp_alerts": [
                        {
                            "exp_labels": {
                                "severity": "critical",
                                "job": "post16-api",
                                "instance": "api:8000",
                            },
                            "exp_annotations": {
                                "summary": "Post16 API is not answering Prometheus",
                                "description": "api:8000 has failed every scrape for 2 minutes: pupils "
                                "cannot sync.",
                            },
                        }
                    ],
                },
            ],
        },
        {
            "name": "runs piling up in the sandbox queue alert; a short blip does not",
            "interval": "1m",
            "input_series": [
                {"series": "tlac_sandbox_queue_depth", "values": "0 0 15 2 0 0 0 0 0 0 12x20"},
            ],
            "alert_rule_test": [
                {"eval_time": "8m", "alertname": "Post16SandboxQueueBacklog", "exp_alerts": []},
                {
                    "eval_time": "25m",
                    "alertname": "Post16SandboxQueueBacklog",
                    "exp_alerts": [
                        {
                            "exp_labels": {"severity": "warning"},
                            "exp_annotations": {
                                "summary": "Pupils' code runs are queueing",
                                "description": "Up to 12 runs waiting for a sandbox slot for 5 minutes: "
                                "add runner capacity (another runner host in POST16_RUNNER_URLS, or more "
                                "cores) or check the Docker engine.",
                            },
                        }
                    ],
                },
            ],
        },
        {
            "name": "a runner that stops answering, or loses its Docker engine, alerts after two minutes",
            "interval": "1m",
            "input_series": [
                {"series": 'up{job="post16-runner",instance="runner:8700"}', "values": "1 1 0 0 0 0 0"},
                {"series": 'tlac_runner_up{job="post16-runner",instance="runner-b:8700"}', "values": "1x10"},
            ],
            "alert_rule_test": [
                {"eval_time": "3m", "alertname": "Post16RunnerDown", "exp_alerts": []},
                {
                    "eval_time": "5m",
                    "alertname": "Post16RunnerDown",
                    "exp_alerts": [
                        {
                            "exp_labels": {
                                "severity": "critical",
                                "job": "post16-runner",
                                "instance": "runner:8700",
                            },
                            "exp_annotations": {
                                "summary": "A Python runner is down",
                                "description": "runner:8700 has not answered, or has had no usable Docker "
                                "engine, for 2 minutes: its share of pupils' runs goes to the other "
                                "runners, or answers 'unavailable' when there is none. See docker compose "
                                "logs runner.",
                            },
                        }
                    ],
                },
            ],
        },
        {
            "name": "five percent of requests failing for ten minutes alerts",
            "interval": "1m",
            "input_series": [
                {"series": 'tlac_http_requests_total{status_code="200"}', "values": "0+600x30"},
                {"series": 'tlac_http_requests_total{status_code="500"}', "values": "0+60x30"},
            ],
            "alert_rule_test": [
                {"eval_time": "8m", "alertname": "Post16HighErrorRate", "exp_alerts": []},
                {
                    "eval_time": "20m",
                    "alertname": "Post16HighErrorRate",
                    "exp_alerts": [
                        {
                            "exp_labels": {"severity": "critical"},
                            "exp_annotations": {
                                "summary": "More than 5% of API requests fail with a server error",
                                "description": "9.091% of requests answered 5xx over the last 5 minutes.",
                            },
                        }
                    ],
                },
            ],
        },
    ],
}


def test_alert_rules_fire_when_they_should_and_not_otherwise(tmp_path):
    tests_file = tmp_path / "alerts_test.yml"
    tests_file.write_text(yaml.safe_dump(ALERT_TESTS, width=200), encoding="utf-8")
    result = _run(_tool("promtool"), "test", "rules", str(tests_file))
    assert result.returncode == 0, result.stdout + result.stderr


def _metric_names_used() -> set[str]:
    expressions = [
        rule["expr"] for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    expressions += [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    names = set()
    for expression in expressions:
        for name in re.findall(r"\btlac_[a-z_]+", expression):
            names.add(re.sub(r"_(bucket|count|sum)$", "", name))
    return names


def _exported_names(exposition: str) -> set[str]:
    return {line.split()[2] for line in exposition.splitlines() if line.startswith("# TYPE ")}


def test_every_metric_the_dashboard_and_alerts_use_is_exported(client):
    assert client.get("/api/ready").status_code in {200, 503}  # HTTP metrics appear with the first request
    response = client.get("/api/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    used = _metric_names_used()
    assert {"tlac_http_requests_total", "tlac_backup_last_success_timestamp_seconds"} <= used
    assert used - _exported_names(response.text) - _exported_names(_runner_exposition()) == set()


def _runner_exposition() -> str:
    """What a runner service's /metrics exports (no Docker needed to list the names)."""
    from sandbox import SandboxRunner
    from sandbox._service import RunnerService

    service = RunnerService(
        SandboxRunner(engines=["unix:///nonexistent.sock"]), "monitoring-test-secret-0123456789abcdef"
    )
    return service.metrics().decode()


def test_dashboard_uses_the_provisioned_datasource():
    datasources = yaml.safe_load(
        (REPO / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text(encoding="utf-8")
    )["datasources"]
    uid = datasources[0]["uid"]
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    for panel in dashboard["panels"]:
        if panel["type"] in {"stat", "timeseries"}:
            assert panel["datasource"]["uid"] == uid, panel["title"]
    monitoring = yaml.safe_load((REPO / "compose.monitoring.yml").read_text(encoding="utf-8"))
    assert datasources[0]["url"].startswith("http://prometheus:")
    assert "prometheus" in monitoring["services"]


def test_server_exports_the_last_backups_size_duration_and_time(client, settings, tmp_path):
    token = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    before = client.get("/api/metrics", headers=token).text
    assert "tlac_backup_last_success_timestamp_seconds 0.0" in before

    started = time.time()
    backup = create_backup(settings, tmp_path / "backups")
    metrics = client.get("/api/metrics", headers=token).text

    values = {
        name: float(value)
        for name, value in re.findall(r"^(tlac_backup_\w+) (\S+)$", metrics, flags=re.MULTILINE)
    }
    assert values["tlac_backup_size_bytes"] == read_metadata(backup)["size_bytes"]
    assert started <= values["tlac_backup_last_success_timestamp_seconds"] <= time.time()
    assert 0 < values["tlac_backup_duration_seconds"] < 120
    assert values["tlac_backup_last_failure_timestamp_seconds"] == 0


def _query(base: str, promql: str) -> list[dict[str, object]]:
    response = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5)
    response.raise_for_status()
    result: list[dict[str, object]] = response.json()["data"]["result"]
    return result


@pytest.mark.slow
def test_real_prometheus_scrapes_the_server_with_its_token(make_server, pg_url, tmp_path):
    prometheus = _tool("prometheus")
    server = make_server(pg_url)
    httpx.post(
        f"{server.url}/api/auth/login",
        json={"username": "nobody", "password": "wrong password", "client": "desktop"},
        timeout=10,
    )
    config = _local_config(tmp_path, server.url.removeprefix("http://"), interval="1s")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        found: list[dict[str, object]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not found:
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                found = _query(base, 'count by (__name__) ({__name__=~"tlac_.+", job="post16-api"})')
            time.sleep(0.5)
        names = {str(item["metric"]["__name__"]) for item in found}  # type: ignore[index]
        assert "tlac_auth_login_attempts_total" in names, (tmp_path / "prometheus.log").read_text()[-3000:]
        assert "tlac_backup_last_success_timestamp_seconds" in names
        assert "tlac_http_requests_total" in names
        up = _query(base, 'up{job="post16-api"}')
        assert [item["value"][1] for item in up] == ["1"]  # type: ignore[index]
        rules = httpx.get(f"{base}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert {group["name"] for group in rules} == {
            "post16-api",
            "post16-security",
            "post16-sandbox",
            "post16-backups",
        }
        assert all(rule["health"] != "err" for group in rules for rule in group["rules"])
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()
