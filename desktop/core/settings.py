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
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tomllib
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "Settings",
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
}


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    server_url: str | None = None
    username: str | None = None
    font_scale: float = 1.0
    sync_interval_seconds: float = 30.0
    timeout_seconds: float = 15.0
    user_config: Path | None = None
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


def _read_file(path: Path, problems: list[str]) -> dict[str, Any]:
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
        if env.get(variable):
            coerced, problem = _coerce(key, env[variable], f"environment {variable}")
            if problem:
                problems.append(problem + "; ignored")
            elif coerced is not None:
                environment[key] = coerced
    machine_path = machine_config_path(env)
    user_path = user_config_path(env)
    layers: list[tuple[str, Mapping[str, Any]]] = [
        ("environment", environment),
        (str(machine_path), _read_file(machine_path, problems)),
        (str(user_path), _read_file(user_path, problems)),
        ("command line", {k: v for k, v in (command_line or {}).items() if v is not None}),
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
        problems=tuple(problems),
        origins=origins,
        **{k: v for k, v in merged.items() if k in _FIELDS},
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


def write_machine_config(server_url: str, path: Path | None = None) -> Path:
    """Set `server_url` in the machine-wide config (what installers do), keeping its other keys.

    The file is world-readable (0644) so every user's app reads it; only an administrator can write it.
    """
    target = machine_config_path() if path is None else path
    header = (
        "# Post16 Lessons: machine-wide settings for every user of this computer, written by the\n"
        "# installer or `post16-desktop --configure-machine --server URL`. A user's own config and the\n"
        "# command line take precedence. Keys: see docs/installing.md."
    )
    _update_file(target, header, {"server_url": validate_server_url(server_url)}, mode=0o644)
    return target


def _update_file(
    path: Path, header: str, values: Mapping[str, str | float | None], mode: int | None = None
) -> None:
    problems: list[str] = []
    current = _read_file(path, problems)
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
        lines.append(f"{key} = {json.dumps(value) if isinstance(value, str) else repr(float(value))}")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if mode is not None:
        temporary.chmod(mode)
    temporary.replace(path)
