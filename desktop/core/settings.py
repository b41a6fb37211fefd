"""Typed settings, loaded once at start from four sources.

Precedence, highest first: the command line, the user's config file, the machine-wide config file that
installers write, the environment (`POST16_*`). A source that is broken (bad TOML, a wrong type) is
skipped and reported in `Settings.problems`, naming the file and key, so a typo never stops the app.

- Linux: user `$XDG_CONFIG_HOME/post16/desktop.toml` (default `~/.config`), machine `/etc/post16/desktop.toml`
- Windows: user `%APPDATA%\\Post16\\desktop.toml`, machine `%PROGRAMDATA%\\Post16\\desktop.toml`
- macOS: user `~/Library/Application Support/Post16/desktop.toml`,
  machine `/Library/Application Support/Post16/desktop.toml`

`POST16_DESKTOP_CONFIG` and `POST16_DESKTOP_MACHINE_CONFIG` point at other files (tests, kiosks).
Installers write the machine-wide file with `write_machine_config` (`post16-desktop --configure-machine`).

Server addresses are https://. Plain http:// would send every password and bearer token readable to
anyone on the school Wi-Fi, so it is accepted only for this computer itself (localhost, 127.0.0.1,
::1: development and demos) or when IT allowed it in the machine-wide file
(`allow_insecure_http = true`, written by `--configure-machine --server URL --allow-insecure-http`),
and then only for that one address, with a warning on screen (`check_server_url`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import sys
import tomllib
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "ServerAddress",
    "Settings",
    "check_server_url",
    "default_data_dir",
    "load_settings",
    "machine_config_path",
    "save_user_settings",
    "user_config_path",
    "validate_server_url",
    "write_machine_config",
]

#: key -> (type, environment variable)
_FIELDS: dict[str, tuple[type, str]] = {
    "server_url": (str, "POST16_SERVER_URL"),
    "username": (str, "POST16_USERNAME"),
    "data_dir": (str, "POST16_DESKTOP_DATA_DIR"),
    "font_scale": (float, "POST16_FONT_SCALE"),
    "sync_interval_seconds": (float, "POST16_SYNC_INTERVAL"),
    "timeout_seconds": (float, "POST16_TIMEOUT"),
    "allow_insecure_http": (bool, ""),
}
#: Keys only the machine-wide file (written by IT, as administrator) may set.
_MACHINE_ONLY = {"allow_insecure_http"}


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    server_url: str | None = None
    username: str | None = None
    font_scale: float = 1.0
    sync_interval_seconds: float = 30.0
    timeout_seconds: float = 15.0
    user_config: Path | None = None
    #: The one plain-http server address IT allowed in the machine-wide file (None: https only).
    insecure_http_allowed_for: str | None = None
    #: Sources that were skipped, as sentences naming the file and key.
    problems: tuple[str, ...] = ()
    #: Where each value came from: "command line", a file path, "environment" or "default".
    origins: Mapping[str, str] = dataclasses.field(default_factory=dict)


def _platform(env: Mapping[str, str]) -> str:
    return env.get("POST16_PLATFORM_OVERRIDE", sys.platform)


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if "POST16_DESKTOP_CONFIG" in env:
        return Path(env["POST16_DESKTOP_CONFIG"])
    home = Path(env.get("HOME", str(Path.home())))
    platform = _platform(env)
    if platform.startswith("win"):
        return Path(env.get("APPDATA", str(home / "AppData" / "Roaming"))) / "Post16" / "desktop.toml"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Post16" / "desktop.toml"
    return Path(env.get("XDG_CONFIG_HOME", str(home / ".config"))) / "post16" / "desktop.toml"


def machine_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if "POST16_DESKTOP_MACHINE_CONFIG" in env:
        return Path(env["POST16_DESKTOP_MACHINE_CONFIG"])
    platform = _platform(env)
    if platform.startswith("win"):
        return Path(env.get("PROGRAMDATA", "C:\\ProgramData")) / "Post16" / "desktop.toml"
    if platform == "darwin":
        return Path("/Library/Application Support/Post16/desktop.toml")
    return Path("/etc/post16/desktop.toml")


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the per-user databases live (never shared between operating-system accounts)."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME", str(Path.home())))
    platform = _platform(env)
    if platform.startswith("win"):
        return Path(env.get("LOCALAPPDATA", str(home / "AppData" / "Local"))) / "Post16"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Post16"
    return Path(env.get("XDG_DATA_HOME", str(home / ".local" / "share"))) / "post16"


def _coerce(key: str, value: Any, where: str) -> tuple[Any, str | None]:
    wanted, _ = _FIELDS[key]
    if wanted is bool:
        if isinstance(value, bool):
            return value, None
        return None, f"{where}: {key} must be true or false, got {value!r}"
    if wanted is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), None
    if wanted is float and isinstance(value, str):
        try:
            return float(value), None
        except ValueError:
            return None, f"{where}: {key} must be a number, got {value!r}"
    if wanted is str and isinstance(value, str):
        return value.strip() or None, None
    return None, f"{where}: {key} must be a {'number' if wanted is float else 'string'}, got {value!r}"


def _read_file(path: Path, problems: list[str], *, machine: bool = False) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        problems.append(f"{path}: cannot be read ({error.strerror}); ignored")
        return {}
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        problems.append(f"{path}: not valid TOML ({error}); ignored")
        return {}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _FIELDS:
            problems.append(f"{path}: unknown setting {key!r}; ignored")
            continue
        if key in _MACHINE_ONLY and not machine:
            problems.append(f"{path}: {key} can only be set by IT in the machine-wide config; ignored")
            continue
        coerced, problem = _coerce(key, value, str(path))
        if problem:
            problems.append(problem + "; ignored")
        elif coerced is not None:
            values[key] = coerced
    return values


def load_settings(
    command_line: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Merge the four sources; `command_line` holds only the options the user actually gave."""
    env = os.environ if env is None else env
    problems: list[str] = []
    environment: dict[str, Any] = {}
    for key, (_, variable) in _FIELDS.items():
        if variable and env.get(variable):
            coerced, problem = _coerce(key, env[variable], f"environment {variable}")
            if problem:
                problems.append(problem + "; ignored")
            elif coerced is not None:
                environment[key] = coerced
    machine_path = machine_config_path(env)
    user_path = user_config_path(env)
    machine = _read_file(machine_path, problems, machine=True)
    allow_http = machine.pop("allow_insecure_http", False)
    machine_server = machine.get("server_url")
    insecure_http_allowed_for = (
        machine_server.rstrip("/") if allow_http and isinstance(machine_server, str) else None
    )
    layers: list[tuple[str, Mapping[str, Any]]] = [
        ("environment", environment),
        (str(machine_path), machine),
        (str(user_path), _read_file(user_path, problems)),
        (
            "command line",
            {k: v for k, v in (command_line or {}).items() if v is not None and k not in _MACHINE_ONLY},
        ),
    ]
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for origin, layer in layers:
        for key, value in layer.items():
            merged[key] = value
            origins[key] = origin
    server_url = merged.get("server_url")
    if isinstance(server_url, str):
        merged["server_url"] = server_url.rstrip("/")
    data_dir = Path(merged.pop("data_dir")) if "data_dir" in merged else default_data_dir(env)
    return Settings(
        data_dir=data_dir,
        user_config=user_path,
        insecure_http_allowed_for=insecure_http_allowed_for,
        problems=tuple(problems),
        origins=origins,
        **{k: v for k, v in merged.items() if k in _FIELDS and k not in _MACHINE_ONLY},
    )


def save_user_settings(path: Path, **values: str | float | None) -> None:
    """Remember values (server, username, font size) in the user's config file, keeping the others."""
    _update_file(path, "# Post16 Lessons desktop settings (written by the app; safe to edit)", values)


def validate_server_url(url: str) -> str:
    """The server address without a trailing slash, or ValueError saying what is wrong with it."""
    cleaned = url.strip().rstrip("/")
    parts = urllib.parse.urlsplit(cleaned)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"not a server address: {url!r} (expected e.g. https://lessons.school.example)")
    if any(character.isspace() or character in '"\\' for character in cleaned):
        raise ValueError(f"not a server address: {url!r} (it contains spaces or quotes)")
    return cleaned


@dataclasses.dataclass(frozen=True, slots=True)
class ServerAddress:
    url: str
    #: Set when the address is plain http:// that IT allowed: shown on screen while connected.
    warning: str | None = None


_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_server_url(url: str, insecure_http_allowed_for: str | None = None) -> ServerAddress:
    """The address to connect to, or ValueError with a message for the person typing it.

    https:// always; http:// only to this computer itself, or to the one address IT allowed in the
    machine-wide config (then with a warning to show)."""
    cleaned = validate_server_url(url)
    parts = urllib.parse.urlsplit(cleaned)
    if parts.scheme == "https" or _is_loopback(parts.hostname or ""):
        return ServerAddress(cleaned)
    allowed = insecure_http_allowed_for
    if allowed is not None and cleaned.lower() == allowed.rstrip("/").lower():
        return ServerAddress(
            cleaned,
            warning=(
                "Not encrypted: this school's server is reached over plain http://, so passwords and "
                "answers can be read on the network. IT allowed it for this computer."
            ),
        )
    raise ValueError(
        f"{cleaned} is not encrypted (http://). Use the https:// address of the school's server; "
        "plain http:// would send your password readable to anyone on the network. If the school "
        "really has no https, IT can allow this address for this computer with "
        "`post16-desktop --configure-machine --server URL --allow-insecure-http`."
    )


def write_machine_config(
    server_url: str, path: Path | None = None, *, allow_insecure_http: bool = False
) -> Path:
    """Set `server_url` in the machine-wide config (what installers do), keeping its other keys.

    A plain http:// address (other than this computer's own) is refused unless `allow_insecure_http`,
    which is then recorded in the file too. The file is world-readable (0644) so every user's app
    reads it; only an administrator can write it.
    """
    target = machine_config_path() if path is None else path
    header = (
        "# Post16 Lessons: machine-wide settings for every user of this computer, written by the\n"
        "# installer or `post16-desktop --configure-machine --server URL`. A user's own config and the\n"
        "# command line take precedence. Keys: see docs/installing.md."
    )
    cleaned = validate_server_url(server_url)
    check_server_url(cleaned, cleaned if allow_insecure_http else None)
    values: dict[str, str | float | bool | None] = {
        "server_url": cleaned,
        "allow_insecure_http": True if allow_insecure_http else None,
    }
    _update_file(target, header, values, mode=0o644, machine=True)
    return target


def _update_file(
    path: Path,
    header: str,
    values: Mapping[str, str | float | bool | None],
    mode: int | None = None,
    *,
    machine: bool = False,
) -> None:
    problems: list[str] = []
    current = _read_file(path, problems, machine=machine)
    for key, value in values.items():
        if key not in _FIELDS:
            raise KeyError(key)
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    lines = [header]
    for key in sorted(current):
        value = current[key]
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str):
            text = json.dumps(value)
        else:
            text = repr(float(value))
        lines.append(f"{key} = {text}")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if mode is not None:
        temporary.chmod(mode)
    temporary.replace(path)
