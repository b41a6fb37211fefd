"""PostgreSQL databases for test, fault, load and bench runs: URLs, and a fresh migrated database."""

from __future__ import annotations

import os

__all__ = ["DEFAULT_ADMIN_URL", "fresh_database", "libpq", "with_database"]

#: The role and database `make provision` creates; every run makes its own databases beside it.
DEFAULT_ADMIN_URL = os.environ.get(
    "POST16_TEST_DATABASE_URL", "postgresql+psycopg://post16:post16-test-only@127.0.0.1:5432/post16_test"
)


def libpq(url: str) -> str:
    """The SQLAlchemy URL the server reads, as psycopg and libpq want it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    """`url` pointed at database `name` on the same server."""
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def fresh_database(admin_url: str, name: str) -> str:
    """Drop and re-create database `name` beside `admin_url`'s, migrated to the latest schema."""
    import psycopg

    from server.config import load_settings
    from server.db.migrate import upgrade

    with psycopg.connect(libpq(admin_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = with_database(admin_url, name)
    upgrade(load_settings({"POST16_DATABASE_URL": url}))
    return url
