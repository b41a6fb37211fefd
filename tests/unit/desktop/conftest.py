"""Fixtures for desktop.core unit tests: a fake server (see desktop_fakes), stores, clients, engines."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from desktop_fakes import PASSWORD, FakeServer, build_lesson

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
