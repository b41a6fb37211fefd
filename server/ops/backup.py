"""Backups you can trust: create, verify (by restoring into a scratch database), restore and prune.

A backup is one folder, `post16-<UTC time>/`, holding

    database.dump      pg_dump --format=custom of the public schema (PostgreSQL), or
    database.sqlite3   a copy made with SQLite's online backup API (the embedded default)
    data.tar.gz        the data folder (without the SQLite files, the backups and the status file)
    metadata.json      times, sizes, sha256 of each part, schema (Alembic) revision, app version, and
                       per-table row counts and checksums taken in the same snapshot as the dump

It is written under a hidden `.partial` name and renamed only when complete, so a crashed run never
looks like a backup. Every run appends a line to `backup.log` beside the backups.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import secrets
import shutil
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from server.config import Settings
from server.ops import _postgres, _sqlite, status
from server.ops._errors import BackupError, BackupInvalid

FORMAT_VERSION = 1
METADATA_FILE = "metadata.json"
DATA_ARCHIVE = "data.tar.gz"
LOG_FILE = "backup.log"
NAME_PREFIX = "post16-"
PARTIAL_SUFFIX = ".partial"
DEFAULT_KEEP_DAYS = 30
DEFAULT_KEEP_COUNT = 14
# A backup still `.partial` after this long belongs to a run that died; prune removes it.
STALE_PARTIAL = timedelta(hours=24)


@dataclass(frozen=True)
class BackupEntry:
    path: Path
    created_at: datetime


@dataclass
class PruneResult:
    deleted: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class VerifyReport:
    path: Path
    tables: int
    rows: int
    schema_revision: str | None


def default_backup_dir(settings: Settings) -> Path:
    """POST16_BACKUP_DIR, else `backups/` in the data folder (set it to another disk in production)."""
    configured = os.environ.get("POST16_BACKUP_DIR")
    return Path(configured) if configured else settings.data_dir / "backups"


def app_version() -> str:
    try:
        return package_metadata.version("post16-lessons")
    except package_metadata.PackageNotFoundError:
        return "unknown"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise ValueError("not a time")
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("time without a zone")
    return parsed.astimezone(UTC)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _log(directory: Path, message: str) -> None:
    with contextlib.suppress(OSError), (directory / LOG_FILE).open("a", encoding="utf-8") as log:
        log.write(f"{_iso(datetime.now(UTC))} {message}\n")


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One backup or prune at a time per backup folder (a slow run and the next timer tick)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise BackupError(f"another backup or prune is running in {directory}") from error
        yield


def _excluded_names(settings: Settings, backup_dir: Path | None) -> set[str]:
    """Top-level entries of the data folder that are not copied into (nor replaced from) data.tar.gz."""
    names = {status.STATUS_FILE, status.STATUS_FILE.replace(".json", ".tmp")}
    if settings.is_sqlite:
        database = _sqlite.database_path(settings.database_url)
        names |= {database.name + suffix for suffix in ("", "-wal", "-shm", "-journal")}
    data_dir = settings.data_dir.resolve()
    for folder in filter(None, (backup_dir, default_backup_dir(settings))):
        with contextlib.suppress(ValueError):
            relative = folder.resolve().relative_to(data_dir)
            if relative.parts:
                names.add(relative.parts[0])
    return names


def _archive_data(settings: Settings, backup_dir: Path, archive: Path) -> int:
    excluded = _excluded_names(settings, backup_dir)
    files = 0
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        if settings.data_dir.is_dir():
            for entry in sorted(settings.data_dir.iterdir()):
                if entry.name in excluded or entry.name.startswith(".restore-"):
                    continue
                tar.add(entry, arcname=entry.name)
                files += 1
    return files


def _audit(settings: Settings, action: str, target: str, details: dict[str, Any]) -> None:
    """Write the audit row through the same path the API uses (async session, scrubbed details)."""
    from server.db.engine import make_async_engine, make_sessionmaker
    from server.lib.audit import record

    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = str(os.getuid())

    async def write() -> None:
        engine = make_async_engine(settings)
        try:
            async with make_sessionmaker(engine)() as session:
                await record(session, action, actor=f"cli:{os_user}"[:64], target=target, details=details)
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(write())


def _revoke_every_session(settings: Settings) -> int:
    """After a restore, no session may outlive it: one revoked (logout, password change, an admin)
    after the backup was made is live again in the restored rows, so every session is revoked and
    everyone logs in again. Returns how many were live."""
    from sqlalchemy import update

    from server.db.base import utcnow
    from server.db.engine import make_async_engine, make_sessionmaker
    from server.db.models import UserSession

    async def revoke() -> int:
        engine = make_async_engine(settings)
        try:
            async with make_sessionmaker(engine)() as session:
                result = await session.execute(
                    update(UserSession)
                    .where(UserSession.revoked_at.is_(None))
                    .values(revoked_at=utcnow(), revoked_reason="restored")
                )
                await session.commit()
                return int(result.rowcount or 0)  # type: ignore[attr-defined]
        finally:
            await engine.dispose()

    return asyncio.run(revoke())


def _unique_folder(directory: Path, moment: datetime) -> str:
    base = NAME_PREFIX + moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    name, counter = base, 1
    while (directory / name).exists() or (directory / (name + PARTIAL_SUFFIX)).exists():
        counter += 1
        name = f"{base}-{counter}"
    return name


def create_backup(settings: Settings, directory: Path | None = None, *, now: datetime | None = None) -> Path:
    """Back up the database and the data folder; returns the new backup's folder.
    `now` stamps the backup (tests fake it to exercise retention)."""
    directory = (directory or default_backup_dir(settings)).resolve()
    started = time.monotonic()
    created_at = (now or datetime.now(UTC)).astimezone(UTC)
    try:
        with _locked(directory):
            name = _unique_folder(directory, created_at)
            partial = directory / ("." + name + PARTIAL_SUFFIX)
            partial.mkdir(mode=0o700)
            try:
                final = _write_backup(settings, directory, partial, name, created_at, started)
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
    except Exception as error:
        message = f"{type(error).__name__}: {error}" if not isinstance(error, BackupError) else str(error)
        _log(directory, f"FAILED backup: {message}")
        status.record_failure(settings.data_dir, finished_at=time.time(), error=message)
        with contextlib.suppress(Exception):
            _audit(settings, "backup.failed", str(directory), {"error": message[:300]})
        raise
    return final


def _write_backup(
    settings: Settings, directory: Path, partial: Path, name: str, created_at: datetime, started: float
) -> Path:
    if settings.is_sqlite:
        database_file = "database.sqlite3"
        database = _sqlite.dump(settings.database_url, partial / database_file)
        backend = "sqlite"
    else:
        database_file = "database.dump"
        database = _postgres.dump(
            _postgres.Connection.from_url(settings.database_url), partial / database_file
        )
        backend = "postgresql"
    data_files = _archive_data(settings, directory, partial / DATA_ARCHIVE)
    parts: dict[str, dict[str, Any]] = {}
    size = 0
    for role, filename in (("database", database_file), ("data", DATA_ARCHIVE)):
        part = partial / filename
        part_size = part.stat().st_size
        size += part_size
        parts[role] = {"file": filename, "size_bytes": part_size, "sha256": _sha256(part)}
    parts["data"]["entries"] = data_files
    duration = time.monotonic() - started
    document = {
        "format": FORMAT_VERSION,
        "name": name,
        "created_at": _iso(created_at),
        "duration_seconds": round(duration, 3),
        "size_bytes": size,
        "app_version": app_version(),
        "schema_revision": database["schema_revision"],
        "database": {"backend": backend, "server_version": database["server_version"], **parts["database"]},
        "data": parts["data"],
        "tables": database["tables"],
    }
    (partial / METADATA_FILE).write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
    for child in partial.iterdir():
        child.chmod(0o600)
    final = directory / name
    os.replace(partial, final)
    rows = sum(table["rows"] for table in database["tables"].values())
    _log(
        directory,
        f"created {name}: {size} bytes, {len(database['tables'])} tables, {rows} rows, {duration:.2f} s",
    )
    status.record_success(
        settings.data_dir,
        finished_at=time.time(),
        duration_seconds=duration,
        size_bytes=size,
        path=str(final),
    )
    _audit(settings, "backup.created", name, {"size_bytes": size, "rows": rows, "backend": backend})
    return final


def read_metadata(path: Path) -> dict[str, Any]:
    """The backup's metadata, or BackupInvalid naming what is wrong with it."""
    if not path.is_dir():
        raise BackupInvalid(f"{path} is not a backup folder")
    try:
        document = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise BackupInvalid(f"{path}: {METADATA_FILE} is missing (an incomplete backup?)") from error
    except (OSError, ValueError) as error:
        raise BackupInvalid(f"{path / METADATA_FILE} is unreadable or damaged: {error}") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT_VERSION:
        raise BackupInvalid(f"{path / METADATA_FILE}: unknown backup format {document.get('format')!r}")
    for key in ("database", "data", "tables", "created_at"):
        if key not in document:
            raise BackupInvalid(f"{path / METADATA_FILE}: {key!r} is missing")
    return document


def _check_parts(path: Path, document: dict[str, Any]) -> None:
    for role in ("database", "data"):
        part = document[role]
        file = path / str(part["file"])
        if not file.is_file():
            raise BackupInvalid(f"{file.name} is missing from the backup")
        size = file.stat().st_size
        if size != part["size_bytes"]:
            raise BackupInvalid(
                f"{file.name} is corrupted: {size} bytes where the metadata recorded {part['size_bytes']}"
            )
        actual = _sha256(file)
        if actual != part["sha256"]:
            raise BackupInvalid(
                f"{file.name} is corrupted: sha256 {actual} does not match the recorded {part['sha256']}"
            )
    try:
        with tarfile.open(path / document["data"]["file"], "r:gz") as tar:
            for _member in tar:
                pass
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupInvalid(f"{document['data']['file']} is not a readable archive: {error}") from error


def _compare_tables(expected: dict[str, Any], actual: dict[str, Any]) -> None:
    problems = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            problems.append(f"table {name} is missing after the restore")
        elif name not in expected:
            problems.append(f"table {name} appeared after the restore")
        elif actual[name]["rows"] != expected[name]["rows"]:
            problems.append(f"table {name}: {actual[name]['rows']} rows, expected {expected[name]['rows']}")
        elif actual[name]["checksum"] != expected[name]["checksum"]:
            problems.append(f"table {name}: rows differ from the ones backed up (checksum mismatch)")
    if problems:
        raise BackupInvalid("the restored copy does not match the metadata: " + "; ".join(problems))


def verify_backup(settings: Settings, path: Path) -> VerifyReport:
    """Checksums of every part, then a real restore into a scratch database (PostgreSQL) or an
    integrity check of the copy (SQLite), comparing row counts and checksums table by table."""
    path = path.resolve()
    document = read_metadata(path)
    _check_parts(path, document)
    backend = document["database"].get("backend")
    dump_file = path / str(document["database"]["file"])
    if backend == "postgresql":
        if settings.is_sqlite:
            raise BackupError("this PostgreSQL backup needs a PostgreSQL server to verify against")
        actual = _postgres.restore_into_scratch(
            _postgres.Connection.from_url(settings.database_url), dump_file
        )
    elif backend == "sqlite":
        actual = _sqlite.check(dump_file)
    else:
        raise BackupInvalid(f"unknown database backend {backend!r} in the metadata")
    _compare_tables(document["tables"], actual)
    return VerifyReport(
        path=path,
        tables=len(actual),
        rows=sum(int(table["rows"]) for table in actual.values()),
        schema_revision=document.get("schema_revision"),
    )


def _known_revisions(settings: Settings) -> set[str]:
    from alembic.script import ScriptDirectory

    from server.db.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config(settings))
    return {script.revision for script in scripts.walk_revisions()}


def _replace_data_folder(settings: Settings, archive: Path) -> None:
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    excluded = _excluded_names(settings, None)
    staging = data_dir / f".restore-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, filter="data")
        for entry in list(data_dir.iterdir()):
            if entry == staging or entry.name in excluded:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        for entry in staging.iterdir():
            if entry.name not in excluded:
                os.replace(entry, data_dir / entry.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def restore_backup(settings: Settings, path: Path) -> dict[str, Any]:
    """Verify, then replace the database and the data folder with the backup's. Stop the API first.
    The schema is brought up to date afterwards (the backup may predate a migration), and every
    session is revoked (`sessions_revoked` in the answer): a session ended after the backup was made
    must not come back to life with it."""
    from server.db import migrate

    path = path.resolve()
    document = read_metadata(path)
    revision = document.get("schema_revision")
    if revision is not None and revision not in _known_revisions(settings):
        raise BackupError(
            f"the backup's schema revision {revision!r} is newer than this server knows: "
            "restore it with the release that made it"
        )
    backend = document["database"].get("backend")
    if backend != ("sqlite" if settings.is_sqlite else "postgresql"):
        raise BackupError(f"this is a {backend} backup; the server is configured for another database")
    verify_backup(settings, path)
    dump_file = path / str(document["database"]["file"])
    if settings.is_sqlite:
        _sqlite.restore(settings.database_url, dump_file)
    else:
        _postgres.restore(_postgres.Connection.from_url(settings.database_url), dump_file)
    _replace_data_folder(settings, path / str(document["data"]["file"]))
    migrate.upgrade(settings)
    revoked = _revoke_every_session(settings)
    _log(
        path.parent,
        f"restored {path.name} (made {document['created_at']}); revoked every session ({revoked})",
    )
    _audit(
        settings,
        "backup.restored",
        str(document.get("name", path.name)),
        {"created_at": document["created_at"], "schema_revision": revision, "sessions_revoked": revoked},
    )
    return {**document, "sessions_revoked": revoked}


def list_backups(directory: Path) -> tuple[list[BackupEntry], list[Path]]:
    """Complete backups, newest first, and the folders whose metadata cannot be read."""
    entries: list[BackupEntry] = []
    unreadable: list[Path] = []
    if not directory.is_dir():
        return entries, unreadable
    for child in directory.iterdir():
        if not child.is_dir() or not child.name.startswith(NAME_PREFIX):
            continue
        try:
            entries.append(BackupEntry(child, _parse_time(read_metadata(child)["created_at"])))
        except (BackupInvalid, ValueError):
            unreadable.append(child)
    entries.sort(key=lambda entry: (entry.created_at, entry.path.name), reverse=True)
    return entries, unreadable


def prune_backups(
    directory: Path,
    *,
    keep_days: int = DEFAULT_KEEP_DAYS,
    keep_count: int = DEFAULT_KEEP_COUNT,
    now: datetime | None = None,
) -> PruneResult:
    """Delete backups older than `keep_days` and all but the newest `keep_count`. The newest backup is
    always kept, so a schedule that stopped months ago never leaves the school with none. Folders
    without readable metadata are left alone (and reported); leftovers of crashed runs are removed."""
    if keep_count < 1 or keep_days < 1:
        raise BackupError("keep at least one backup and one day")
    directory = directory.resolve()
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    result = PruneResult()
    with _locked(directory):
        entries, result.unreadable = list_backups(directory)
        cutoff = moment - timedelta(days=keep_days)
        for index, entry in enumerate(entries):
            keep = index == 0 or (index < keep_count and entry.created_at >= cutoff)
            if keep:
                result.kept.append(entry.path)
            else:
                shutil.rmtree(entry.path)
                result.deleted.append(entry.path)
        for leftover in directory.glob(f".{NAME_PREFIX}*{PARTIAL_SUFFIX}"):
            age = moment.timestamp() - leftover.stat().st_mtime
            if age > STALE_PARTIAL.total_seconds():
                shutil.rmtree(leftover, ignore_errors=True)
    names = ", ".join(path.name for path in result.deleted) or "nothing"
    _log(directory, f"pruned (keep {keep_count} / {keep_days} days): deleted {names}")
    return result


__all__ = [
    "DEFAULT_KEEP_COUNT",
    "DEFAULT_KEEP_DAYS",
    "BackupEntry",
    "PruneResult",
    "VerifyReport",
    "create_backup",
    "default_backup_dir",
    "list_backups",
    "prune_backups",
    "read_metadata",
    "restore_backup",
    "verify_backup",
]
