"""code checks and marked versions: checks queued by sync, the version an automatic mark belongs to

- `code_checks`: one row per `code.check` operation (unique op id), worked through by the server's
  check worker (server.domain.checks): queued -> running -> done.
- `marks.revision`: the answer's version an automatic mark was given for.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 05:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "code_checks",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("op_id", sa.Uuid(), nullable=False),
        sa.Column("pupil_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lesson_id", sa.String(length=64), nullable=False),
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["users.id"], name=op.f("fk_code_checks_pupil_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_checks")),
        sa.UniqueConstraint("op_id", name=op.f("uq_code_checks_op_id")),
    )
    op.create_index("ix_code_checks_status", "code_checks", ["status", "id"])
    with op.batch_alter_table("marks") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("marks") as batch:
        batch.drop_column("revision")
    op.drop_index("ix_code_checks_status", table_name="code_checks")
    op.drop_table("code_checks")
