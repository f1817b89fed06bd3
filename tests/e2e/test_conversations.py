"""Whole conversations as data (tests/data/conversations.yml), played as a person would with
the real trained model: on the terminal chat (`ConsoleChat`, what `signpost chat` runs) and on
Telegram (the real python-telegram-bot adapter against the fake Bot API on 127.0.0.1).

Each turn states the properties the bot's answer must have (see the file's header): the
emergency number, the buttons, a case opened, not the previous answer again, and so on.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import pytest
import yaml

from bot.adapters.console import ConsoleChat
from bot.app import App, build
from bot.config import Settings
from bot.content import ContentPaths
from bot.core.identity import pseudonymise
from bot.core.messages import ModeratorInbound
from bot.core.ports import NluEngine
from bot.core.texts import Texts
from bot.nlu.engine import load_engine
from tests.conftest import ROOT, RecordingSink, model_cache_dir
from tests.e2e import test_telegram_cases as tc
from tests.fakes.telegram_api import FakeChat, FakeTelegramApi

pytestmark = pytest.mark.slow

SCENARIOS: list[dict[str, Any]] = yaml.safe_load(
    (ROOT / "tests" / "data" / "conversations.yml").read_text(encoding="utf-8")
)
KNOWN = {
    "key",
    "not_key",
    "emergency",
    "emergency_of",
    "buttons",
    "not_buttons",
    "contains",
    "not_contains",
    "new",
    "question",
    "case",
    "max_chars",
    "silent",
}
_BUTTONS = re.compile(r"\[(\d+)\] (.+?)(?=\s{3}\[\d+\]|$)")


@dataclass
class Answer:
    text: str
    buttons: list[str] = field(default_factory=list)


class Place(Protocol):
    app: App

    async def set_region(self, code: str) -> None: ...

    async def say(self, text: str, *, silent: bool = False) -> Answer: ...

    async def press(self, label: str) -> Answer: ...

    async def case_open(self) -> bool: ...

    async def moderator(self, action: str) -> None:
        """A moderator presses Claim ("claim") or Resolve ("resolve") on the person's case."""
        ...


class OnTerminal:
    """The terminal chat, turn by turn, reading exactly what it prints."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.out = io.StringIO()
        self.chat = ConsoleChat(app, self.out, interactive=False)
        self.sink = RecordingSink("console")  # a moderators' room for the terminal
        app.register_sink(self.sink)

    async def set_region(self, code: str) -> None:
        await self.chat.set_region(code)

    async def say(self, text: str, *, silent: bool = False) -> Answer:
        start = len(self.out.getvalue())
        outcome = await self.app.handle(self.chat.inbound_for(text))
        self.chat.show(outcome.replies)
        printed = self.out.getvalue()[start:]
        buttons: list[str] = []
        lines = []
        for line in printed.splitlines():
            found = _BUTTONS.findall(line)
            if found and line.startswith("[1]"):
                buttons.extend(label.strip() for _, label in found)
            else:
                lines.append(line)
        return Answer("\n".join(lines).strip(), buttons)

    async def press(self, label: str) -> Answer:
        labels = [b.label for b in self.chat.buttons]
        assert label in labels, f"no button {label!r} in {labels}"
        return await self.say(str(labels.index(label) + 1))

    async def case_open(self) -> bool:
        state = await self.app.store.load_conversation(f"console:{self.chat.user}")
        return state.open_case_id is not None

    async def moderator(self, action: str) -> None:
        await self.app.dispatcher.deliver_due()
        ping = next(n for n, _ in reversed(self.sink.notices) if n.buttons)
        button = ping.buttons[0 if action == "claim" else 1]
        event = ModeratorInbound(
            platform="console",
            moderator="mod-1",
            moderator_name="Mo",
            received_at=datetime.now(UTC),
            is_moderator=True,
            payload=button.payload,
        )
        assert (await self.app.handle_moderator(event)).ack


class OnTelegram:
    """A private chat with the bot on Telegram; the moderators' room is a forum supergroup."""

    def __init__(self, app: App, api: FakeTelegramApi) -> None:
        self.app, self.api = app, api
        self.chat = api.private_chat(tc.ALICE)
        self.user = pseudonymise(app.pepper, "telegram", str(tc.ALICE.id))

    async def set_region(self, code: str) -> None:
        await self.app.set_region("telegram", self.user, code)

    async def _answer(self, before: int, *, silent: bool = False) -> Answer:
        if silent:  # nothing may come: give the bot time to (wrongly) answer
            await asyncio.sleep(1.5)
            sent = self.api.sent_to(tc.ALICE.id)[before:]
            return Answer("\n\n".join(str(p["text"]) for p in sent))
        await self.api.wait_for_messages(tc.ALICE.id, before + 1, 20)
        count = -1
        while count != len(self.api.sent_to(tc.ALICE.id)):  # until the bot has said it all
            count = len(self.api.sent_to(tc.ALICE.id))
            await asyncio.sleep(0.6)
        sent = self.api.sent_to(tc.ALICE.id)[before:]
        buttons = [
            button["text"]
            for params in sent
            for row in (params.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
        ]
        return Answer("\n\n".join(str(p["text"]) for p in sent), buttons)

    async def say(self, text: str, *, silent: bool = False) -> Answer:
        before = len(self.api.sent_to(tc.ALICE.id))
        self.api.send_text(self.chat, tc.ALICE, text)
        return await self._answer(before, silent=silent)

    async def press(self, label: str) -> Answer:
        data = None
        for params in reversed(self.api.sent_to(tc.ALICE.id)):
            for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label and data is None:
                        data = button["callback_data"]
            if data is not None:
                break
        assert data is not None, f"no button {label!r}"
        before = len(self.api.sent_to(tc.ALICE.id))
        self.api.press_button(tc.ALICE, self.api.last_sent_message(tc.ALICE.id), data)
        return await self._answer(before)

    async def case_open(self) -> bool:
        state = await self.app.store.load_conversation(f"telegram:{self.user}")
        return state.open_case_id is not None

    async def moderator(self, action: str) -> None:
        api = self.api
        await api.wait_until(lambda: any("reply_markup" in p for p in api.sent_to(tc.MODS_ID)), 15)
        params = next(p for p in api.sent_to(tc.MODS_ID) if "reply_markup" in p)
        ping = next(
            m
            for (chat, _), m in api._state.messages.items()
            if chat == tc.MODS_ID and m.get("text") == params["text"]
        )
        claim, resolve, _ = tc.buttons(params)
        before = len(api.sent_to(tc.ALICE.id))
        await tc.press(api, tc.MOD, ping, claim if action == "claim" else resolve)
        await api.wait_for_messages(
            tc.ALICE.id, before + 1, 15
        )  # "a moderator has joined" / "left"


@pytest.fixture(scope="module")
def engine() -> NluEngine:
    # the model `make train` / `signpost nlu train` left in the cache (trained here if absent)
    return load_engine(ROOT / "nlu", model_cache_dir())


@contextlib.asynccontextmanager
async def place(platform: str, settings: Settings, engine: NluEngine) -> AsyncIterator[Place]:
    if platform == "terminal":
        app = await build(settings, nlu=engine, content=ContentPaths(ROOT))
        try:
            yield OnTerminal(app)
        finally:
            await app.close()
        return
    async with FakeTelegramApi() as api:
        api.add_chat(FakeChat(tc.MODS_ID, "supergroup", "Moderators", is_forum=True))
        api.private_chat(tc.ALICE)
        api.set_member(tc.MODS_ID, tc.MOD, "member")
        async with tc.signpost(settings, engine, api) as app:  # type: ignore[arg-type]
            yield OnTelegram(app, api)


def fragment(texts: Texts, key: str) -> str:
    """The first sentence of a response, up to its first {field}: what must appear."""
    raw = texts.entries[key]
    template = raw if isinstance(raw, str) else raw[0]
    found = template.split("{", 1)[0].strip()
    assert len(found) >= 12, f"{key}: too little fixed text to recognise"
    return found


async def check(
    where: Place,
    texts: Texts,
    answer: Answer,
    previous: str,
    expect: dict[str, Any],
    region: str | None,
    label: str,
) -> None:
    unknown = set(expect) - KNOWN
    assert not unknown, f"{label}: unknown properties {unknown}"
    text, app = answer.text, where.app
    shown = f"{label}\n--- the bot said:\n{text}\n--- buttons: {answer.buttons}"
    for key in expect.get("key", []):
        assert fragment(texts, key) in text, f"{shown}\n--- missing {key}"
    for key in expect.get("not_key", []):
        assert fragment(texts, key) not in text, f"{shown}\n--- must not say {key}"
    if expect.get("emergency"):
        number = app.signposts.emergency(region)
        assert number in text, f"{shown}\n--- no emergency number {number}"
    if "emergency_of" in expect:
        number = app.signposts.emergency(expect["emergency_of"])
        assert number in text, f"{shown}\n--- no emergency number {number}"
    for label_ in expect.get("buttons", []):
        assert label_ in answer.buttons, f"{shown}\n--- no button {label_}"
    for label_ in expect.get("not_buttons", []):
        assert label_ not in answer.buttons, f"{shown}\n--- button {label_}"
    for part in expect.get("contains", []):
        assert part in text, f"{shown}\n--- missing {part!r}"
    for part in expect.get("not_contains", []):
        assert part not in text, f"{shown}\n--- must not contain {part!r}"
    if expect.get("new"):
        assert text != previous, f"{shown}\n--- the same answer again"
    if expect.get("question"):
        assert "?" in text, f"{shown}\n--- asks nothing"
    if "case" in expect:
        assert await where.case_open() == expect["case"], f"{shown}\n--- case {expect['case']}"
    if expect.get("silent"):
        assert not text, f"{shown}\n--- the bot should have stayed quiet"
    if "max_chars" in expect:
        assert len(text) <= expect["max_chars"], f"{shown}\n--- {len(text)} characters"


@pytest.mark.parametrize("platform", ["terminal", "telegram"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
async def test_conversation(
    scenario: dict[str, Any], platform: str, settings: Settings, engine: NluEngine
) -> None:
    async with place(platform, settings, engine) as where:
        texts = where.app.texts
        region = scenario.get("region")
        if region:
            await where.set_region(region)
        previous = ""
        for number, turn in enumerate(scenario["turns"], 1):
            if "moderator" in turn:
                await where.moderator(turn["moderator"])
                continue
            if "press" in turn:
                answer = await where.press(turn["press"])
                said = f"[{turn['press']}]"
            else:
                silent = bool(turn.get("expect", {}).get("silent"))
                answer = await where.say(turn["say"], silent=silent)
                said = turn["say"]
            label = f"{scenario['name']} / turn {number}: {said!r}"
            await check(where, texts, answer, previous, turn.get("expect", {}), region, label)
            previous = answer.text
            state = await _region_after(where)
            region = state or region


async def _region_after(where: Place) -> str | None:
    key = (
        f"console:{where.chat.user}" if isinstance(where, OnTerminal) else f"telegram:{where.user}"  # type: ignore[attr-defined]
    )
    return (await where.app.store.load_conversation(key)).region


def test_every_scenario_property_is_known() -> None:
    for scenario in SCENARIOS:
        for turn in scenario["turns"]:
            assert set(turn.get("expect", {})) <= KNOWN, scenario["name"]
            assert sum(k in turn for k in ("say", "press", "moderator")) == 1, scenario["name"]


def test_scenarios_cover_issue_12() -> None:
    names = " ".join(s["name"] for s in SCENARIOS)
    for topic in (
        "asked if safe",
        "country typed",
        "overdose",
        "bleeding",
        "typed request for a person",
        "third-party",
        "step-down",
        "with a moderator",
        "exercises notice",
        "chest pain",
        "insults",
        "harassment",
        "another language",
        "means-safety",
    ):
        assert topic in names, topic
