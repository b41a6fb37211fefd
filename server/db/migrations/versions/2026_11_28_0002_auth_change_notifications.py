"""auth change notifications: NOTIFY post16_auth when a session or a user changes

Each server process caches recently checked sessions (server.domain.auth.sessioncache) and LISTENs on
`post16_auth`. These triggers make every path that can end or change a session — logout, revocation by
an admin, a password change, disabling a user, a role change, a deletion, a TRUNCATE — tell every
process, whichever code (or psql session) made the change. The payload is the user id, or `*` for all.
Notifications are sent when the transaction commits. PostgreSQL only; SQLite runs without the cache.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 02:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION post16_notify_auth_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('post16_auth', '*');
    ELSIF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('post16_auth', OLD.id::text);
    ELSE
        PERFORM pg_notify('post16_auth', OLD.user_id::text);
    END IF;
    RETURN NULL;
END
$$
"""

TRIGGERS = {
    "users_auth_change": "AFTER UPDATE OR DELETE ON users FOR EACH ROW",
    "users_auth_truncate": "AFTER TRUNCATE ON users FOR EACH STATEMENT",
    # Anything that can end a session sooner or hand it to someone else. Not last_seen_at moving
    # forward: that happens every minute of use and shortens nothing (a cached copy of it can only
    # make the idle check stricter, and a cached session past its idle time is looked up again).
    "user_sessions_auth_change": (
        "AFTER UPDATE ON user_sessions FOR EACH ROW WHEN ("
        "OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at"
        " OR OLD.idle_timeout IS DISTINCT FROM NEW.idle_timeout OR OLD.csrf_token IS DISTINCT FROM"
        " NEW.csrf_token OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.token_hash IS DISTINCT FROM"
        " NEW.token_hash OR NEW.last_seen_at < OLD.last_seen_at)"
    ),
    "user_sessions_auth_delete": "AFTER DELETE ON user_sessions FOR EACH ROW",
    "user_sessions_auth_truncate": "AFTER TRUNCATE ON user_sessions FOR EACH STATEMENT",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NOTIFY_FUNCTION)
    for name, when in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION post16_notify_auth_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, when in TRIGGERS.items():
        table = when.split(" ON ")[1].split()[0]
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS post16_notify_auth_change()")
