"""The fake Bot API answers python-telegram-bot as Telegram does (so e2e tests mean something)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, RetryAfter

from tests.fakes.telegram_api import FakeChat, FakeTelegramApi, FakeUser

ALICE = FakeUser(id=42, first_name="Alice")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi() as api:
        yield api


@pytest.fixture
async def bot(fake: FakeTelegramApi) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=f"{fake.base_url}/bot") as client:
        yield client


async def test_get_me_names_the_bot(bot: Bot) -> None:
    assert bot.username == "signpost_test_bot"


async def test_updates_are_handed_out_until_confirmed(fake: FakeTelegramApi, bot: Bot) -> None:
    chat = fake.private_chat(ALICE)
    fake.send_text(chat, ALICE, "hello")
    first = await bot.get_updates(timeout=0)
    again = await bot.get_updates(timeout=0)
    assert [u.message.text for u in first if u.message] == ["hello"]
    assert [u.update_id for u in again] == [u.update_id for u in first]
    after = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)
    assert after == ()
    assert fake.pending_updates == 0


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    fake: FakeTelegramApi, bot: Bot
) -> None:
    import asyncio

    chat = fake.private_chat(ALICE)
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    fake.send_text(chat, ALICE, "/start")
    updates = await asyncio.wait_for(poll, 2)
    assert updates[0].message is not None
    assert updates[0].message.text == "/start"


async def test_send_message_is_recorded_with_its_keyboard(fake: FakeTelegramApi, bot: Bot) -> None:
    chat = fake.private_chat(ALICE)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="x:yes|sig")]])
    sent = await bot.send_message(chat.id, "Would you like to try?", reply_markup=keyboard)
    [params] = fake.sent_to(chat.id)
    assert params["text"] == "Would you like to try?"
    assert params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "x:yes|sig"
    edited = await bot.edit_message_text("Done.", chat_id=chat.id, message_id=sent.message_id)
    assert not isinstance(edited, bool)
    assert edited.text == "Done."


async def test_too_long_messages_and_unknown_edits_are_refused(
    fake: FakeTelegramApi, bot: Bot
) -> None:
    chat = fake.private_chat(ALICE)
    with pytest.raises(BadRequest):
        await bot.send_message(chat.id, "x" * 4097)
    with pytest.raises(BadRequest):
        await bot.edit_message_text("x", chat_id=chat.id, message_id=999_999)


async def test_injected_failures_surface_as_the_library_errors(
    fake: FakeTelegramApi, bot: Bot
) -> None:
    chat = fake.private_chat(ALICE)
    fake.fail("sendMessage", times=1, status=429, retry_after=3)
    fake.fail("sendMessage", times=1, status=502)
    with pytest.raises(RetryAfter) as limited:
        await bot.send_message(chat.id, "one")
    wait = limited.value.retry_after
    assert (wait if isinstance(wait, int) else wait.total_seconds()) == 3
    with pytest.raises(NetworkError):
        await bot.send_message(chat.id, "two")
    await bot.send_message(chat.id, "three")
    assert [p["text"] for p in fake.sent_to(chat.id)] == ["three"]
    assert len(fake.calls_of("sendMessage", ok=False)) == 2


async def test_forum_topics_and_membership(fake: FakeTelegramApi, bot: Bot) -> None:
    mods = fake.add_chat(FakeChat(id=-1001, type="supergroup", title="Mods", is_forum=True))
    plain = fake.add_chat(FakeChat(id=-1002, type="supergroup", title="Plain"))
    fake.set_member(mods.id, ALICE, "administrator")
    topic = await bot.create_forum_topic(mods.id, "case 1")
    await bot.send_message(mods.id, "ping", message_thread_id=topic.message_thread_id)
    assert fake.sent_to(mods.id, thread_id=topic.message_thread_id)
    with pytest.raises(BadRequest):
        await bot.create_forum_topic(plain.id, "case 2")
    assert (await bot.get_chat_member(mods.id, ALICE.id)).status == "administrator"
    assert (await bot.get_chat_member(mods.id, 7)).status == "left"
    info = await bot.get_chat(mods.id)
    assert info.is_forum


async def test_callback_queries_and_attachments_parse(fake: FakeTelegramApi, bot: Bot) -> None:
    chat = fake.private_chat(ALICE)
    sent = await bot.send_message(chat.id, "choose")
    fake.press_button(ALICE, fake.sent_message(chat.id, sent.message_id), "x:a|b")
    fake.send_attachment(chat, ALICE, "sticker")
    fake.send_attachment(chat, ALICE, "voice")
    updates = await bot.get_updates(timeout=0)
    assert updates[0].callback_query is not None
    assert updates[0].callback_query.data == "x:a|b"
    assert updates[1].message is not None and updates[1].message.sticker is not None
    assert updates[2].message is not None and updates[2].message.voice is not None
