"""Frozen messages passed between adapters and the core. No platform types here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.core.risk import RiskLevel


@dataclass(frozen=True, slots=True)
class ChatRef:
    """Where a conversation happens: `platform` is console / telegram / discord."""

    platform: str
    chat_id: str
    thread_id: str | None = None


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered under a reply. `payload` is opaque to adapters and signed by the core."""

    label: str
    payload: str
    opens_private_chat: bool = False  # adapters render it as a link to a private chat with the bot


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message (or button press) from a person.

    `user` is already pseudonymous (see `bot.core.identity.pseudonymise`). `button` carries the
    payload of a pressed button exactly as received: the core verifies its signature.
    """

    chat: ChatRef
    user: str
    text: str
    received_at: datetime
    is_private: bool = True
    locale_hint: str | None = None
    community: str | None = None
    button: str | None = None
    attachment: str | None = None  # "sticker", "photo", "voice", ... when the message had no text


class ReplyKind(StrEnum):
    MESSAGE = "message"
    CRISIS = "crisis"
    RELAY = "relay"  # a moderator's words passed through to the person


@dataclass(frozen=True, slots=True)
class Reply:
    """Text for a person's chat, with optional buttons."""

    chat: ChatRef
    text: str
    buttons: tuple[Button, ...] = ()
    kind: ReplyKind = ReplyKind.MESSAGE


class NoticeKind(StrEnum):
    PING = "ping"  # a new case
    REPING = "reping"  # nobody claimed in time: ping again with the role mention
    CLAIMED = "claimed"
    RELAY = "relay"  # the person's words passed to the claiming moderator
    RESOLVED = "resolved"
    FALSE_ALARM = "false_alarm"
    EXPIRED = "expired"
    FORGOTTEN = "forgotten"  # the person used /forget: the case and its words are gone


@dataclass(frozen=True, slots=True)
class ModeratorNotice:
    """Something for the moderators' room about one case.

    Adapters post it in the case's topic or reply thread; `idempotency_key` lets a retried
    delivery be recognised so it is never posted twice.
    """

    case_id: str
    kind: NoticeKind
    text: str
    platform: str
    risk: RiskLevel
    idempotency_key: str
    buttons: tuple[Button, ...] = ()
    mention_role: bool = False


class ModeratorAction(StrEnum):
    CLAIM = "claim"
    RESOLVE = "resolve"
    FALSE_ALARM = "false_alarm"


@dataclass(frozen=True, slots=True)
class ModeratorInbound:
    """A moderator pressed a case button (`payload`, still signed) or wrote in a case thread."""

    platform: str
    moderator: str  # pseudonymous id of the moderator
    moderator_name: str
    received_at: datetime
    is_moderator: bool  # the adapter checked membership of the moderators' room
    is_admin: bool = False  # an admin of the moderators' room: may close a case another claimed
    payload: str | None = None
    case_id: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the core wants sent after one inbound event."""

    replies: tuple[Reply, ...] = ()
    ack: str | None = None  # for the moderator who pressed a button (a callback answer)
