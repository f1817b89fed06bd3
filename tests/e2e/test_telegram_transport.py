"""The Telegram adapter over HTTP, with a scripted core: what reaches the core, what reaches
Telegram, and that replies survive 429s and 5xx answers.

The real python-telegram-bot `Application` long-polls the fake Bot API server; only the core
is replaced, so these tests pin the translation and transport without depending on the NLU.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.config import TelegramSettings
from bot.core.messages import (
    Button,
    ChatRef,
    Inbound,
    Outcome,
    Reply,
    ReplyKind,
)
from tests.fakes.core import FakeCore
from tests.fakes.telegram_api import FakeChat, FakeTelegramApi, FakeUser, running_telegram

ALICE = FakeUser(id=42, first_name="Alice", language_code="de")
ADMIN = FakeUser(id=7, first_name="Ada")
MODS = FakeChat(id=-100500, type="supergroup", title="Mods", is_forum=True)
GROUP = FakeChat(id=-100600, type="supergroup", title="Community")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi() as api:
        api.add_chat(MODS)
        api.add_chat(GROUP)
        yield api


async def test_private_text_reaches_the_core_pseudonymised_and_the_reply_comes_back(
    fake: FakeTelegramApi,
) -> None:
    core = FakeCore()
    chat = fake.private_chat(ALICE)
    async with running_telegram(core, fake):
        fake.send_text(chat, ALICE, "/help@signpost_test_bot")
        [sent] = await fake.wait_for_messages(chat.id, 1)
    assert sent["text"] == "echo: /help"
    [inbound] = core.inbound
    assert inbound.is_private and inbound.community is None
    assert inbound.chat == ChatRef("telegram", str(ALICE.id))
    assert inbound.locale_hint == "de"
    assert str(ALICE.id) not in inbound.user and len(inbound.user) == 32
    # the command menu was published: everything for private chats, the switch for admins
    menus = {
        c.params["scope"]["type"]: c.params["commands"] for c in fake.calls_of("setMyCommands")
    }
    assert {c["command"] for c in menus["all_private_chats"]} >= {"start", "help", "forget"}
    assert [c["command"] for c in menus["all_chat_administrators"]] == [
        "signpost_watch",
        "signpost_region",
    ]


async def test_stickers_photos_and_voice_reach_the_core_as_attachments(
    fake: FakeTelegramApi,
) -> None:
    core = FakeCore()
    chat = fake.private_chat(ALICE)
    async with running_telegram(core, fake):
        for kind in ("sticker", "photo", "voice", "document"):
            fake.send_attachment(chat, ALICE, kind)
        sent = await fake.wait_for_messages(chat.id, 4)
    assert [m["text"] for m in sent] == [
        "echo: sticker",
        "echo: photo",
        "echo: voice",
        "echo: document",
    ]
    assert all(i.text == "" for i in core.inbound)


async def test_an_edited_message_is_read_again(fake: FakeTelegramApi) -> None:
    core = FakeCore()
    chat = fake.private_chat(ALICE)
    async with running_telegram(core, fake):
        original = fake.send_text(chat, ALICE, "I'm ok")
        await fake.wait_for_messages(chat.id, 1)
        fake.edit_text(original, "I'm not ok")
        sent = await fake.wait_for_messages(chat.id, 2)
    assert sent[-1]["text"] == "echo: I'm not ok"


async def test_long_reply_is_split_with_buttons_on_the_last_part(fake: FakeTelegramApi) -> None:
    paragraph = "A line of helpline details that is long enough to matter. " * 10
    core = FakeCore(
        answer="\n\n".join([paragraph.strip()] * 12), buttons=(Button("Helplines", "x:h|sig"),)
    )
    chat = fake.private_chat(ALICE)
    async with running_telegram(core, fake):
        fake.send_text(chat, ALICE, "/helplines")
        await fake.wait_until(lambda: any("reply_markup" in m for m in fake.sent_to(chat.id)))
    sent = fake.sent_to(chat.id)
    assert len(sent) == 2
    assert all(len(m["text"]) <= 4096 for m in sent)
    assert "reply_markup" not in sent[0]
    assert sent[1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "x:h|sig"


async def test_private_chat_buttons_become_deep_links(fake: FakeTelegramApi) -> None:
    core = FakeCore(buttons=(Button("Talk privately", "g:1|sig", opens_private_chat=True),))
    fake.set_member(GROUP.id, ALICE, "member")
    async with running_telegram(core, fake):
        fake.send_text(GROUP, ALICE, "hello all")
        [sent] = await fake.wait_for_messages(GROUP.id, 1)
    [inbound] = core.inbound
    assert not inbound.is_private and inbound.community == str(GROUP.id)
    button = sent["reply_markup"]["inline_keyboard"][0][0]
    assert button["url"] == "https://t.me/signpost_test_bot?start=help"


async def test_a_pressed_button_reaches_the_core_and_is_answered(fake: FakeTelegramApi) -> None:
    core = FakeCore(buttons=(Button("Next", "x:next|sig"),))
    chat = fake.private_chat(ALICE)
    async with running_telegram(core, fake):
        fake.send_text(chat, ALICE, "/breathe")
        await fake.wait_for_messages(chat.id, 1)
        message = fake.last_sent_message(chat.id)
        fake.press_button(ALICE, message, "x:next|sig")
        await fake.wait_until(lambda: bool(fake.calls_of("answerCallbackQuery")))
        await fake.wait_for_messages(chat.id, 2)
    assert core.inbound[-1].button == "x:next|sig"
    assert core.inbound[-1].locale_hint == "de"  # the presser's language, not the bot's


async def test_a_button_under_an_inaccessible_message_still_works(fake: FakeTelegramApi) -> None:
    core = FakeCore(buttons=(Button("Helplines", "x:h|sig"),))
    chat = fake.private_chat(ALICE)
    async with running_telegram(core, fake):
        fake.send_text(chat, ALICE, "/help")
        await fake.wait_for_messages(chat.id, 1)
        fake.press_button(ALICE, fake.last_sent_message(chat.id), "x:h|sig", inaccessible=True)
        sent = await fake.wait_for_messages(chat.id, 2)
    assert sent[-1]["text"] == "echo: x:h|sig"
    assert core.inbound[-1].chat == ChatRef("telegram", str(ALICE.id))


async def test_only_group_admins_can_switch_watching(fake: FakeTelegramApi) -> None:
    core = FakeCore()
    fake.set_member(GROUP.id, ADMIN, "administrator")
    fake.set_member(GROUP.id, ALICE, "member")
    async with running_telegram(core, fake):
        fake.send_text(GROUP, ALICE, "/signpost_watch on")
        await fake.wait_for_messages(GROUP.id, 1)
        fake.send_text(GROUP, ADMIN, "/signpost_watch@signpost_test_bot on")
        fake.send_text(GROUP, ADMIN, "/signpost_watch off")
        sent = await fake.wait_for_messages(GROUP.id, 3)
    assert [text for _, _, text in core.admin] == [
        "/signpost_watch on",
        "/signpost_watch off",
    ]
    assert core.groups.groups[("telegram", str(GROUP.id))].watched is False
    assert [m["text"] for m in sent] == [
        core.texts.get("group.admins_only"),
        core.texts.get("group.watch_on"),
        core.texts.get("group.watch_off"),
    ]
    assert core.inbound == []  # the command itself is not dialogue


async def test_429_is_waited_out_and_nothing_is_lost(fake: FakeTelegramApi) -> None:
    core = FakeCore()
    chat = fake.private_chat(ALICE)
    fake.fail("sendMessage", times=2, status=429, retry_after=1)
    async with running_telegram(core, fake):
        fake.send_text(chat, ALICE, "one")
        fake.send_text(chat, ALICE, "two")
        sent = await fake.wait_for_messages(chat.id, 2, timeout=15)
    assert [m["text"] for m in sent] == ["echo: one", "echo: two"]
    failed = fake.calls_of("sendMessage", ok=False)
    assert len(failed) == 2
    first_ok = fake.calls_of("sendMessage")[0]
    assert first_ok.at - failed[0].at >= 1.9  # waited retry_after twice


async def test_server_errors_are_retried_for_replies_and_polling(fake: FakeTelegramApi) -> None:
    core = FakeCore()
    chat = fake.private_chat(ALICE)
    fake.fail("sendMessage", times=2, status=500)
    fake.fail("sendMessage", times=1, status=502)
    fake.fail("getUpdates", times=2, status=502)
    fake.fail("answerCallbackQuery", times=1, status=500)
    async with running_telegram(core, fake):
        fake.send_text(chat, ALICE, "are you there")
        [sent] = await fake.wait_for_messages(chat.id, 1, timeout=20)
        fake.press_button(ALICE, fake.last_sent_message(chat.id), "x:a|b")
        await fake.wait_until(lambda: bool(fake.calls_of("answerCallbackQuery")), 20)
    assert sent["text"] == "echo: are you there"
    assert len(fake.calls_of("sendMessage", ok=False)) == 3
    assert len(fake.calls_of("getUpdates", ok=False)) == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _listening(port: int) -> None:
    """The webhook server starts just after registering; wait until it accepts connections."""
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise TimeoutError(f"nothing listening on {port}")


async def test_webhook_mode_accepts_only_telegram(fake: FakeTelegramApi) -> None:
    core = FakeCore()
    chat = fake.private_chat(ALICE)
    port = _free_port()
    url = f"https://signpost.example.org/tg-{port}"
    async with (
        running_telegram(
            core,
            fake,
            mode="webhook",
            webhook_url=url,
            webhook_port=port,
            webhook_path=f"tg-{port}",
            webhook_secret_token="s3cret",
        ),
        aiohttp.ClientSession() as http,
    ):
        [registered] = fake.calls_of("setWebhook")
        assert registered.params["url"] == url
        assert registered.params["secret_token"] == "s3cret"
        fake.send_text(chat, ALICE, "hello from the load balancer")
        local = f"http://127.0.0.1:{port}/tg-{port}"
        await _listening(port)
        forged = await http.post(
            local, json=fake.last_update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        )
        assert forged.status == 403
        ok = await http.post(
            local, json=fake.last_update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        )
        assert ok.status == 200
        # recorded in the inbox before Telegram heard 200
        assert fake.last_update["update_id"] in core.inbox
        [sent] = await fake.wait_for_messages(chat.id, 1)
        again = await http.post(  # Telegram redelivers: recognised, not handled twice
            local, json=fake.last_update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        )
        assert again.status == 200
        await asyncio.sleep(0.3)
    assert sent["text"] == "echo: hello from the load balancer"
    assert [i.text for i in core.inbound] == ["hello from the load balancer"]
    assert core.inbox[fake.last_update["update_id"]] is None, "handled: the text is wiped"


async def test_a_rate_limited_chat_does_not_hold_up_other_chats(fake: FakeTelegramApi) -> None:
    core = FakeCore()
    bob = FakeUser(id=43, first_name="Bob")
    slow, other = fake.private_chat(ALICE), fake.private_chat(bob)
    fake.fail("sendMessage", times=1, status=429, retry_after=2, chat_id=slow.id)
    async with running_telegram(core, fake):
        fake.send_text(slow, ALICE, "first")
        fake.send_text(slow, ALICE, "second")
        fake.send_text(other, bob, "i need help")
        await fake.wait_for_messages(other.id, 1)
        assert fake.sent_to(slow.id) == []  # Alice's reply is still waiting out the 429
        sent = await fake.wait_for_messages(slow.id, 2)
    # ...and one chat's messages are still answered in the order they were written
    assert [m["text"] for m in sent] == ["echo: first", "echo: second"]


async def test_logs_hold_neither_the_token_nor_what_people_write(
    fake: FakeTelegramApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.INFO)
    chat = fake.private_chat(ALICE)
    fake.fail("sendMessage", times=1, status=500)
    async with running_telegram(FakeCore(), fake):
        fake.send_text(chat, ALICE, "my secret worry")
        await fake.wait_for_messages(chat.id, 1)
    assert caplog.records, "the adapter logs its life cycle"
    assert fake.token not in caplog.text
    assert fake.token.split(":")[1] not in caplog.text
    assert "secret worry" not in caplog.text


async def test_one_undeliverable_reply_does_not_stop_the_next(fake: FakeTelegramApi) -> None:
    chat = fake.private_chat(ALICE)
    core = FakeCore()

    async def two_replies(inbound: Inbound) -> Outcome:
        return Outcome(replies=(Reply(inbound.chat, "first"), Reply(inbound.chat, "helplines")))

    core.handle = two_replies  # type: ignore[method-assign]
    fake.fail("sendMessage", times=1, status=400)  # Telegram refuses the first one outright
    async with running_telegram(core, fake):
        fake.send_text(chat, ALICE, "hi")
        [sent] = await fake.wait_for_messages(chat.id, 1)
    assert sent["text"] == "helplines"


async def test_a_crisis_reply_outlasts_a_longer_outage(fake: FakeTelegramApi) -> None:
    chat = fake.private_chat(ALICE)
    core = FakeCore()

    async def crisis_then_chat(inbound: Inbound) -> Outcome:
        kind = ReplyKind.CRISIS if inbound.text == "crisis" else ReplyKind.MESSAGE
        return Outcome(replies=(Reply(inbound.chat, f"re: {inbound.text}", kind=kind),))

    core.handle = crisis_then_chat  # type: ignore[method-assign]
    attempts = TelegramSettings().send_attempts
    async with running_telegram(core, fake):
        fake.fail("sendMessage", times=attempts + 1, status=502)
        fake.send_text(chat, ALICE, "crisis")
        await fake.wait_for_messages(chat.id, 1, timeout=30)
        fake.fail("sendMessage", times=attempts + 1, status=502)
        fake.send_text(chat, ALICE, "chat")
        fake.send_text(chat, ALICE, "again")
        sent = await fake.wait_for_messages(chat.id, 2, timeout=30)
    # the crisis reply got through; an ordinary one gave up after `send_attempts` tries
    assert [m["text"] for m in sent] == ["re: crisis", "re: again"]
