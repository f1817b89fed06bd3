"""First schema: conversations, cases, outbox, groups.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("region", sa.String(10)),
        sa.Column("notice_shown", sa.Boolean(), nullable=False),
        sa.Column("exercise", sa.String(40)),
        sa.Column("exercise_step", sa.Integer(), nullable=False),
        sa.Column("pending", sa.String(40)),
        sa.Column("recent_risk", sa.Integer(), nullable=False),
        sa.Column("turns_since_risk", sa.Integer(), nullable=False),
        sa.Column("open_case_id", sa.String(24)),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_conversations_updated_at", "conversations", ["updated_at"])
    op.create_table(
        "cases",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("conversation_key", sa.String(80), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64)),
        sa.Column("chat_thread", sa.String(64)),
        sa.Column("community", sa.String(64)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("risk", sa.Integer(), nullable=False),
        sa.Column("handle", sa.String(32), nullable=False),
        sa.Column("excerpt", sa.Text()),
        sa.Column("region", sa.String(10)),
        sa.Column("moderator", sa.String(64)),
        sa.Column("moderator_name", sa.String(64)),
        sa.Column("thread_ref", sa.String(64)),
        sa.Column("ladder_stage", sa.Integer(), nullable=False),
        sa.Column("next_action_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("claimed_at", TS),
        sa.Column("closed_at", TS),
    )
    for column in ("conversation_key", "status", "thread_ref", "next_action_at", "closed_at"):
        op.create_index(f"ix_cases_{column}", "cases", [column])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(96), nullable=False),
        sa.Column("case_id", sa.String(24)),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", TS),
        sa.Column("last_error", sa.String(200)),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    )
    for column in ("case_id", "due_at", "delivered_at"):
        op.create_index(f"ix_outbox_{column}", "outbox", [column])
    op.create_table(
        "groups",
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("chat_id", sa.String(64), primary_key=True),
        sa.Column("watched", sa.Boolean(), nullable=False),
        sa.Column("default_region", sa.String(10)),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("groups", "outbox", "cases", "conversations"):
        op.drop_table(table)
