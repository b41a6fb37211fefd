"""login lockout devices and session purge: trusted devices, aggregated refusals, expiry index

- `trusted_devices`: the hashed device tokens issued at successful logins (OWASP device cookies), which
  exempt that device from the per-username and per-address lockouts (server.domain.auth.throttle).
- `login_throttles.refused_unlogged` / `refusals_logged_at`: refusals while locked are counted and
  audited at most once a minute per key, with their count, instead of one audit row per refusal.
- `ix_user_sessions_expires_at`: the periodic purge of expired sessions finds them by expiry.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trusted_devices",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_trusted_devices_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_devices")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_trusted_devices_token_hash")),
    )
    op.create_index(op.f("ix_trusted_devices_user_id"), "trusted_devices", ["user_id"], unique=False)
    with op.batch_alter_table("login_throttles") as batch:
        batch.add_column(sa.Column("refused_unlogged", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("refusals_logged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_user_sessions_expires_at", "user_sessions", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_user_sessions_expires_at", table_name="user_sessions")
    with op.batch_alter_table("login_throttles") as batch:
        batch.drop_column("refusals_logged_at")
        batch.drop_column("refused_unlogged")
    op.drop_index(op.f("ix_trusted_devices_user_id"), table_name="trusted_devices")
    op.drop_table("trusted_devices")
