"""Desktop integration fixtures: a real server process on a fresh PostgreSQL database (the suite's
`pg_url` / `make_server` / `users` fixtures), demo accounts, and real widgets driven offscreen."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from desktop.core.credentials import TokenVault
from desktop.core.engine import Backoff
from desktop.core.session import SessionManager
from desktop.core.settings import Settings

PASSWORD = "correct horse battery"


@dataclasses.dataclass
class Classroom:
    server: object  # tests.conftest.ServerProcess
    pupil_id: int
    teacher_id: int
    class_id: int

    @property
    def url(self) -> str:
        return self.server.url  # type: ignore[attr-defined]

    def token(self, username: str) -> str:
        response = httpx.post(
            f"{self.url}/api/auth/login",
            json={"username": username, "password": PASSWORD, "client": "desktop"},
            headers={"X-Post16-Protocol": "1"},
        )
        response.raise_for_status()
        return str(response.json()["token"])

    def get(self, username: str, path: str) -> httpx.Response:
        return httpx.get(
            f"{self.url}{path}",
            headers={"Authorization": f"Bearer {self.token(username)}", "X-Post16-Protocol": "1"},
        )


@pytest.fixture
def server_overrides() -> dict[str, str]:
    """Extra POST16_* settings for the classroom's server; a test module overrides this fixture."""
    return {}


@pytest.fixture
def classroom(pg_url: str, make_server, users, server_overrides: dict[str, str]) -> Classroom:  # type: ignore[no-untyped-def]
    pupil_id = users.add("pupil", "pupil", PASSWORD)
    users.add("pupil2", "pupil", PASSWORD)
    teacher_id = users.add("teacher", "teacher", PASSWORD)
    class_id = users.enrol("12C", teacher_id, [pupil_id])
    server = make_server(pg_url, **server_overrides)
    return Classroom(server=server, pupil_id=pupil_id, teacher_id=teacher_id, class_id=class_id)


@pytest.fixture
def open_app(qtbot, tmp_path: Path, classroom: Classroom) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    """`open_app("pupil")` logs in like the login dialog would and shows the main window, syncing with a
    short back-off so a restarted server is noticed within a second or two."""
    from desktop.ui.main_window import MainWindow

    windows: list[MainWindow] = []

    def open_window(username: str, laptop: str = "laptop-a") -> MainWindow:
        data = tmp_path / laptop
        settings = Settings(data_dir=data, user_config=data / "desktop.toml", sync_interval_seconds=1.0)
        manager = SessionManager(settings, vault=TokenVault(data / "credentials", use_keyring=False))
        session = manager.login(classroom.url, username, PASSWORD)
        window = MainWindow(manager, session, settings, start_sync=False)
        window.sync.loop.backoff = Backoff(base=0.2, cap=1.0)
        qtbot.addWidget(window)
        window.resize(1200, 800)
        window.show()
        window.sync.start()
        windows.append(window)
        qtbot.waitUntil(lambda: window.lesson_model.rowCount() > 0, timeout=20_000)
        return window

    yield open_window
    for window in windows:
        window.shutdown()
    from desktop.ui.background import wait_for_background

    wait_for_background(10_000)
    for window in windows:
        window.session.close()
