"""The moderators' room on Telegram: one topic (or reply thread) per case, never a double ping."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import NetworkError

from bot.adapters.telegram_send import BoundedMap, TelegramNoticeSink, TelegramSender
from bot.config import TelegramSettings
from bot.core.messages import Button, ModeratorNotice, NoticeKind
from bot.core.risk import RiskLevel
from tests.fakes.telegram_api import FakeChat, FakeTelegramApi

MODS = -100500


def notice(
    kind: NoticeKind,
    key: str,
    text: str = "🆘 New case c1 · risk: high\nMessage: x",
    buttons: tuple[Button, ...] = (),
) -> ModeratorNotice:
    return ModeratorNotice("c1", kind, text, "telegram", RiskLevel.HIGH, key, buttons)


@pytest.fixture(params=[True, False], ids=["forum", "plain"])
async def room(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FakeTelegramApi, Bot]]:
    async with FakeTelegramApi() as fake:
        fake.add_chat(FakeChat(MODS, "supergroup", "Mods", is_forum=request.param))
        async with Bot(fake.token, base_url=f"{fake.base_url}/bot") as bot:
            yield fake, bot


def sink_for(bot: Bot) -> TelegramNoticeSink:
    sender = TelegramSender(bot, TelegramSettings(send_attempts=2), backoff=0)
    return TelegramNoticeSink(sender, bot, MODS)


async def test_a_case_lives_in_one_topic_or_thread(room: tuple[FakeTelegramApi, Bot]) -> None:
    fake, bot = room
    sink = sink_for(bot)
    claim = Button("Claim", "c:c1:claim|sig")
    ref = await sink.deliver(notice(NoticeKind.PING, "k1", buttons=(claim,)), None)
    assert ref is not None
    again = await sink.deliver(notice(NoticeKind.CLAIMED, "k2", "✋ claimed"), ref)
    assert again == ref
    ping, claimed = fake.sent_to(MODS)
    assert ping["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "c:c1:claim|sig"
    kind, number = ref.split(":")
    if fake.topics:
        assert kind == "topic"
        assert list(fake.topics.values()) == ["🆘 New case c1 · risk: high"]
        assert ping["message_thread_id"] == claimed["message_thread_id"] == int(number)
    else:
        assert kind == "msg"
        assert claimed["reply_parameters"]["message_id"] == int(number)
        assert fake.last_sent_message(MODS)["reply_to_message"]["message_id"] == int(number)


async def test_without_the_right_to_make_topics_a_case_uses_a_reply_thread() -> None:
    async with FakeTelegramApi() as fake, Bot(fake.token, base_url=f"{fake.base_url}/bot") as bot:
        fake.add_chat(FakeChat(MODS, "supergroup", "Mods", is_forum=True))
        fake.fail("createForumTopic", times=5, status=400)  # "not enough rights"
        sink = sink_for(bot)
        ref = await sink.deliver(notice(NoticeKind.PING, "k1"), None)
        assert ref is not None and ref.startswith("msg:")
        await sink.deliver(notice(NoticeKind.CLAIMED, "k2", "✋ claimed"), ref)
        assert fake.sent_to(MODS)[1]["reply_parameters"]["message_id"] == int(ref[4:])


async def test_a_redelivered_notice_is_not_posted_twice(room: tuple[FakeTelegramApi, Bot]) -> None:
    fake, bot = room
    sink = sink_for(bot)
    first = await sink.deliver(notice(NoticeKind.PING, "k1"), None)
    second = await sink.deliver(notice(NoticeKind.PING, "k1"), None)
    assert first == second
    assert len(fake.sent_to(MODS)) == 1


async def test_a_failed_ping_retried_later_reuses_its_topic(
    room: tuple[FakeTelegramApi, Bot],
) -> None:
    fake, bot = room
    sink = sink_for(bot)
    fake.fail("sendMessage", times=2, status=502)
    with pytest.raises(NetworkError):
        await sink.deliver(notice(NoticeKind.PING, "k1"), None)
    ref = await sink.deliver(notice(NoticeKind.PING, "k1"), None)
    assert len(fake.sent_to(MODS)) == 1
    forum = (await bot.get_chat(MODS)).is_forum
    assert len(fake.calls_of("createForumTopic")) == (1 if forum else 0)
    assert ref is not None


async def test_without_a_configured_room_delivery_fails_loudly() -> None:
    async with FakeTelegramApi() as fake, Bot(fake.token, base_url=f"{fake.base_url}/bot") as bot:
        sender = TelegramSender(bot, TelegramSettings(), backoff=0)
        with pytest.raises(RuntimeError, match="moderator_chat_id"):
            await TelegramNoticeSink(sender, bot, None).deliver(notice(NoticeKind.PING, "k"), None)


def test_the_sinks_memory_stays_bounded_and_keeps_the_newest() -> None:
    memory: BoundedMap[int, str] = BoundedMap(limit=3)
    for n in range(5):
        memory[n] = f"v{n}"
    memory[2] = "again"  # touched: now the newest
    memory[5] = "v5"
    assert list(memory) == [4, 2, 5]
