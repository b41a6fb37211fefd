"""The server side of the chaos run: a fresh PostgreSQL database, accounts, a real server process that
can be SIGKILLed and started again (on the same port, behind the fault proxy), and database faults.

Standalone (`tests/e2e/chaos.py`) it creates and drops its own database; under pytest it is handed the
suite's `pg_url`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

from support.databases import libpq, with_database
from support.servers import ServerProcess, server_env

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PG_URL = "postgresql+psycopg://post16:post16-test-only@127.0.0.1:5432/post16_test"
PASSWORD = "correct horse battery"

__all__ = ["PASSWORD", "REPO", "ChaosDatabase", "ChaosServer"]


class ChaosDatabase:
    """One PostgreSQL database for one run, and the faults that hit it."""

    def __init__(self, url: str, *, owned: bool) -> None:
        self.url = url
        self.name = url.rpartition("/")[2]
        self.owned = owned

    @classmethod
    def create(cls, admin_url: str | None = None) -> ChaosDatabase:
        """A new database named after the run, migrated to the latest schema."""
        import psycopg

        admin_url = admin_url or os.environ.get("POST16_TEST_DATABASE_URL", DEFAULT_PG_URL)
        name = f"post16_chaos_{secrets.token_hex(5)}"
        with psycopg.connect(libpq(admin_url), autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        database = cls(with_database(admin_url, name), owned=True)
        from server.config import load_settings
        from server.db.migrate import upgrade

        upgrade(load_settings({"POST16_DATABASE_URL": database.url}))
        return database

    def drop(self) -> None:
        if not self.owned:
            return
        import psycopg

        admin = with_database(self.url, "postgres")
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(libpq(admin), autocommit=True, connect_timeout=5) as connection,
        ):
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def connect(self) -> Any:
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            try:
                return psycopg.connect(libpq(self.url), autocommit=True, connect_timeout=5)
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def add_users(self, usernames: list[str]) -> dict[str, int]:
        """Pupils straight in the database (one password hash shared: hashing is slow on purpose)."""
        from server.lib.security import hash_password

        password_hash = hash_password(PASSWORD)
        ids: dict[str, int] = {}
        with self.connect() as connection:
            for username in usernames:
                row = connection.execute(
                    """INSERT INTO users (username, display_name, role, password_hash, disabled, created_at,
                         password_changed_at)
                       VALUES (%s, %s, 'pupil', %s, false, now(), now()) RETURNING id""",
                    (username, username.title(), password_hash),
                ).fetchone()
                ids[username] = int(row[0])
        return ids

    def add_teacher(self, username: str, pupil_ids: list[int]) -> int:
        """A teacher with one class holding these pupils."""
        from server.lib.security import hash_password

        with self.connect() as connection:
            row = connection.execute(
                """INSERT INTO users (username, display_name, role, password_hash, disabled, created_at,
                     password_changed_at)
                   VALUES (%s, %s, 'teacher', %s, false, now(), now()) RETURNING id""",
                (username, username.title(), hash_password(PASSWORD)),
            ).fetchone()
            teacher_id = int(row[0])
            (class_id,) = connection.execute(
                """INSERT INTO school_classes (name, teacher_id, created_at) VALUES (%s, %s, now())
                   RETURNING id""",
                (f"class of {username}", teacher_id),
            ).fetchone()
            for pupil_id in pupil_ids:
                connection.execute(
                    "INSERT INTO enrolments (class_id, pupil_id, enrolled_at) VALUES (%s, %s, now())",
                    (class_id, pupil_id),
                )
        return teacher_id

    # -- faults -------------------------------------------------------------------------------------

    def kill_connections(self) -> int:
        """Terminate every server connection to this database: "the database restarted", as the
        server sees it, without disturbing anyone else's databases on the shared cluster."""
        with self.connect() as connection:
            rows = connection.execute(
                """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                   WHERE datname = %s AND pid <> pg_backend_pid()""",
                (self.name,),
            ).fetchall()
        return len(rows)

    def expire_session(self, token_sha256: str) -> int:
        """The session behind this token ends (as if it had been idle too long)."""
        with self.connect() as connection:
            cursor = connection.execute(
                "UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = %s",
                (token_sha256,),
            )
            return int(cursor.rowcount)

    @staticmethod
    def restart_cluster() -> None:
        """A real PostgreSQL restart (the shared cluster: keep it brief, long profile only)."""
        subprocess.run(["pg_ctlcluster", "15", "main", "restart"], check=True, timeout=120)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ChaosServer(ServerProcess):
    """A real `post16-server serve` on a fixed port (support.servers): killed with SIGKILL and started
    again there, behind the fault proxy."""

    def __init__(self, database_url: str, data_dir: Path, *, workers: int, **overrides: str) -> None:
        env = server_env(
            database_url,
            data_dir,
            POST16_METRICS_TOKEN="chaos-metrics-token",
            POST16_DB_POOL_SIZE="6",
            POST16_DB_MAX_OVERFLOW="6",
            **overrides,
        )
        super().__init__(env, workers=workers, log_path=data_dir / "server.log")
