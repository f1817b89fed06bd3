"""Discord events become the right core messages, and only the right people get through."""

from __future__ import annotations

import asyncio
from pathlib import Path

import discord
import pytest

from bot.adapters.discord_receive import DiscordAdapter
from bot.adapters.discord_send import DiscordSender
from bot.config import DiscordSettings
from bot.core.identity import pseudonymise
from bot.core.messages import ChatRef, Inbound, Outcome, Reply
from tests.fakes.core import FakeCore
from tests.fakes.discord_fakes import FakeDiscord, FakeGuild, FakeInteraction, FakeMessage

ROOT = Path(__file__).resolve().parents[2]
SERVER = FakeGuild(1)
BOT_ID = 999


@pytest.fixture
def world() -> FakeDiscord:
    return FakeDiscord()


@pytest.fixture
def core() -> FakeCore:
    return FakeCore(answer=Outcome(), pepper=b"pepper")


def make_adapter(
    core: FakeCore, world: FakeDiscord, mods: int | None, role: int | None = None
) -> DiscordAdapter:
    settings = DiscordSettings(moderator_channel_id=mods, moderator_role_id=role)
    sender = DiscordSender(world, core.texts, attempts=2, backoff=0)
    return DiscordAdapter(core, settings, sender, world, bot_id=BOT_ID)


async def test_a_dm_becomes_a_private_inbound_with_a_pseudonymous_user(
    core: FakeCore, world: FakeDiscord
) -> None:
    alice = world.user(42, "Alice")
    dm = world.dm(alice)
    core.answer = Outcome(replies=(Reply(ChatRef("discord", str(dm.id)), "Hello there."),))
    adapter = make_adapter(core, world, None)
    await adapter.on_message(FakeMessage(dm, alice, "i feel awful"))
    [inbound] = core.inbound
    assert inbound.chat == ChatRef("discord", str(dm.id))
    assert inbound.user == pseudonymise(b"pepper", "discord", "42") != "42"
    assert (inbound.text, inbound.is_private, inbound.community) == ("i feel awful", True, None)
    assert world.texts_to(dm) == ["Hello there."]


async def test_dm_attachments_mentions_and_bots(core: FakeCore, world: FakeDiscord) -> None:
    alice = world.user(42, "Alice")
    dm = world.dm(alice)
    adapter = make_adapter(core, world, None)
    await adapter.on_message(FakeMessage(dm, alice, "", attachments=[object()]))
    await adapter.on_message(FakeMessage(dm, alice, f"<@{BOT_ID}> /help"))
    await adapter.on_message(FakeMessage(dm, alice, ""))  # a service message: no answer
    other_bot = world.user(6, "Bot")
    other_bot.bot = True
    await adapter.on_message(FakeMessage(dm, other_bot, "hi"))
    assert [(i.text, i.attachment) for i in core.inbound] == [("", "file"), ("/help", None)]


async def test_server_messages_are_not_private_and_name_their_channel(
    core: FakeCore, world: FakeDiscord
) -> None:
    alice = world.user(42, "Alice").as_member(SERVER)
    general = world.channel(SERVER)
    thread = world.channel(SERVER, parent_id=general.id)
    adapter = make_adapter(core, world, None)
    await adapter.on_message(FakeMessage(general, alice, "honestly"))
    await adapter.on_message(FakeMessage(thread, alice, "in a thread"))
    first, second = core.inbound
    assert (first.is_private, first.community, first.chat.chat_id) == (
        False,
        str(general.id),
        str(general.id),
    )
    assert (second.community, second.chat.chat_id) == (str(general.id), str(thread.id))


async def test_only_server_managers_switch_watching(core: FakeCore, world: FakeDiscord) -> None:
    general = world.channel(SERVER)
    member = world.user(42, "Alice").as_member(SERVER)
    admin = world.user(5, "Ada").as_member(SERVER, admin=True)
    adapter = make_adapter(core, world, None)
    await adapter.on_message(FakeMessage(general, member, "/signpost_watch on"))
    await adapter.on_message(FakeMessage(general, admin, "/signpost_watch on"))
    await adapter.on_message(FakeMessage(general, admin, "/signpost_watch off"))
    thread = world.channel(SERVER, parent_id=general.id)
    await adapter.on_message(FakeMessage(thread, admin, "/signpost_watch on"))
    assert [(community, text) for _, community, text in core.admin] == [
        (str(general.id), "/signpost_watch on"),
        (str(general.id), "/signpost_watch off"),
        (str(general.id), "/signpost_watch on"),  # a thread shares its channel's watch
    ]
    assert world.texts_to(general) == [
        core.texts.get("group.admins_only"),
        core.texts.get("group.watch_on"),
        core.texts.get("group.watch_off"),
    ]
    assert core.inbound == []  # the command itself is never assessed


async def test_a_dm_button_press_is_acknowledged_and_passed_on_as_is(
    core: FakeCore, world: FakeDiscord
) -> None:
    alice = world.user(42, "Alice")
    dm = world.dm(alice)
    adapter = make_adapter(core, world, None)
    press = FakeInteraction(alice, dm, {"custom_id": "/breathe|abcdefghijklmnop"})
    await adapter.on_interaction(press)
    assert press.response.deferred is not None
    [inbound] = core.inbound
    assert (inbound.button, inbound.text, inbound.is_private) == (
        "/breathe|abcdefghijklmnop",
        "",
        True,
    )
    # other interaction types (slash commands, autocomplete) are not buttons
    await adapter.on_interaction(
        FakeInteraction(alice, dm, {"name": "x"}, type=discord.InteractionType.application_command)
    )
    assert len(core.inbound) == 1


async def test_case_buttons_go_to_the_moderator_path_with_who_may_see_the_room(
    core: FakeCore, world: FakeDiscord
) -> None:
    mods = world.channel(SERVER, viewers={7})
    thread = world.channel(SERVER, parent_id=mods.id)
    mo = world.user(7, "Mo").as_member(SERVER)
    rando = world.user(99, "Rando").as_member(SERVER)
    stranger = world.user(7, "Mo")  # same person, but not as a member of the server
    core.answer = Outcome(ack="You've claimed this case.")
    adapter = make_adapter(core, world, mods.id)
    presses = [
        FakeInteraction(mo, mods, {"custom_id": "c:1:claim|sig"}),
        FakeInteraction(rando, mods, {"custom_id": "c:1:claim|sig"}),
        FakeInteraction(mo, thread, {"custom_id": "c:1:resolve|sig"}),
        FakeInteraction(stranger, mods, {"custom_id": "c:1:claim|sig"}),
    ]
    for press in presses:
        await adapter.on_interaction(press)
    assert [(e.payload, e.is_moderator) for e in core.moderator] == [
        ("c:1:claim|sig", True),
        ("c:1:claim|sig", False),
        ("c:1:resolve|sig", True),
        ("c:1:claim|sig", False),
    ]
    assert core.moderator[0].moderator == pseudonymise(b"pepper", "discord", "7")
    assert core.moderator[0].moderator_name == "Mo"
    assert all(p.ephemeral == ["You've claimed this case."] for p in presses)
    assert core.inbound == []


async def test_with_a_moderator_role_only_its_members_are_moderators(
    core: FakeCore, world: FakeDiscord
) -> None:
    mods = world.channel(SERVER, viewers={7, 8})
    adapter = make_adapter(core, world, mods.id, role=77)
    assert adapter.is_moderator(world.user(8, "Vi").as_member(SERVER, role=77))
    assert not adapter.is_moderator(world.user(7, "Mo").as_member(SERVER))
    assert not adapter.is_moderator(world.user(8, "Vi").as_member(FakeGuild(2), role=77))


async def test_moderator_text_only_in_a_case_thread(core: FakeCore, world: FakeDiscord) -> None:
    mods = world.channel(SERVER, viewers={7})
    case_thread = world.channel(SERVER, parent_id=mods.id)
    chat_thread = world.channel(SERVER, parent_id=mods.id)
    core.threads[str(case_thread.id)] = "case1"
    core.answer = Outcome(ack=core.texts.get("moderators.ack.not_claimed_by_you"))
    mo = world.user(7, "Mo").as_member(SERVER)
    adapter = make_adapter(core, world, mods.id)
    await adapter.on_message(FakeMessage(mods, mo, "anyone free?"))
    await adapter.on_message(FakeMessage(chat_thread, mo, "just us here"))
    said = FakeMessage(case_thread, mo, "I'm here")
    await adapter.on_message(said)
    [event] = core.moderator
    assert (event.case_id, event.text, event.is_moderator) == ("case1", "I'm here", True)
    [ack] = world.sent_to(case_thread)
    assert ack.content == core.texts.get("moderators.ack.not_claimed_by_you")
    assert ack.reference is not None and ack.reference.message_id == said.id
    assert core.inbound == []  # moderators' talk is never read as a person's message


async def test_a_server_button_opens_the_dm_itself(core: FakeCore, world: FakeDiscord) -> None:
    general = world.channel(SERVER)
    alice = world.user(42, "Alice").as_member(SERVER)
    dm = world.dm(alice)
    core.answer = Outcome(replies=(Reply(ChatRef("discord", str(dm.id)), "Welcome."),))
    adapter = make_adapter(core, world, None)
    press = FakeInteraction(alice, general, {"custom_id": "/start|sig"})
    await adapter.on_interaction(press)
    [inbound] = core.inbound
    assert (inbound.chat.chat_id, inbound.is_private, inbound.button) == (
        str(dm.id),
        True,
        "/start|sig",
    )
    assert world.texts_to(dm) == ["Welcome."]
    assert world.sent_to(general) == []  # nothing more is said in the channel
    assert press.ephemeral == [core.texts.get("discord.dm_sent")]

    world.closed_dms.add(42)
    closed = FakeInteraction(alice, general, {"custom_id": "/start|sig"})
    await adapter.on_interaction(closed)
    assert closed.ephemeral == [core.texts.get("discord.dm_closed")]


async def test_messages_of_one_channel_reach_the_core_in_order(
    core: FakeCore, world: FakeDiscord
) -> None:
    """discord.py handles each event in its own task: the adapter keeps one chat in order."""
    alice, bob = world.user(42, "Alice"), world.user(43, "Bob")
    dm_alice, dm_bob = world.dm(alice), world.dm(bob)
    gate = asyncio.Event()
    order: list[str] = []

    async def slow_handle(inbound: Inbound) -> Outcome:
        order.append(f"start {inbound.text}")
        if inbound.text == "first":
            await gate.wait()
        order.append(f"end {inbound.text}")
        return Outcome()

    core.handle = slow_handle  # type: ignore[method-assign]
    adapter = make_adapter(core, world, None)
    first = asyncio.create_task(adapter.on_message(FakeMessage(dm_alice, alice, "first")))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(adapter.on_message(FakeMessage(dm_alice, alice, "second")))
    other = asyncio.create_task(adapter.on_message(FakeMessage(dm_bob, bob, "other chat")))
    await other  # another chat is not held up
    await asyncio.sleep(0.01)
    assert order == ["start first", "start other chat", "end other chat"]
    gate.set()
    await asyncio.gather(first, second)
    assert order[3:] == ["end first", "start second", "end second"]


async def test_an_edited_dm_is_read_again_but_not_an_edit_in_the_moderators_room(
    core: FakeCore, world: FakeDiscord
) -> None:
    alice = world.user(42, "Alice")
    dm = world.dm(alice)
    mods = world.channel(SERVER, viewers={7})
    case_thread = world.channel(SERVER, parent_id=mods.id)
    core.threads[str(case_thread.id)] = "case1"
    mo = world.user(7, "Mo").as_member(SERVER)
    adapter = make_adapter(core, world, mods.id)
    await adapter.on_edit(FakeMessage(dm, alice, "i'm fine"), FakeMessage(dm, alice, "i'm not"))
    await adapter.on_edit(FakeMessage(dm, alice, "same"), FakeMessage(dm, alice, "same"))
    await adapter.on_edit(
        FakeMessage(case_thread, mo, "hi"), FakeMessage(case_thread, mo, "hi there")
    )
    assert [i.text for i in core.inbound] == ["i'm not"]
    assert core.moderator == []
