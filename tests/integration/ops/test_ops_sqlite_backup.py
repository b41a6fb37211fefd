"""The embedded default (SQLite) backs up with the online backup API and restores like PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from ops_helpers import cli_env, flip_byte, run_cli

from server.config import load_settings
from server.db import migrate
from server.ops import BackupInvalid, create_backup, restore_backup, verify_backup

LESSONS_DIR = Path(__file__).resolve().parents[3] / "lessons"


@pytest.fixture
def sqlite_settings(tmp_path):  # type: ignore[no-untyped-def]
    settings = load_settings(
        {
            "POST16_DATA_DIR": str(tmp_path / "data"),
            "POST16_LESSONS_DIR": str(LESSONS_DIR),
            "POST16_LOG_JSON": "false",
        }
    )
    assert settings.is_sqlite
    migrate.upgrade(settings)
    database = tmp_path / "data" / "post16.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO users (username, display_name, role, password_hash, disabled, created_at, "
            "password_changed_at) VALUES ('ada', 'Ada', 'admin', 'x', 0, '2026-11-27', '2026-11-27')"
        )
    return settings


def _users(settings) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with sqlite3.connect(settings.data_dir / "post16.sqlite3") as connection:
        return connection.execute("SELECT username, display_name FROM users ORDER BY id").fetchall()


def test_sqlite_backup_restores_the_rows_it_held(sqlite_settings, tmp_path):
    backup = create_backup(sqlite_settings, tmp_path / "backups")
    assert (backup / "database.sqlite3").is_file()
    with sqlite3.connect(sqlite_settings.data_dir / "post16.sqlite3") as connection:
        connection.execute("UPDATE users SET display_name = 'Changed'")
        connection.execute(
            "INSERT INTO users (username, display_name, role, password_hash, disabled, created_at, "
            "password_changed_at) VALUES ('eve', 'Eve', 'pupil', 'x', 0, '2026-11-27', '2026-11-27')"
        )

    restore_backup(sqlite_settings, backup)

    assert _users(sqlite_settings) == [("ada", "Ada")]


def test_sqlite_backup_verifies_and_detects_corruption(sqlite_settings, tmp_path):
    backup = create_backup(sqlite_settings, tmp_path / "backups")
    assert verify_backup(sqlite_settings, backup).rows >= 2

    flip_byte(backup / "database.sqlite3", offset_from_end=3000)

    with pytest.raises(BackupInvalid, match=r"database\.sqlite3 is corrupted"):
        verify_backup(sqlite_settings, backup)


def test_sqlite_backup_does_not_copy_the_live_database_into_the_data_archive(sqlite_settings, tmp_path):
    import tarfile

    backup = create_backup(sqlite_settings, tmp_path / "backups")
    with tarfile.open(backup / "data.tar.gz") as tar:
        names = tar.getnames()
    assert not [name for name in names if name.startswith("post16.sqlite3")]
    assert "backup-status.json" not in names
    assert not [name for name in names if name.startswith("backups")]


def test_sqlite_backup_through_the_command_line(sqlite_settings, tmp_path):
    env = cli_env(sqlite_settings)
    env["POST16_DATABASE_URL"] = ""  # the embedded default: a file in the data folder
    result = run_cli(env, "backup")
    assert result.returncode == 0, result.stderr
    backup = Path(result.stdout.strip())
    assert backup.parent == (sqlite_settings.data_dir / "backups").resolve()
