"""The desktop app keeps the device token the server hands it at login (in the credentials vault, beside
the session token) and sends it on later logins, so another person's wrong guesses from the same address
never lock the pupil or teacher out of their own laptop (real server process on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from desktop.core.credentials import TokenVault
from desktop.core.errors import RateLimitedError
from desktop.core.session import SessionManager
from desktop.core.settings import Settings

pytestmark = [pytest.mark.postgres]

PASSWORD = "correct horse battery"


def manager_for(tmp_path: Path) -> SessionManager:
    data = tmp_path / "laptop"
    settings = Settings(data_dir=data, user_config=data / "desktop.toml")
    return SessionManager(settings, vault=TokenVault(data / "credentials", use_keyring=False))


def wrong_guesses(url: str, username: str, times: int) -> list[int]:
    return [
        httpx.post(f"{url}/api/auth/login", json={"username": username, "password": "guess"}).status_code
        for _ in range(times)
    ]


def test_laptop_that_logged_in_before_is_not_locked_out_by_someone_elses_guesses(classroom, tmp_path):
    manager = manager_for(tmp_path)
    first = manager.login(classroom.url, "teacher", PASSWORD)
    manager.logout(first)
    first.close()

    assert wrong_guesses(classroom.url, "teacher", 6) == [401] * 5 + [429]  # this address is locked

    again = manager.login(classroom.url, "teacher", PASSWORD)
    assert again.user.username == "teacher"
    again.close()


def test_a_new_laptop_at_a_locked_address_has_to_wait(classroom, tmp_path):
    assert wrong_guesses(classroom.url, "teacher", 5) == [401] * 5
    with pytest.raises(RateLimitedError):
        manager_for(tmp_path).login(classroom.url, "teacher", PASSWORD)
