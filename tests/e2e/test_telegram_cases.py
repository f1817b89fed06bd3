"""Signpost on Telegram end to end: the real `App` (SQLite or PostgreSQL), the real
python-telegram-bot `Application`, and a fake Bot API server on 127.0.0.1.

Only the risk judgement is scripted (ScriptedNlu), so each test states what it depends on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from bot.app import App, build
from bot.config import Settings
from bot.content import ContentPaths
from bot.core.risk import RiskLevel
from tests.conftest import ROOT, ScriptedNlu
from tests.fakes.telegram_api import (
    FakeChat,
    FakeTelegramApi,
    FakeUser,
    JsonDict,
    running_telegram,
)
from tests.support import group_concern

ALICE = FakeUser(id=42, first_name="Alice")
MOD = FakeUser(id=7, first_name="Mo")
OUTSIDER = FakeUser(id=99, first_name="Rando")
ADMIN = FakeUser(id=5, first_name="Ada")
MODS_ID = -100500
GROUP = FakeChat(id=-100600, type="supergroup", title="Community")

CRISIS = "i don't want to be alive anymore"


@contextlib.asynccontextmanager
async def signpost(
    settings: Settings, nlu: ScriptedNlu, fake: FakeTelegramApi, url: str | None = None
) -> AsyncIterator[App]:
    """One Signpost process: App + its background work (outbox, ladder) + the Telegram adapter."""
    app = await build(settings, nlu=nlu, content=ContentPaths(ROOT), database_url=url)
    stop = asyncio.Event()
    background = asyncio.create_task(app.run_background(stop))
    try:
        async with running_telegram(app, fake, moderator_chat_id=MODS_ID):
            yield app
    finally:
        stop.set()
        await background
        await app.close()


@pytest.fixture(params=["forum", "plain"])
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeTelegramApi]:
    """The moderators' supergroup with forum topics, and a plain one (reply threads)."""
    async with FakeTelegramApi() as api:
        api.add_chat(
            FakeChat(MODS_ID, "supergroup", "Moderators", is_forum=request.param == "forum")
        )
        api.add_chat(GROUP)
        api.private_chat(ALICE)
        api.set_member(MODS_ID, MOD, "member")
        api.set_member(MODS_ID, ADMIN, "administrator")
        api.set_member(GROUP.id, ADMIN, "administrator")
        api.set_member(GROUP.id, ALICE, "member")
        yield api


def is_forum(fake: FakeTelegramApi) -> bool:
    return bool(fake.calls_of("createForumTopic"))


def in_case(fake: FakeTelegramApi, thread: int) -> Callable[[], list[JsonDict]]:
    """Messages the bot posted for one case: in its topic, or replying to its ping."""

    def messages() -> list[JsonDict]:
        return [
            p
            for p in fake.sent_to(MODS_ID)
            if p.get("message_thread_id") == thread
            or (p.get("reply_parameters") or {}).get("message_id") == thread
            or p.get("_ping") == thread
        ]

    return messages


async def open_case(fake: FakeTelegramApi, nlu: ScriptedNlu) -> tuple[JsonDict, int]:
    """Alice writes a crisis message; returns the ping message and the case's thread id."""
    nlu.say(CRISIS, RiskLevel.HIGH)
    fake.send_text(fake.private_chat(ALICE), ALICE, CRISIS)
    await fake.wait_until(lambda: any("reply_markup" in p for p in fake.sent_to(MODS_ID)), 15)
    ping_params = next(p for p in fake.sent_to(MODS_ID) if "reply_markup" in p)
    ping = fake.last_sent_message(MODS_ID)
    thread = ping_params.get("message_thread_id") or ping["message_id"]
    return ping, int(thread)


def buttons(message: JsonDict) -> list[str]:
    return [row[0]["callback_data"] for row in message["reply_markup"]["inline_keyboard"]]


async def press(
    fake: FakeTelegramApi, who: FakeUser, message: JsonDict, data: str, inaccessible: bool = False
) -> str:
    """Press a button and return the text of the callback answer the presser sees."""
    query = fake.press_button(who, message, data, inaccessible=inaccessible)
    await fake.wait_until(
        lambda: any(
            c.params.get("callback_query_id") == query for c in fake.calls_of("answerCallbackQuery")
        ),
        15,
    )
    answer = next(
        c
        for c in fake.calls_of("answerCallbackQuery")
        if c.params.get("callback_query_id") == query
    )
    return str(answer.params.get("text", ""))


def texts_to(fake: FakeTelegramApi, chat_id: int) -> list[str]:
    return [p["text"] for p in fake.sent_to(chat_id)]


async def moderator_says(fake: FakeTelegramApi, text: str, thread: int) -> None:
    mods = FakeChat(MODS_ID, "supergroup", "Moderators", is_forum=is_forum(fake))
    if is_forum(fake):
        fake.send_text(mods, MOD, text, thread_id=thread)
    else:
        fake.send_text(mods, MOD, text, reply_to=fake.sent_message(MODS_ID, thread))


async def test_forged_replayed_and_outsider_presses_change_nothing(
    settings: Settings, nlu: ScriptedNlu, fake: FakeTelegramApi
) -> None:
    async with signpost(settings, nlu, fake) as app:
        ping, _ = await open_case(fake, nlu)
        claim, resolve, _ = buttons(ping)
        told_before = len(texts_to(fake, ALICE.id))

        # someone who is not in the moderators' group presses Claim (e.g. a forwarded ping)
        outsider = await press(fake, OUTSIDER, ping, claim)
        assert outsider == app.texts.get("moderators.ack.not_moderator")
        # a payload edited to claim another case, and one with a made-up signature
        body, sig = claim.split("|")
        forged_case = await press(
            fake, MOD, ping, body.replace(body.split(":")[1], "0" * 10) + "|" + sig
        )
        forged_sig = await press(fake, MOD, ping, body + "|" + "A" * 16)
        assert forged_case == forged_sig == app.texts.get("moderators.ack.invalid")
        assert len(texts_to(fake, ALICE.id)) == told_before  # nobody "joined"

        # the real moderator can still claim (even once Telegram stops showing the bot the
        # ping, e.g. days later); a replayed claim and a replayed resolve do nothing
        assert await press(fake, MOD, ping, claim, inaccessible=True) == app.texts.get(
            "moderators.ack.claimed"
        )
        assert await press(fake, ADMIN, ping, claim) == app.texts.get(
            "moderators.ack.already_taken", moderator="Mo"
        )
        assert await press(fake, MOD, ping, resolve) == app.texts.get("moderators.ack.resolved")
        assert await press(fake, MOD, ping, resolve) == app.texts.get("moderators.ack.closed")
        await fake.wait_until(lambda: app.texts.get("human.resolved") in texts_to(fake, ALICE.id))
        await asyncio.sleep(0.3)
        person_saw = texts_to(fake, ALICE.id)[told_before:]
        assert person_saw == [
            app.texts.get("human.claimed", moderator="Mo"),
            app.texts.get("human.resolved"),
        ]


async def test_a_watched_group_at_high_risk(
    settings: Settings, nlu: ScriptedNlu, fake: FakeTelegramApi
) -> None:
    nlu.say("honestly i just want to die", RiskLevel.HIGH)
    async with signpost(settings, nlu, fake) as app:
        # not watched yet: the bot says nothing
        fake.send_text(GROUP, ALICE, "honestly i just want to die")
        fake.send_text(GROUP, ADMIN, "/signpost_watch on")
        await fake.wait_for_messages(GROUP.id, 1)
        assert texts_to(fake, GROUP.id) == [app.texts.get("group.watch_on")]
        # ordinary talk: no lecture
        fake.send_text(GROUP, ALICE, "this homework is killing me lol")
        fake.send_text(GROUP, ALICE, "honestly i just want to die")
        await fake.wait_for_messages(GROUP.id, 2)
        reply = fake.sent_to(GROUP.id)[-1]
        assert reply["text"] == group_concern(app.texts, app.signposts.emergency(None))
        assert "honestly" not in reply["text"]
        link = reply["reply_markup"]["inline_keyboard"][0][0]
        assert link["url"] == "https://t.me/signpost_test_bot?start=help"
        # and the moderators got a case
        await fake.wait_until(lambda: any("reply_markup" in p for p in fake.sent_to(MODS_ID)))
        ping = fake.last_sent_message(MODS_ID)
        assert "risk: high" in ping["text"]

        # Alice follows the link: Telegram sends "/start help" in a new private chat
        fake.send_text(fake.private_chat(ALICE), ALICE, "/start help")
        await fake.wait_for_messages(ALICE.id, 1)
        # a moderator claims: Alice hears it privately, the group hears nothing more
        claim = buttons(ping)[0]
        assert await press(fake, MOD, ping, claim) == app.texts.get("moderators.ack.claimed")
        joined = app.texts.get("human.claimed", moderator="Mo")
        await fake.wait_until(lambda: joined in texts_to(fake, ALICE.id))
        await asyncio.sleep(0.3)
        assert len(fake.sent_to(GROUP.id)) == 2  # exactly one answer in the group


async def test_restart_in_the_middle_of_a_claimed_case(
    settings: Settings, nlu: ScriptedNlu, fake: FakeTelegramApi, db_url: str
) -> None:
    """SQLite file and PostgreSQL: the case, its topic and the claim outlive the process."""
    url = db_url
    async with signpost(settings, nlu, fake, url) as app:
        ping, thread = await open_case(fake, nlu)
        claim, resolve, _ = buttons(ping)
        assert await press(fake, MOD, ping, claim) == app.texts.get("moderators.ack.claimed")
        await fake.wait_until(
            lambda: any("claimed by Mo" in p["text"] for p in in_case(fake, thread)())
        )

    # the process is gone; Alice writes meanwhile; a new process starts
    fake.send_text(fake.private_chat(ALICE), ALICE, "are you still there?")
    async with signpost(settings, nlu, fake, url) as app:
        await fake.wait_until(
            lambda: any("still there" in p["text"] for p in in_case(fake, thread)()), 15
        )
        await moderator_says(fake, "Yes, still here.", thread)
        relayed = app.texts.get("human.relay", moderator="Mo", text="Yes, still here.")
        await fake.wait_until(lambda: relayed in texts_to(fake, ALICE.id))
        assert await press(fake, MOD, ping, resolve) == app.texts.get("moderators.ack.resolved")
        await fake.wait_until(lambda: app.texts.get("human.resolved") in texts_to(fake, ALICE.id))
    assert len(fake.topics) == (1 if is_forum(fake) else 0)


async def test_pings_survive_429_and_5xx(
    settings: Settings, nlu: ScriptedNlu, fake: FakeTelegramApi
) -> None:
    fake.fail("createForumTopic", times=1, status=500)
    fake.fail("getChat", times=1, status=502)
    async with signpost(settings, nlu, fake) as app:
        fake.fail("sendMessage", times=1, status=429, retry_after=1)
        fake.fail("sendMessage", times=2, status=502)
        ping, _ = await open_case(fake, nlu)
        await asyncio.sleep(1.5)  # let the outbox try again if it wanted to
        assert texts_to(fake, ALICE.id)[0].startswith(app.texts.lines("crisis.high")[0])
        assert buttons(ping)
    pings = [p for p in fake.sent_to(MODS_ID) if "reply_markup" in p]
    assert len(pings) == 1, "a retried ping is never posted twice"
    assert len(fake.topics) == (1 if is_forum(fake) else 0)


async def test_a_forum_where_the_bot_may_not_create_topics(
    settings: Settings, nlu: ScriptedNlu
) -> None:
    """A common set-up slip: the ping still arrives, and replies to it reach the person."""
    async with FakeTelegramApi() as fake:
        mods = fake.add_chat(FakeChat(MODS_ID, "supergroup", "Moderators", is_forum=True))
        fake.set_member(MODS_ID, MOD, "member")
        fake.fail("createForumTopic", times=100, status=400)
        async with signpost(settings, nlu, fake) as app:
            ping, _ = await open_case(fake, nlu)
            assert "message_thread_id" not in fake.sent_to(MODS_ID)[0]
            claim = buttons(ping)[0]
            assert await press(fake, MOD, ping, claim) == app.texts.get("moderators.ack.claimed")
            fake.send_text(mods, MOD, "Hi, I'm here with you.", reply_to=ping)
            relayed = app.texts.get("human.relay", moderator="Mo", text="Hi, I'm here with you.")
            await fake.wait_until(lambda: relayed in texts_to(fake, ALICE.id))
        assert fake.topics == {}
