"""The laptop's local database is private to the OS user: its folder 0700, the database and its WAL/SHM
files 0600, whatever the umask, and an older install's readable files are tightened when opened
(real SQLite on the real file system; POSIX modes, so not on Windows, where the profile's ACL does it)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.store import Store

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX modes; Windows relies on the profile ACL")

LESSON = "variables"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def database_files(path: Path) -> list[Path]:
    return [p for p in path.parent.iterdir() if p.name.startswith(path.name)]


def test_new_database_and_its_folder_are_private(tmp_path: Path, permissive_umask: None) -> None:
    path = tmp_path / "data" / "users" / "server" / "pupil.sqlite3"
    store = Store.open(path)
    try:
        store.outbox.save_answer(LESSON, "code-1", {"code": "print(1)"})
        files = database_files(path)
        assert {p.name for p in files} >= {"pupil.sqlite3", "pupil.sqlite3-wal", "pupil.sqlite3-shm"}
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        assert mode(path.parent) == 0o700
    finally:
        store.close()


def test_older_install_with_readable_files_is_tightened_on_open(
    tmp_path: Path, permissive_umask: None
) -> None:
    path = tmp_path / "users" / "server" / "pupil.sqlite3"
    store = Store.open(path)
    store.outbox.save_answer(LESSON, "code-1", {"code": "print(1)"})
    store.close()
    path.parent.chmod(0o755)
    for file in database_files(path):
        file.chmod(0o644)

    store = Store.open(path)
    try:
        assert store.outbox.answer(LESSON, "code-1") is not None
        assert mode(path.parent) == 0o700
        assert {mode(p) for p in database_files(path)} == {0o600}
    finally:
        store.close()
