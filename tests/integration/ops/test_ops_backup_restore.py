"""Backups against the real PostgreSQL server: a restore brings back every row as it was, verification
catches damage, and restore refuses to run without --force or from a backup that fails verification."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ops_helpers import all_rows, cli_env, execute, flip_byte, run_cli, scalar

from server.ops import BackupInvalid, create_backup, read_metadata, restore_backup, verify_backup

pytestmark = pytest.mark.postgres

PASSWORD = "correct horse battery"  # tests/conftest.py UserFactory.PASSWORD
LESSON = "variables-and-types"
CODE = "seconds-to-minutes"
STATE = f"/api/activity/state/{LESSON}/{CODE}"


def _bearer(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/auth/login", json={"username": username, "password": PASSWORD, "client": "desktop"}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def school(client, users, settings):  # type: ignore[no-untyped-def]
    """A class with a teacher and two pupils who have logged in and saved answers through the API,
    plus a file in the data folder."""
    alice = users.add("alice", "pupil")
    bob = users.add("bob", "pupil")
    teacher = users.add("turing", "teacher")
    users.enrol("12C", teacher, [alice, bob])
    for name, code in (("alice", "print(60 // 60)"), ("bob", "print('bob')")):
        headers = _bearer(client, name)
        for attempt in range(2):
            saved = client.post(STATE, headers=headers, json={"state": {"code": f"{code}  # {attempt}"}})
            assert saved.status_code == 200, saved.text
    uploads = settings.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / "class-list.csv").write_text("alice,bob\n", encoding="utf-8")
    return {"alice": alice, "bob": bob}


def test_restore_brings_back_every_row_and_file_as_it_was(client, school, settings, pg_url, tmp_path):
    before = all_rows(pg_url)
    assert before["activity_states"]
    assert before["activity_revisions"]
    assert before["audit_log"]
    backup = create_backup(settings, tmp_path / "backups")

    execute(
        pg_url,
        "UPDATE users SET display_name = 'Changed', disabled = true",
        "DELETE FROM activity_revisions",
        "DELETE FROM activity_states",
        "DELETE FROM enrolments",
        "DELETE FROM school_classes",
        "INSERT INTO audit_log (at, action, details) VALUES (now(), 'user.created', '{}')",
    )
    (settings.data_dir / "uploads" / "class-list.csv").write_text("tampered\n", encoding="utf-8")
    (settings.data_dir / "stray.txt").write_text("written after the backup\n", encoding="utf-8")

    restore_backup(settings, backup)

    after = all_rows(pg_url)
    restored_audit = [row for row in after["audit_log"] if "backup.restored" in row]
    assert len(restored_audit) == 1
    after["audit_log"] = [row for row in after["audit_log"] if "backup.restored" not in row]
    # Sessions come back as rows, but revoked (test_restore_revokes_every_session_...).
    assert len(after.pop("user_sessions")) == len(before.pop("user_sessions"))
    assert after == before
    assert (settings.data_dir / "uploads" / "class-list.csv").read_text(encoding="utf-8") == "alice,bob\n"
    assert not (settings.data_dir / "stray.txt").exists()

    # What a pupil notices: she logs in with her password and finds her last answer.
    answer = client.get(STATE, headers=_bearer(client, "alice"))
    assert answer.status_code == 200, answer.text
    assert "print(60 // 60)  # 1" in answer.text


def test_restore_revokes_every_session_even_one_revoked_after_the_backup(
    client, school, settings, pg_url, tmp_path
):
    kept = _bearer(client, "alice")
    ended_later = _bearer(client, "bob")
    live = scalar(pg_url, "SELECT count(*) FROM user_sessions WHERE revoked_at IS NULL")
    backup = create_backup(settings, tmp_path / "backups")
    assert client.post("/api/auth/logout", headers=ended_later).status_code == 204

    result = restore_backup(settings, backup)

    assert result["sessions_revoked"] == live
    assert scalar(pg_url, "SELECT count(*) FROM user_sessions WHERE revoked_at IS NULL") == 0
    assert scalar(pg_url, "SELECT count(*) FROM user_sessions WHERE revoked_reason = 'restored'") == live
    details = scalar(pg_url, "SELECT details FROM audit_log WHERE action = 'backup.restored'")
    assert details["sessions_revoked"] == live
    from litestar.testing import TestClient

    from server.app import create_app

    with TestClient(app=create_app(settings), base_url="http://testserver.local") as fresh:
        assert fresh.get("/api/auth/me", headers=ended_later).status_code == 401
        assert fresh.get("/api/auth/me", headers=kept).status_code == 401
        assert fresh.get("/api/auth/me", headers=_bearer(fresh, "alice")).status_code == 200


def test_metadata_describes_what_was_backed_up(school, settings, pg_url, tmp_path):
    backup = create_backup(settings, tmp_path / "backups")
    document = read_metadata(backup)
    assert document["schema_revision"] == scalar(pg_url, "SELECT version_num FROM alembic_version")
    assert document["tables"]["users"]["rows"] == 3
    assert document["tables"]["activity_revisions"]["rows"] == 4
    assert document["database"]["backend"] == "postgresql"
    assert len(document["database"]["sha256"]) == len(document["data"]["sha256"]) == 64
    assert (
        document["size_bytes"]
        == sum(path.stat().st_size for path in backup.iterdir()) - (backup / "metadata.json").stat().st_size
    )
    assert "created" in (tmp_path / "backups" / "backup.log").read_text(encoding="utf-8")
    assert scalar(pg_url, "SELECT count(*) FROM audit_log WHERE action = 'backup.created'") == 1


def test_verify_passes_on_an_intact_backup_and_leaves_no_scratch_database(school, settings, pg_url, tmp_path):
    backup = create_backup(settings, tmp_path / "backups")
    report = verify_backup(settings, backup)
    assert report.tables >= 13
    assert report.rows > 0
    leftovers = scalar(pg_url, "SELECT count(*) FROM pg_database WHERE datname LIKE 'post16_verify_%'")
    assert leftovers == 0


def test_verify_detects_a_corrupted_dump(settings, pg_url, tmp_path):
    backup = create_backup(settings, tmp_path / "backups")
    flip_byte(backup / "database.dump")

    result = run_cli(cli_env(settings), "verify-backup", str(backup))

    assert result.returncode == 1
    assert "FAILED verification" in result.stderr
    assert "database.dump is corrupted" in result.stderr


def test_verify_detects_a_corrupted_data_archive(settings, pg_url, tmp_path):
    (settings.data_dir / "notes").mkdir(parents=True)
    (settings.data_dir / "notes" / "a.txt").write_text("x" * 5000, encoding="utf-8")
    backup = create_backup(settings, tmp_path / "backups")
    flip_byte(backup / "data.tar.gz", offset_from_end=20)

    with pytest.raises(BackupInvalid, match=r"data\.tar\.gz is corrupted"):
        verify_backup(settings, backup)


def test_verify_detects_a_dump_that_does_not_hold_the_rows_its_metadata_lists(school, settings, tmp_path):
    backup = create_backup(settings, tmp_path / "backups")
    metadata_path = backup / "metadata.json"
    document = json.loads(metadata_path.read_text(encoding="utf-8"))
    document["tables"]["activity_states"]["checksum"] = "0" * 32
    metadata_path.write_text(json.dumps(document), encoding="utf-8")

    with pytest.raises(BackupInvalid, match=r"activity_states.*checksum mismatch"):
        verify_backup(settings, backup)


def test_restore_without_force_refuses_and_changes_nothing(school, settings, pg_url, tmp_path):
    backup = create_backup(settings, tmp_path / "backups")
    execute(pg_url, "DELETE FROM enrolments")

    result = run_cli(cli_env(settings), "restore", str(backup))

    assert result.returncode == 2
    assert "--force" in result.stderr
    assert scalar(pg_url, "SELECT count(*) FROM enrolments") == 0


def test_restore_refuses_a_corrupted_backup_and_changes_nothing(school, settings, pg_url, tmp_path):
    backup = create_backup(settings, tmp_path / "backups")
    execute(pg_url, "DELETE FROM enrolments")
    flip_byte(backup / "database.dump")

    result = run_cli(cli_env(settings), "restore", str(backup), "--force")

    assert result.returncode == 1
    assert "refusing to restore" in result.stderr
    assert "database.dump is corrupted" in result.stderr
    assert scalar(pg_url, "SELECT count(*) FROM enrolments") == 0


@pytest.mark.slow
def test_backup_command_prints_the_new_backups_path_and_restore_force_works(
    school, settings, pg_url, tmp_path
):
    env = cli_env(settings)
    made = run_cli(env, "backup", "--dir", str(tmp_path / "cli-backups"))
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip())
    assert backup.parent == (tmp_path / "cli-backups").resolve()
    assert (backup / "metadata.json").is_file()

    verified = run_cli(env, "verify-backup", str(backup))
    assert verified.returncode == 0, verified.stderr
    assert "backup OK" in verified.stdout

    execute(pg_url, "DELETE FROM enrolments")
    restored = run_cli(env, "restore", str(backup), "--force")
    assert restored.returncode == 0, restored.stderr
    assert scalar(pg_url, "SELECT count(*) FROM enrolments") == 2
    assert "every session was revoked (2 live in the backup)" in restored.stdout


def test_a_failed_backup_is_logged_recorded_for_metrics_and_leaves_no_partial_folder(
    make_settings, pg_url, tmp_path
):
    missing = pg_url.rpartition("/")[0] + "/post16_no_such_database"
    settings = make_settings(POST16_DATABASE_URL=missing)
    directory = tmp_path / "backups"

    result = run_cli(cli_env(settings), "backup", "--dir", str(directory))

    assert result.returncode == 1
    assert "backup failed" in result.stderr
    assert "post16_no_such_database" in result.stderr
    assert sorted(path.name for path in directory.iterdir()) == [".lock", "backup.log"]
    assert "FAILED" in (directory / "backup.log").read_text(encoding="utf-8")
    status = json.loads((settings.data_dir / "backup-status.json").read_text(encoding="utf-8"))
    assert "post16_no_such_database" in status["last_failure"]["error"]
    assert "last_success" not in status
