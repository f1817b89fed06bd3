"""One open risk case per person per community (a partial unique index); outbox priorities.

Two workers receiving two crisis messages from one person at once used to open two cases (two
pings). Moderation flags (harassment) are not limited by it. Older duplicates still open when
this runs are closed as expired first, keeping the newest. Outbox entries get a priority so
a crisis ping is never queued behind relays.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OPEN = "status IN ('open', 'pinged', 'claimed')"
OPEN_RISK = f"kind = 'risk' AND {OPEN}"


def upgrade() -> None:
    # delivery order: 0 crisis (pings, crisis replies), 1 other notices and replies, 2 relays
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="1"))
    op.create_index("ix_outbox_priority_id", "outbox", ["priority", "id"])
    op.execute(
        sa.text(
            "UPDATE cases SET status = 'expired', closed_at = CURRENT_TIMESTAMP, "
            "next_action_at = NULL, excerpt = NULL, chat_id = NULL "
            f"WHERE {OPEN_RISK} AND EXISTS (SELECT 1 FROM cases AS newer "
            "WHERE newer.conversation_key = cases.conversation_key "
            "AND coalesce(newer.community, '') = coalesce(cases.community, '') "
            "AND newer.kind = 'risk' "
            "AND newer.status IN ('open', 'pinged', 'claimed') "
            "AND (newer.created_at > cases.created_at "
            "OR (newer.created_at = cases.created_at AND newer.id > cases.id)))"
        )
    )
    op.create_index(
        "uq_cases_one_open",
        "cases",
        ["conversation_key", sa.text("coalesce(community, '')")],
        unique=True,
        sqlite_where=sa.text(OPEN_RISK),
        postgresql_where=sa.text(OPEN_RISK),
    )


def downgrade() -> None:
    op.drop_index("uq_cases_one_open", table_name="cases")
    op.drop_index("ix_outbox_priority_id", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("priority")
