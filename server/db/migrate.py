"""Run Alembic migrations from code (the CLI's `migrate`, the app's tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from server.config import Settings
from server.db.engine import sync_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sync_url(settings.database_url).replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), revision)


def current_revision(settings: Settings) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(sync_url(settings.database_url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "upgrade"]
