"""The Post16 Lessons server: Litestar API and admin console over PostgreSQL (SQLite embedded default)."""

__all__: list[str] = []
