"""Per-person message limit: one counter row per person and window.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_limits",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_message_limits_window_ends_at", "message_limits", ["window_ends_at"])


def downgrade() -> None:
    op.drop_index("ix_message_limits_window_ends_at", table_name="message_limits")
    op.drop_table("message_limits")
