"""Fixtures for desktop.core unit tests: a fake server (see desktop_fakes), stores, clients, engines."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from desktop_fakes import PASSWORD, FakeServer, build_lesson
from desktop_windows import Laptop

from desktop.core.client import ApiClient
from desktop.core.credentials import TokenVault
from desktop.core.engine import SyncEngine
from desktop.core.settings import Settings
from desktop.core.store import Store
from shared.lessons.model import Lesson


@pytest.fixture(name="make_lesson")
def make_lesson_fixture() -> Callable[..., Lesson]:
    return build_lesson


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "pupil.sqlite3")
    opened.set_meta("user_id", "3")
    yield opened
    opened.close()


@pytest.fixture
def client(server: FakeServer) -> Iterator[ApiClient]:
    api = ApiClient("http://fake.test", transport=server.transport())
    api.login("pupil", PASSWORD)
    yield api
    api.close()


@pytest.fixture
def engine(store: Store, client: ApiClient) -> SyncEngine:
    return SyncEngine(store, client)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", user_config=tmp_path / "config" / "desktop.toml")


@pytest.fixture
def vault(tmp_path: Path) -> TokenVault:
    return TokenVault(tmp_path / "data" / "credentials", use_keyring=False)


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[Callable[[str], Store]]:
    opened: list[Store] = []

    def factory(name: str) -> Store:
        store = Store.open(tmp_path / f"{name}.sqlite3")
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def laptop(tmp_path: Path) -> Laptop:
    return Laptop(tmp_path / "laptop")


@pytest.fixture
def make_window(qtbot, laptop: Laptop) -> Iterator[Callable[..., Any]]:  # type: ignore[no-untyped-def]
    """`make_window("pupil", size=(1024, 600))`: the real main window over a real store, offline (see
    desktop_windows). The sync thread is not started; windows are shut down and their stores closed."""
    from desktop.ui.background import wait_for_background
    from desktop.ui.main_window import MainWindow
    from desktop.ui.qt import QApplication

    windows: list[Any] = []
    app_font = QApplication.font()

    def factory(
        username: str = "pupil", size: tuple[int, int] | None = (1366, 768), lessons: Any = None
    ) -> Any:
        session = laptop.session(username, lessons)
        window = MainWindow(laptop.manager(), session, laptop.settings, start_sync=False)
        qtbot.addWidget(window)
        if size is not None:
            window.resize(*size)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield factory
    for window in windows:
        window.shutdown()
    wait_for_background(10_000)
    for window in windows:
        window.session.close()
    QApplication.setFont(app_font)  # a test that scaled the text leaves the next one at normal size
