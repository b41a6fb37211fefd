"""After a real login (server process on PostgreSQL), every folder the desktop app keeps a user's data
in is 0700 and the user's database files 0600, even under a permissive umask and for an existing data
folder an older version left readable."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from desktop.core.credentials import TokenVault
from desktop.core.session import SessionManager, store_path
from desktop.core.settings import Settings

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(os.name == "nt", reason="POSIX modes; Windows relies on the profile ACL"),
]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_login_leaves_the_laptops_data_private_to_the_user(classroom, tmp_path):
    data = tmp_path / "laptop"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    previous = os.umask(0o022)
    try:
        settings = Settings(data_dir=data, user_config=data / "desktop.toml")
        manager = SessionManager(settings, vault=TokenVault(data / "credentials", use_keyring=False))
        session = manager.login(classroom.url, "pupil", "correct horse battery")
        session.store.outbox.save_answer("variables-and-types", "seconds-to-minutes", {"code": "print(1)"})
        database = store_path(data, classroom.url, "pupil")
        folders = [data, data / "users", database.parent]
        assert {str(f): mode(f) for f in folders} == {str(f): 0o700 for f in folders}
        files = [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
        assert len(files) >= 2
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        session.close()
    finally:
        os.umask(previous)
