"""Typed settings, read once from `POST16_*` environment variables (documented in .env.example)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import msgspec

from shared.wire.runner import runner_secret_problem

DEFAULT_RATE_LIMITS = {"activity_save": 60, "python_run": 20, "mark_activity": 30, "default": 120}


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    data_dir: Path
    database_url: str
    lessons_dir: Path
    # ip_network objects (typed loosely: Litestar's DI validates Settings with msgspec, which cannot
    # convert a union of two non-msgspec classes).
    trusted_proxies: tuple[Any, ...] = ()
    metrics_token: str | None = None
    metrics_allow: tuple[Any, ...] = ()
    pool_size: int = 20
    max_overflow: int = 40
    pool_recycle: int = 1800
    pool_pre_ping: bool = True
    # The psycopg pool of the hot path (saves, rate-limit counts; server.db.direct), per process.
    direct_pool_size: int = 10
    pool_timeout: float = 30.0
    # Seconds a process may answer from its cache of checked sessions (PostgreSQL only; 0: off).
    session_cache_seconds: int = 10
    web_session_idle: int = 30 * 60
    web_session_absolute: int = 12 * 3600
    desktop_session_idle: int = 14 * 86400
    desktop_session_absolute: int = 60 * 86400
    rate_limits: dict[str, int] = msgspec.field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    # Failed logins: per username from one address (the attacker's back-off), per username across
    # every untrusted device (the ceiling), per address across usernames (server.domain.auth.throttle).
    login_user_threshold: int = 5
    login_user_ceiling: int = 100
    login_ip_threshold: int = 50
    # Days a device stays trusted after a successful login from it (its device token).
    login_device_days: int = 90
    # Successful logins per minute: per user, and per client address (a school behind one NAT shares one).
    login_success_per_user: int = 10
    login_success_per_ip: int = 600
    # Seconds between purges of expired and revoked sessions (0: never).
    session_purge_seconds: int = 3600
    max_body_bytes: int = 4 * 1024 * 1024
    max_state_bytes: int = 64 * 1024
    cookie_secure: bool = True
    secret_key: str = ""
    log_level: str = "INFO"
    log_json: bool = True
    sandbox_enabled: bool = True
    # Runner services (`post16-sandbox serve`) that run pupils' code; empty: the sandbox runs in this
    # process (the single-process embedded demo). With URLs, the secret is required.
    runner_urls: tuple[str, ...] = ()
    runner_secret: str = ""
    # Longest wait for one run or check from a runner, queueing included; then `unavailable`.
    runner_timeout_seconds: float = 90.0
    # Seconds a claimed `code.check` may stay running before another worker takes it over (a process
    # that died mid-check); longer than the longest check.
    check_stale_seconds: int = 300
    lessons_reload_seconds: float = 30.0
    clock_skew_seconds: int = 300

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _networks(name: str, raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ConfigError(f"{name}: {item!r} is not an IP address or network ({exc})") from exc
    return tuple(networks)


def _int(env: dict[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {value}")
    return value


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def parse_rate_limits(raw: str) -> dict[str, int]:
    """`activity_save=60,python_run=20` → dict; 0 turns a limit off. Unknown names are refused."""
    limits = dict(DEFAULT_RATE_LIMITS)
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in DEFAULT_RATE_LIMITS:
            known = ", ".join(DEFAULT_RATE_LIMITS)
            raise ConfigError(f"POST16_RATE_LIMITS: {item!r} is not NAME=N with NAME one of {known}")
        try:
            limits[name] = int(value)
        except ValueError as exc:
            raise ConfigError(f"POST16_RATE_LIMITS: {name} needs a whole number, got {value!r}") from exc
        if limits[name] < 0:
            raise ConfigError(f"POST16_RATE_LIMITS: {name} must not be negative")
    return limits


WEAK_DATABASE_PASSWORDS = frozenset(
    {"", "postgres", "password", "changeme", "change-me", "post16", "secret", "admin", "example"}
)
MIN_DATABASE_PASSWORD = 12


def _database_url_from_secret(env: dict[str, str]) -> str | None:
    """Production (compose): the URL is built from POST16_DB_* and a password file (a Docker secret).
    A missing, empty, short or well-known password stops the server from starting."""
    password_file = env.get("POST16_DATABASE_PASSWORD_FILE")
    if not password_file:
        return None
    try:
        password = Path(password_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"POST16_DATABASE_PASSWORD_FILE: cannot read {password_file} ({exc.strerror})"
        ) from exc
    if password.lower() in WEAK_DATABASE_PASSWORDS or len(password) < MIN_DATABASE_PASSWORD:
        raise ConfigError(
            "POST16_DATABASE_PASSWORD_FILE: the database password is empty, a default or shorter than "
            f"{MIN_DATABASE_PASSWORD} characters; generate one: openssl rand -base64 32 > secrets/db_password"
        )
    host = env.get("POST16_DB_HOST", "db")
    port = env.get("POST16_DB_PORT", "5432")
    user = env.get("POST16_DB_USER", "post16")
    name = env.get("POST16_DB_NAME", "post16")
    return f"postgresql+psycopg://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{name}"


def _secret(env: dict[str, str], name: str) -> str | None:
    """`NAME`, or the contents of the file named by `NAME_FILE` (a Docker secret shared with Prometheus)."""
    path = env.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {path} ({exc.strerror})") from exc
    return env.get(name) or None


def _runner_urls(env: dict[str, str]) -> tuple[str, ...]:
    urls = []
    for item in filter(None, (part.strip() for part in env.get("POST16_RUNNER_URLS", "").split(","))):
        parsed = urlsplit(item)
        if parsed.scheme not in {"http", "https"} or not parsed.hostname or parsed.path not in {"", "/"}:
            raise ConfigError(f"POST16_RUNNER_URLS: {item!r} is not a runner address like http://runner:8700")
        urls.append(item.rstrip("/"))
    if len(set(urls)) != len(urls):
        raise ConfigError("POST16_RUNNER_URLS: a runner is listed twice")
    return tuple(urls)


def _runner_secret(env: dict[str, str], urls: tuple[str, ...]) -> str:
    """The secret the runners expect; required (and strong) as soon as a runner URL is set."""
    secret = _secret(env, "POST16_RUNNER_SECRET") or ""
    if urls:
        problem = runner_secret_problem(secret)
        if problem is not None:
            source = (
                "POST16_RUNNER_SECRET_FILE"
                if env.get("POST16_RUNNER_SECRET_FILE")
                else "POST16_RUNNER_SECRET"
            )
            raise ConfigError(
                f"{source}: the runner secret {problem}; the runners in POST16_RUNNER_URLS need it "
                "(openssl rand -hex 32 > secrets/runner_secret)"
            )
    return secret


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    data_dir = Path(env.get("POST16_DATA_DIR") or "var/data").expanduser()
    database_url = (
        env.get("POST16_DATABASE_URL")
        or _database_url_from_secret(env)
        or f"sqlite+aiosqlite:///{data_dir.resolve()}/post16.sqlite3"
    )
    if not database_url.startswith(("postgresql", "sqlite")):
        raise ConfigError(
            "POST16_DATABASE_URL: only postgresql+psycopg:// and sqlite+aiosqlite:// are supported"
        )
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    if database_url.startswith("sqlite:///"):
        database_url = "sqlite+aiosqlite:///" + database_url.removeprefix("sqlite:///")
    runner_urls = _runner_urls(env)
    lessons_dir = Path(env.get("POST16_LESSONS_DIR") or Path(__file__).resolve().parent.parent / "lessons")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        lessons_dir=lessons_dir,
        trusted_proxies=_networks("POST16_TRUSTED_PROXIES", env.get("POST16_TRUSTED_PROXIES", "")),
        metrics_token=_secret(env, "POST16_METRICS_TOKEN"),
        metrics_allow=_networks("POST16_METRICS_ALLOW", env.get("POST16_METRICS_ALLOW", "")),
        pool_size=_int(env, "POST16_DB_POOL_SIZE", 20, 1),
        max_overflow=_int(env, "POST16_DB_MAX_OVERFLOW", 40),
        pool_recycle=_int(env, "POST16_DB_POOL_RECYCLE", 1800, 1),
        pool_pre_ping=_bool(env, "POST16_DB_POOL_PRE_PING", True),
        direct_pool_size=_int(env, "POST16_DB_DIRECT_POOL_SIZE", 10, 1),
        pool_timeout=float(_int(env, "POST16_DB_POOL_TIMEOUT", 30, 1)),
        session_cache_seconds=_int(env, "POST16_SESSION_CACHE_SECONDS", 10),
        web_session_idle=_int(env, "POST16_WEB_SESSION_IDLE", 30 * 60, 60),
        web_session_absolute=_int(env, "POST16_WEB_SESSION_ABSOLUTE", 12 * 3600, 60),
        desktop_session_idle=_int(env, "POST16_DESKTOP_SESSION_IDLE", 14 * 86400, 60),
        desktop_session_absolute=_int(env, "POST16_DESKTOP_SESSION_ABSOLUTE", 60 * 86400, 60),
        rate_limits=parse_rate_limits(env.get("POST16_RATE_LIMITS", "")),
        login_user_threshold=_int(env, "POST16_LOGIN_USER_THRESHOLD", 5, 1),
        login_user_ceiling=_int(env, "POST16_LOGIN_USER_CEILING", 100, 1),
        login_ip_threshold=_int(env, "POST16_LOGIN_IP_THRESHOLD", 50, 1),
        login_device_days=_int(env, "POST16_LOGIN_DEVICE_DAYS", 90, 1),
        login_success_per_user=_int(env, "POST16_LOGIN_SUCCESS_PER_USER", 10),
        login_success_per_ip=_int(env, "POST16_LOGIN_SUCCESS_PER_IP", 600),
        session_purge_seconds=_int(env, "POST16_SESSION_PURGE_SECONDS", 3600),
        max_body_bytes=_int(env, "POST16_MAX_BODY_BYTES", 4 * 1024 * 1024, 1024),
        max_state_bytes=_int(env, "POST16_MAX_STATE_BYTES", 64 * 1024, 256),
        cookie_secure=_bool(env, "POST16_COOKIE_SECURE", True),
        secret_key=env.get("POST16_SECRET_KEY", ""),
        log_level=env.get("POST16_LOG_LEVEL", "INFO").upper(),
        log_json=_bool(env, "POST16_LOG_JSON", True),
        sandbox_enabled=_bool(env, "POST16_SANDBOX_ENABLED", True),
        runner_urls=runner_urls,
        runner_secret=_runner_secret(env, runner_urls),
        runner_timeout_seconds=float(_int(env, "POST16_RUNNER_TIMEOUT_SECONDS", 90, 5)),
        check_stale_seconds=_int(env, "POST16_CHECK_STALE_SECONDS", 300, 10),
        lessons_reload_seconds=float(_int(env, "POST16_LESSONS_RELOAD_SECONDS", 30)),
        clock_skew_seconds=_int(env, "POST16_CLOCK_SKEW_SECONDS", 300, 0),
    )


__all__ = ["ConfigError", "Settings", "load_settings", "parse_rate_limits"]
