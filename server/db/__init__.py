"""Database layer: models (one per table), engines and Alembic migrations. Never imports server.domain."""
