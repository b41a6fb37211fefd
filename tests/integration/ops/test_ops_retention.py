"""Retention: prune deletes exactly what the policy says (older than N days, or beyond the newest M),
never the newest backup, never a folder it cannot read. Backups are real ones with faked timestamps."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ops_helpers import cli_env, run_cli

from server.ops import create_backup, prune_backups

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _backups(settings, directory: Path, ages_in_days: list[float]) -> dict[float, Path]:  # type: ignore[no-untyped-def]
    return {age: create_backup(settings, directory, now=NOW - timedelta(days=age)) for age in ages_in_days}


def _remaining(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir() if path.name.startswith("post16-")}


@pytest.mark.slow
def test_default_policy_keeps_the_newest_fourteen(settings, tmp_path):
    directory = tmp_path / "backups"
    made = _backups(settings, directory, [float(day) for day in range(16)])

    result = prune_backups(directory, now=NOW)

    assert sorted(result.deleted) == sorted([made[14.0], made[15.0]])
    assert _remaining(directory) == {made[day].name for day in map(float, range(14))}


def test_default_policy_deletes_backups_older_than_thirty_days(settings, tmp_path):
    directory = tmp_path / "backups"
    made = _backups(settings, directory, [0, 1, 29.9, 30.1, 45])

    result = prune_backups(directory, now=NOW)

    assert sorted(result.deleted) == sorted([made[30.1], made[45]])
    assert _remaining(directory) == {made[0].name, made[1].name, made[29.9].name}


def test_count_and_age_limits_apply_together(settings, tmp_path):
    directory = tmp_path / "backups"
    made = _backups(settings, directory, [0, 1, 2, 3, 10])

    result = prune_backups(directory, keep_days=7, keep_count=3, now=NOW)

    assert sorted(result.deleted) == sorted([made[3], made[10]])
    assert _remaining(directory) == {made[0].name, made[1].name, made[2].name}


def test_the_newest_backup_survives_even_when_every_backup_is_too_old(settings, tmp_path):
    directory = tmp_path / "backups"
    made = _backups(settings, directory, [60, 90])

    result = prune_backups(directory, now=NOW)

    assert result.deleted == [made[90]]
    assert _remaining(directory) == {made[60].name}


def test_unreadable_folders_are_left_alone_and_stale_partial_runs_removed(settings, tmp_path):
    directory = tmp_path / "backups"
    made = _backups(settings, directory, [0, 40])
    damaged = directory / "post16-20200101T000000Z"
    damaged.mkdir()
    (damaged / "metadata.json").write_text("{not json", encoding="utf-8")
    stale = directory / ".post16-20261101T000000Z.partial"
    stale.mkdir()
    old = (NOW - timedelta(days=2)).timestamp()
    os.utime(stale, (old, old))
    fresh = directory / ".post16-20261127T115900Z.partial"
    fresh.mkdir()
    now = time.time()
    os.utime(fresh, (now, now))

    result = prune_backups(directory, now=datetime.fromtimestamp(now, UTC))

    assert result.deleted == [made[40]]
    assert result.unreadable == [damaged]
    assert damaged.is_dir()
    assert not stale.exists()
    assert fresh.is_dir()


def test_prune_command_reports_what_it_deleted(settings, tmp_path):
    directory = tmp_path / "backups"
    now = datetime.now(UTC)
    kept = create_backup(settings, directory, now=now - timedelta(hours=1))
    old = create_backup(settings, directory, now=now - timedelta(days=3))

    result = run_cli(
        cli_env(settings), "prune-backups", "--dir", str(directory), "--keep-days", "2", "--keep-count", "5"
    )

    assert result.returncode == 0, result.stderr
    assert f"deleted {old}" in result.stdout
    assert "kept 1 backup(s), deleted 1" in result.stdout
    assert _remaining(directory) == {kept.name}
    assert "pruned" in (directory / "backup.log").read_text(encoding="utf-8")
