"""What the bot posts on Discord: split under 2000 characters, buttons within Discord's limits,
one thread per case, retries that never double-post, and no stray mentions."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from bot.adapters.discord_send import (
    DiscordNoticeSink,
    DiscordSender,
    build_views,
    split_message,
    with_retries,
)
from bot.core.messages import Button, ChatRef, ModeratorNotice, NoticeKind, Reply, ReplyKind
from bot.core.risk import RiskLevel
from bot.core.texts import Texts
from tests.fakes.discord_fakes import FakeDiscord, FakeGuild, http_error

ROOT = Path(__file__).resolve().parents[2]
SERVER = FakeGuild(1)
NONE = discord.AllowedMentions.none().to_dict()  # nobody can be pinged


@pytest.fixture
def texts() -> Texts:
    return Texts.load(ROOT / "responses")


@pytest.fixture
def world() -> FakeDiscord:
    return FakeDiscord()


def helplines(n: int) -> str:
    return "\n\n".join(f"Line {i}: call 0800 {i:06d}\nOpen 24 hours, free." for i in range(n))


def test_split_keeps_every_part_under_the_limit_at_paragraph_boundaries() -> None:
    text = helplines(120)
    parts = split_message(text)
    assert len(parts) > 1
    assert all(len(p.encode("utf-16-le")) // 2 <= 2000 for p in parts)
    assert all(p.startswith("Line ") and p.endswith("free.") for p in parts)
    assert "\n\n".join(parts) == text
    assert split_message("short") == ["short"]


def test_split_counts_emoji_twice_and_cuts_unbroken_text() -> None:
    parts = split_message("🆘" * 1500)
    assert [len(p) for p in parts] == [1000, 500]
    assert [len(p) for p in split_message("x" * 4500)] == [2000, 2000, 500]


def test_views_carry_the_signed_payload_as_custom_id() -> None:
    few = [Button(f"Option {i}", f"/x {i}|sig") for i in range(3)]
    [view] = build_views(few)
    assert [b.custom_id for b in view.children] == ["/x 0|sig", "/x 1|sig", "/x 2|sig"]
    assert [b.row for b in view.children] == [0, 1, 2]  # one per row: readable on a phone
    assert not view.is_dispatchable()  # not kept in discord.py's view store; routed by id

    many = [Button(f"Country {i}", f"/region C{i}|sig") for i in range(34)]
    first, second = build_views(many)
    assert len(first.children) == 25 and len(second.children) == 9
    assert [b.row for b in first.children][:7] == [0, 0, 0, 0, 0, 1, 1]

    odd = [Button("x" * 90, "p|sig"), Button("dup", "p|sig"), Button("long", "y" * 101)]
    [view] = build_views(odd)
    assert [(len(b.label or ""), b.custom_id) for b in view.children] == [(80, "p|sig")]
    assert build_views([]) == []


async def test_long_reply_gets_its_buttons_on_the_last_part(
    world: FakeDiscord, texts: Texts
) -> None:
    dm = world.channel()
    sender = DiscordSender(world, texts, backoff=0)
    buttons = tuple(Button(f"B{i}", f"/b {i}|sig") for i in range(2))
    await sender.send_reply(Reply(ChatRef("discord", str(dm.id)), helplines(120), buttons))
    sent = world.sent_to(dm)
    assert len(sent) > 1
    assert [bool(s.custom_ids) for s in sent] == [False] * (len(sent) - 1) + [True]
    assert all(s.allowed_mentions.to_dict() == NONE for s in sent)  # type: ignore[union-attr]


async def test_more_than_25_buttons_follow_in_another_message(
    world: FakeDiscord, texts: Texts
) -> None:
    dm = world.channel()
    sender = DiscordSender(world, texts, backoff=0)
    buttons = tuple(Button(f"Country {i}", f"/region C{i}|sig") for i in range(34))
    await sender.send_reply(Reply(ChatRef("discord", str(dm.id)), "Which country?", buttons))
    first, second = world.sent_to(dm)
    assert (first.content, len(first.custom_ids)) == ("Which country?", 25)
    assert (second.content, len(second.custom_ids)) == (texts.get("discord.more_choices"), 9)


async def test_server_errors_are_retried_and_refusals_are_not(
    world: FakeDiscord, texts: Texts
) -> None:
    dm = world.channel()
    sender = DiscordSender(world, texts, attempts=3, backoff=0)
    world.failures = [http_error(503, discord.DiscordServerError), ConnectionResetError()]
    await sender.send_text(dm.id, "still here")
    assert world.texts_to(dm) == ["still here"]

    world.failures = [http_error(403, discord.Forbidden)]
    with pytest.raises(discord.Forbidden):
        await sender.send_text(dm.id, "refused")
    world.failures = [http_error(502, discord.DiscordServerError) for _ in range(3)]
    with pytest.raises(discord.DiscordServerError):
        await sender.send_text(dm.id, "outage")
    assert world.texts_to(dm) == ["still here"]


async def test_a_crisis_reply_outlasts_a_longer_outage(world: FakeDiscord, texts: Texts) -> None:
    dm = world.channel()
    sender = DiscordSender(world, texts, attempts=2, backoff=0)
    world.failures = [http_error(500, discord.DiscordServerError) for _ in range(4)]
    crisis = Reply(ChatRef("discord", str(dm.id)), "Call 999 now.", kind=ReplyKind.CRISIS)
    await sender.send_reply(crisis)
    assert world.texts_to(dm) == ["Call 999 now."]


async def test_with_retries_gives_up_after_the_attempts() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        raise TimeoutError

    with pytest.raises(TimeoutError):
        await with_retries(flaky, attempts=4, backoff=0)
    assert calls == 4


def notice(kind: NoticeKind, text: str, key: str = "", **kw: object) -> ModeratorNotice:
    return ModeratorNotice(
        case_id="abc123",
        kind=kind,
        text=text,
        platform="discord",
        risk=RiskLevel.HIGH,
        idempotency_key=key or f"abc123:{kind.value}",
        **kw,  # type: ignore[arg-type]
    )


CASE_BUTTONS = (Button("Claim", "c:abc123:claim|sig"), Button("Resolve", "c:abc123:resolve|sig"))


async def test_a_ping_starts_a_thread_and_later_notices_go_into_it(
    world: FakeDiscord, texts: Texts
) -> None:
    mods = world.channel(SERVER)
    sink = DiscordNoticeSink(DiscordSender(world, texts, backoff=0), mods.id, None)
    ping = notice(
        NoticeKind.PING, "🆘 New case abc123 · risk: high\nMessage: hi", buttons=CASE_BUTTONS
    )
    ref = await sink.deliver(ping, None)
    [posted] = world.sent_to(mods)
    assert posted.custom_ids == ["c:abc123:claim|sig", "c:abc123:resolve|sig"]
    assert ref is not None and world.threads[int(ref)] is posted
    assert world.channels[int(ref)].name == "🆘 New case abc123 · risk: high"

    assert await sink.deliver(notice(NoticeKind.CLAIMED, "claimed by Mo"), ref) == ref
    assert world.texts_to(int(ref)) == ["claimed by Mo"]
    # the outbox retries a delivery it could not record: nothing is posted twice
    assert await sink.deliver(ping, None) == ref
    assert await sink.deliver(notice(NoticeKind.CLAIMED, "claimed by Mo"), ref) == ref
    assert len(world.sent) == 2


async def test_a_failed_thread_is_retried_without_a_second_ping(
    world: FakeDiscord, texts: Texts
) -> None:
    mods = world.channel(SERVER)
    sink = DiscordNoticeSink(DiscordSender(world, texts, attempts=1, backoff=0), mods.id, None)
    world.thread_failures = 1
    ping = notice(NoticeKind.PING, "🆘 New case abc123", buttons=CASE_BUTTONS)
    with pytest.raises(discord.DiscordServerError):
        await sink.deliver(ping, None)
    ref = await sink.deliver(ping, None)
    assert len(world.sent_to(mods)) == 1 and ref is not None and int(ref) in world.threads


async def test_a_reping_mentions_the_role_and_nothing_else_can_ping(
    world: FakeDiscord, texts: Texts
) -> None:
    mods = world.channel(SERVER)
    sender = DiscordSender(world, texts, backoff=0)
    with_role = DiscordNoticeSink(sender, mods.id, 555)
    ref = await with_role.deliver(notice(NoticeKind.PING, "🆘 New case"), None)
    assert ref is not None
    await with_role.deliver(notice(NoticeKind.REPING, "⏰ still unclaimed", mention_role=True), ref)
    await with_role.deliver(notice(NoticeKind.RELAY, "person-1: @everyone help", "k1"), ref)
    reping, relay = world.sent_to(int(ref))
    assert reping.content == "<@&555> ⏰ still unclaimed"
    assert reping.allowed_mentions is not None
    assert [r.id for r in reping.allowed_mentions.roles] == [555]  # type: ignore[union-attr]
    assert not reping.allowed_mentions.everyone
    assert relay.allowed_mentions.to_dict() == NONE  # type: ignore[union-attr]

    without = DiscordNoticeSink(sender, mods.id, None)
    await without.deliver(notice(NoticeKind.REPING, "⏰ again", "k2", mention_role=True), ref)
    assert world.texts_to(int(ref))[-1] == "⏰ again"


async def test_without_a_moderators_channel_delivery_fails_loudly(
    world: FakeDiscord, texts: Texts
) -> None:
    sink = DiscordNoticeSink(DiscordSender(world, texts, backoff=0), None, None)
    with pytest.raises(RuntimeError, match="moderator_channel_id"):
        await sink.deliver(notice(NoticeKind.PING, "🆘"), None)
