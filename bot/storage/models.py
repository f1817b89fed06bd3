"""Tables. Personal data is minimal: pseudonymous ids, and message text only inside open cases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ConversationRow(Base):
    """One person on one platform. Keyed by the pseudonymous id, never the platform's."""

    __tablename__ = "conversations"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    region: Mapped[str | None] = mapped_column(String(10))
    notice_shown: Mapped[bool] = mapped_column(default=False)
    exercise: Mapped[str | None] = mapped_column(String(40))
    exercise_step: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[str | None] = mapped_column(String(40))
    recent_risk: Mapped[int] = mapped_column(Integer, default=0)
    turns_since_risk: Mapped[int] = mapped_column(Integer, default=0)
    open_case_id: Mapped[str | None] = mapped_column(String(24))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


_OPEN_CASE = text("kind = 'risk' AND status IN ('open', 'pinged', 'claimed')")


class CaseRow(Base):
    __tablename__ = "cases"
    # one open risk case per person per community (migration 0003): two workers handling
    # two crisis messages from one person at once cannot open two cases
    __table_args__ = (
        Index(
            "uq_cases_one_open",
            "conversation_key",
            text("coalesce(community, '')"),
            unique=True,
            sqlite_where=_OPEN_CASE,
            postgresql_where=_OPEN_CASE,
        ),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    conversation_key: Mapped[str] = mapped_column(String(80), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str | None] = mapped_column(String(64))  # where to relay; wiped when closed
    chat_thread: Mapped[str | None] = mapped_column(String(64))
    community: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="risk")  # risk | moderation
    status: Mapped[str] = mapped_column(String(16), index=True)
    risk: Mapped[int] = mapped_column(Integer)
    handle: Mapped[str] = mapped_column(String(32))
    excerpt: Mapped[str | None] = mapped_column(Text)  # the triggering text; wiped when closed
    region: Mapped[str | None] = mapped_column(String(10))
    moderator: Mapped[str | None] = mapped_column(String(64))
    moderator_name: Mapped[str | None] = mapped_column(String(64))
    thread_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    ladder_stage: Mapped[int] = mapped_column(Integer, default=0)
    next_action_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class OutboxRow(Base):
    """At-least-once delivery of moderator notices and delayed replies to a person."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(96))
    case_id: Mapped[str | None] = mapped_column(String(24), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # notice | reply
    # 0 crisis (pings, crisis replies), 1 other notices and replies, 2 relayed words
    priority: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_error: Mapped[str | None] = mapped_column(String(200))


class GroupRow(Base):
    """A community group or channel: whether it opted in to being watched for high risk, and the
    helpline region its admins chose for people who have not chosen their own."""

    __tablename__ = "groups"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    watched: Mapped[bool] = mapped_column(default=False)
    default_region: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MessageLimitRow(Base):
    """How many messages one person sent in the current window (the per-person rate limit).

    Keyed like `conversations` (platform and pseudonymous id); holds a count and a time, never
    text. A row whose window has ended carries nothing and is deleted by the retention purge.
    """

    __tablename__ = "message_limits"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    messages: Mapped[int] = mapped_column(Integer)
    window_ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class FollowUpRow(Base):
    """A check-in offered after a case closed (bot/ops/followups.py). Status: offered → accepted
    → sent, or declined / cancelled. `chat_id` is kept only while a message may still be sent."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_key: Mapped[str] = mapped_column(String(80), index=True)
    case_id: Mapped[str] = mapped_column(String(24), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    chat_thread: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InboxRow(Base):
    """One platform update, recorded before the platform is told it arrived (migration 0004).

    The payload (which holds what the person wrote) lives only until the update is handled;
    the emptied row stays a day so a redelivered update is skipped."""

    __tablename__ = "inbox"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    payload: Mapped[dict[str, object] | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
