"""Login, resume, per-user isolation of the queue, settings precedence, token storage."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from desktop_fakes import PASSWORD, FakeServer

from desktop.core.credentials import TokenVault
from desktop.core.errors import SessionExpiredError
from desktop.core.session import SessionManager
from desktop.core.settings import Settings, load_settings

URL = "https://fake.test"


def _manager(settings: Settings, server: FakeServer, vault: TokenVault) -> SessionManager:
    return SessionManager(settings, transport=server.transport(), vault=vault)


def test_second_pupil_on_the_same_laptop_never_sees_or_sends_the_first_ones_queue(
    settings: Settings, server: FakeServer, vault: TokenVault
) -> None:
    manager = _manager(settings, server, vault)
    first = manager.login(URL, "pupil", PASSWORD)
    first.store.outbox.save_answer("variables", "text-1", {"text": "pupil one's answer"})
    server.offline = True
    manager.logout(first)
    server.offline = False

    second = manager.login(URL, "pupil2", PASSWORD)
    assert second.store.outbox.pending_count() == 0
    assert second.store.outbox.answer("variables", "text-1") is None
    second.engine.sync_once()
    assert server.all_revisions(3) == []  # nothing of pupil one was sent under pupil two
    assert server.all_revisions(4) == []
    second.close()

    again = manager.login(URL, "pupil", PASSWORD)
    assert again.store.outbox.pending_count() == 1
    again.engine.sync_once()
    assert server.current(3, "variables", "text-1")["state"] == {"text": "pupil one's answer"}
    again.close()


def test_expired_session_keeps_the_queue_until_the_same_user_logs_in(
    settings: Settings, server: FakeServer, vault: TokenVault
) -> None:
    manager = _manager(settings, server, vault)
    session = manager.login(URL, "pupil", PASSWORD)
    session.store.outbox.save_answer("variables", "text-1", {"text": "offline work"})
    server.sessions.clear()
    with pytest.raises(SessionExpiredError):
        session.engine.sync_once()
    session.close()
    assert manager.resume(URL, "pupil") is None  # must log in again
    session = manager.login(URL, "pupil", PASSWORD)
    assert session.store.outbox.pending_count() == 1
    session.engine.sync_once()
    assert session.store.outbox.pending_count() == 0
    session.close()


def test_resume_works_offline_from_the_stored_token(
    settings: Settings, server: FakeServer, vault: TokenVault
) -> None:
    manager = _manager(settings, server, vault)
    manager.login(URL, "pupil", PASSWORD).close()
    server.offline = True
    session = manager.resume(URL, "pupil")
    assert session is not None
    assert not session.verified
    assert session.user.id == 3
    session.close()


def test_login_remembers_server_and_username(
    settings: Settings, server: FakeServer, vault: TokenVault
) -> None:
    _manager(settings, server, vault).login(URL, "pupil", PASSWORD).close()
    assert settings.user_config is not None
    reloaded = load_settings(env={"POST16_DESKTOP_CONFIG": str(settings.user_config), "HOME": "/nonexistent"})
    assert (reloaded.server_url, reloaded.username) == (URL, "pupil")


def test_token_file_is_readable_only_by_its_owner(tmp_path: Path) -> None:
    vault = TokenVault(tmp_path / "credentials", use_keyring=False)
    vault.set(URL, "pupil", "secret-token")
    [path] = (tmp_path / "credentials").iterdir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert vault.get(URL, "PUPIL") == "secret-token"
    vault.delete(URL, "pupil")
    assert vault.get(URL, "pupil") is None


def test_settings_precedence_command_line_user_machine_environment(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    machine = tmp_path / "machine.toml"
    machine.write_text(
        'server_url = "https://machine.example"\nusername = "from-machine"\nfont_scale = 1.5\n'
    )
    user.write_text('username = "from-user"\n')
    env = {
        "POST16_DESKTOP_CONFIG": str(user),
        "POST16_DESKTOP_MACHINE_CONFIG": str(machine),
        "POST16_SERVER_URL": "https://env.example",
        "POST16_SYNC_INTERVAL": "5",
        "HOME": str(tmp_path),
    }
    settings = load_settings({"font_scale": 2.0}, env=env)
    assert settings.server_url == "https://machine.example"
    assert settings.username == "from-user"
    assert settings.font_scale == 2.0
    assert settings.sync_interval_seconds == 5.0
    assert settings.origins["username"] == str(user)


def test_broken_config_file_is_reported_and_skipped(tmp_path: Path) -> None:
    machine = tmp_path / "machine.toml"
    machine.write_text("server_url = \nfont_scale = 'big'\n")
    user = tmp_path / "user.toml"
    user.write_text("font_scale = 'big'\ncolour = 1\n")
    env = {
        "POST16_DESKTOP_CONFIG": str(user),
        "POST16_DESKTOP_MACHINE_CONFIG": str(machine),
        "HOME": str(tmp_path),
    }
    settings = load_settings(env=env)
    assert settings.font_scale == 1.0
    joined = "\n".join(settings.problems)
    assert str(machine) in joined
    assert "not valid TOML" in joined
    assert "font_scale must be a number" in joined
    assert "unknown setting 'colour'" in joined


def test_default_paths_per_platform(tmp_path: Path) -> None:
    from desktop.core.settings import machine_config_path, user_config_path

    windows = {
        "POST16_PLATFORM_OVERRIDE": "win32",
        "APPDATA": "C:\\Users\\p\\AppData\\Roaming",
        "PROGRAMDATA": "C:\\ProgramData",
    }
    assert str(machine_config_path(windows)).endswith("desktop.toml")
    assert "Post16" in str(user_config_path(windows))
    assert machine_config_path({"POST16_PLATFORM_OVERRIDE": "linux"}) == Path("/etc/post16/desktop.toml")
    mac = machine_config_path({"POST16_PLATFORM_OVERRIDE": "darwin"})
    assert mac == Path("/Library/Application Support/Post16/desktop.toml")
