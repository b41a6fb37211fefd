"""PostgreSQL side of backups: the client tools (pg_dump, pg_restore, psql), a consistent snapshot,
per-table row counts and checksums, scratch databases for verification and the atomic restore.

Passwords reach the client tools through PGPASSWORD in their environment, never on the command line.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from server.ops._errors import BackupError

TableSums = dict[str, dict[str, Any]]

# Row text is rendered the same way on both sides of a comparison whatever the server's defaults.
_SESSION_SETUP = ("SET TIME ZONE 'UTC'", "SET DateStyle TO ISO", "SET extra_float_digits TO 1")


@dataclass(frozen=True)
class Connection:
    """Where the database is, split into libpq parameters."""

    host: str | None
    port: int | None
    user: str | None
    password: str | None
    dbname: str
    sslmode: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Connection:
        parsed = make_url(url)
        sslmode = parsed.query.get("sslmode")
        return cls(
            host=parsed.host,
            port=parsed.port,
            user=parsed.username,
            password=parsed.password,
            dbname=parsed.database or "postgres",
            sslmode=sslmode if isinstance(sslmode, str) else None,
        )

    def with_db(self, dbname: str) -> Connection:
        return Connection(self.host, self.port, self.user, self.password, dbname, self.sslmode)

    def connect(self, *, autocommit: bool = False) -> psycopg.Connection[tuple[Any, ...]]:
        params: dict[str, Any] = {"dbname": self.dbname, "connect_timeout": 10}
        for key in ("host", "port", "user", "password", "sslmode"):
            value = getattr(self, key)
            if value is not None:
                params[key] = value
        try:
            connection = psycopg.connect(autocommit=autocommit, **params)
        except psycopg.OperationalError as error:
            raise BackupError(f"cannot connect to PostgreSQL database {self.dbname!r}: {error}") from error
        return connection

    def tool_env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        pairs = {
            "PGHOST": self.host,
            "PGPORT": str(self.port) if self.port else None,
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.dbname,
            "PGSSLMODE": self.sslmode,
            "PGCONNECT_TIMEOUT": "10",
        }
        env.update({key: value for key, value in pairs.items() if value})
        return env


def server_major_version(connection: psycopg.Connection[tuple[Any, ...]]) -> int:
    row = connection.execute("SHOW server_version_num").fetchone()
    return int(row[0]) // 10000 if row else 0


def find_tool(name: str, major: int) -> str:
    """The client tool matching the server's major version: POST16_PG_BIN_DIR, then Debian's
    /usr/lib/postgresql/<major>/bin, then PATH. pg_dump refuses servers newer than itself."""
    candidates = []
    if configured := os.environ.get("POST16_PG_BIN_DIR"):
        candidates.append(Path(configured) / name)
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin") / name)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise BackupError(
        f"{name} (PostgreSQL {major} client tools) not found: install postgresql-client-{major} "
        "or set POST16_PG_BIN_DIR"
    )


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{what} failed (exit {result.returncode}): {' / '.join(message[-5:])}")


def _session(connection: psycopg.Connection[tuple[Any, ...]]) -> None:
    for statement in _SESSION_SETUP:
        connection.execute(statement)


def table_sums(connection: psycopg.Connection[tuple[Any, ...]]) -> TableSums:
    """Row count and a checksum for every table in the public schema: the md5 of the sorted md5s of
    each row's text form, so the order rows come back in does not matter."""
    _session(connection)
    names = [
        row[0]
        for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
    ]
    sums: TableSums = {}
    for name in names:
        query = sql.SQL(
            "SELECT count(*), coalesce(md5(string_agg(md5(t::text), '' "
            "ORDER BY md5(t::text) COLLATE \"C\")), '') FROM {} AS t"
        ).format(sql.Identifier("public", name))
        row = connection.execute(query).fetchone()
        assert row is not None
        sums[name] = {"rows": int(row[0]), "checksum": str(row[1])}
    return sums


def _alembic_revision(connection: psycopg.Connection[tuple[Any, ...]]) -> str | None:
    exists = connection.execute("SELECT to_regclass('public.alembic_version')").fetchone()
    if not exists or exists[0] is None:
        return None
    row = connection.execute("SELECT version_num FROM public.alembic_version").fetchone()
    return str(row[0]) if row else None


def dump(target: Connection, dump_path: Path) -> dict[str, Any]:
    """pg_dump (custom format) of the database, with counts and checksums taken in the very same
    snapshot, so the metadata describes exactly what the dump holds even while pupils keep saving."""
    with target.connect() as connection:
        major = server_major_version(connection)
        version_row = connection.execute("SHOW server_version").fetchone()
        connection.rollback()
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        snapshot_row = connection.execute("SELECT pg_export_snapshot()").fetchone()
        assert snapshot_row is not None
        sums = table_sums(connection)
        revision = _alembic_revision(connection)
        _run(
            [
                find_tool("pg_dump", major),
                "--format=custom",
                "--compress=6",
                "--schema=public",
                f"--snapshot={snapshot_row[0]}",
                f"--file={dump_path}",
            ],
            target.tool_env(),
            "pg_dump",
        )
        connection.rollback()
    return {
        "server_version": str(version_row[0]) if version_row else "unknown",
        "tables": sums,
        "schema_revision": revision,
    }


@contextmanager
def scratch_database(target: Connection) -> Iterator[Connection]:
    """A throwaway database beside the real one, dropped whatever happens."""
    name = f"post16_verify_{secrets.token_hex(6)}"
    with target.connect(autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield target.with_db(name)
    finally:
        with target.connect(autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def restore_into_scratch(target: Connection, dump_path: Path) -> TableSums:
    """pg_restore the dump into a scratch database and read back its counts and checksums."""
    with target.connect() as connection:
        major = server_major_version(connection)
    with scratch_database(target) as scratch:
        # The dump (--schema=public) creates the schema itself.
        with scratch.connect(autocommit=True) as connection:
            connection.execute("DROP SCHEMA public")
        _run(
            [
                find_tool("pg_restore", major),
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                f"--dbname={scratch.dbname}",
                str(dump_path),
            ],
            scratch.tool_env(),
            "pg_restore into a scratch database",
        )
        with scratch.connect() as connection:
            return table_sums(connection)


def restore(target: Connection, dump_path: Path) -> None:
    """Drop the public schema and let the dump recreate it, in one transaction: if any statement fails the
    database is left exactly as it was. Other sessions on the database are disconnected first."""
    with target.connect(autocommit=True) as connection:
        major = server_major_version(connection)
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND usename = current_user"
        )
    script = subprocess.Popen(  # noqa: S603
        [find_tool("pg_restore", major), "--no-owner", "--no-privileges", "--file=-", str(dump_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=target.tool_env(),
    )
    psql = subprocess.run(  # noqa: S603
        [
            find_tool("psql", major),
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            "--command=SET lock_timeout = '30s'",
            "--command=DROP SCHEMA IF EXISTS public CASCADE",
            "--file=-",
        ],
        stdin=script.stdout,
        capture_output=True,
        text=True,
        env=target.tool_env(),
        check=False,
    )
    assert script.stdout is not None
    script.stdout.close()
    script_errors = script.stderr.read().decode(errors="replace") if script.stderr else ""
    if script.wait() != 0:
        raise BackupError(f"pg_restore could not read the dump: {script_errors.strip()}")
    if psql.returncode != 0:
        raise BackupError(
            f"restoring the database failed and was rolled back (exit {psql.returncode}): "
            f"{psql.stderr.strip()[-1000:]}"
        )


__all__ = ["Connection", "dump", "restore", "restore_into_scratch", "scratch_database", "table_sums"]
