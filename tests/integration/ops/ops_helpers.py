"""Helpers for the operations tests: running `post16-server` as IT would, and reading a whole database
to compare it before and after.

Imported by name (`from ops_helpers import ...`), never from conftest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parents[3]
METRICS_TOKEN = "test-metrics-token"  # tests/conftest.py server_env


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def cli_env(settings: Any) -> dict[str, str]:
    """The environment that points `post16-server` at the same database and data folder."""
    return {
        "POST16_DATABASE_URL": settings.database_url,
        "POST16_DATA_DIR": str(settings.data_dir),
        "POST16_LESSONS_DIR": str(settings.lessons_dir),
        "POST16_LOG_JSON": "false",
        "POST16_SANDBOX_ENABLED": "false",
    }


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`post16-server ARGS` in a child process with the given POST16_* settings."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def all_rows(database_url: str) -> dict[str, list[str]]:
    """Every row of every table in the public schema, as text, in a stable order."""
    with psycopg.connect(libpq(database_url)) as connection:
        connection.execute("SET TIME ZONE 'UTC'")
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        return {
            table: [
                row[0]
                for row in connection.execute(
                    sql.SQL('SELECT t::text FROM {} AS t ORDER BY t::text COLLATE "C"').format(
                        sql.Identifier("public", table)
                    )
                )
            ]
            for table in tables
        }


def execute(database_url: str, *statements: str) -> None:
    with psycopg.connect(libpq(database_url), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)  # type: ignore[arg-type]


def scalar(database_url: str, query: str) -> object:
    with psycopg.connect(libpq(database_url)) as connection:
        row = connection.execute(query).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None


def flip_byte(path: Path, offset_from_end: int = 100) -> None:
    """Damage a file the way a failing disk or a truncated copy would: one byte changed."""
    data = bytearray(path.read_bytes())
    position = max(0, len(data) - offset_from_end)
    data[position] ^= 0xFF
    path.write_bytes(bytes(data))
