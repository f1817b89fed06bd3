"""Shared fixtures: real settings, a real SQLite (or PostgreSQL) store, the real content."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import App, build
from bot.config import Settings, load_settings
from bot.content import ContentPaths
from bot.core.identity import pseudonymise
from bot.core.messages import ChatRef, Inbound, ModeratorNotice, Reply
from bot.core.risk import Assessment, RiskContext, RiskLevel

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("SIGNPOST_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


@dataclass
class ScriptedNlu:
    """A test double for the assessor: exact texts map to assessments; the rest is chit-chat.

    Dialogue tests use it so each test states the judgement it depends on; the real engine is
    tested on its own (tests/*/test_nlu_*) and end to end (tests/e2e/test_console.py).
    """

    script: dict[str, Assessment] = field(default_factory=dict)
    calls: list[tuple[str, RiskContext | None]] = field(default_factory=list)
    fail: bool = False

    def say(self, text: str, risk: RiskLevel, intent: str = "acute_distress") -> None:
        self.script[text] = Assessment(risk, intent, 0.9, (f"scripted:{risk.label}",))

    def assess(self, text: str, context: RiskContext | None = None) -> Assessment:
        self.calls.append((text, context))
        if self.fail:
            raise RuntimeError("model exploded")
        found = self.script.get(text)
        if found is None:
            return Assessment(RiskLevel.NONE, "out_of_scope", 0.5, ())
        if context and context.recent_risk >= RiskLevel.HIGH and found.risk < RiskLevel.MEDIUM:
            return Assessment(RiskLevel.MEDIUM, found.intent, found.confidence, ("context:floor",))
        return found


class RecordingSink:
    """Stands in for a platform's moderators' room: records notices and delayed replies."""

    def __init__(self, platform: str = "console") -> None:
        self.platform = platform
        self.notices: list[tuple[ModeratorNotice, str | None]] = []
        self.sent: list[Reply] = []
        self.fail_times = 0

    async def deliver(self, notice: ModeratorNotice, thread_ref: str | None) -> str | None:
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("room unreachable")
        self.notices.append((notice, thread_ref))
        return thread_ref or f"thread-{notice.case_id}"

    async def send(self, reply: Reply) -> None:
        self.sent.append(reply)


def model_cache_dir() -> Path:
    """Where `signpost nlu train` (and `make test`) put the trained model: tests reuse it."""
    return load_settings(ROOT / "config.yml").cache_dir


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        ROOT / "config.yml",
        {
            "SIGNPOST_DATA_DIR": str(tmp_path),
            "SIGNPOST_SECRET_KEY": "test-secret-0123456789abcdef-0123456789",
        },
    )


@pytest.fixture
def nlu() -> ScriptedNlu:
    return ScriptedNlu()


@pytest.fixture
async def app(settings: Settings, nlu: ScriptedNlu) -> AsyncIterator[App]:
    application = await build(settings, nlu=nlu, content=ContentPaths(ROOT))
    yield application
    await application.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Run the test on SQLite and on a fresh PostgreSQL database (dropped afterwards)."""
    import asyncpg

    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'signpost.db'}"
        return

    name = f"signpost_test_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        await admin(f'CREATE DATABASE "{name}"')
    except OSError as exc:
        pytest.fail(f"PostgreSQL is not answering on 127.0.0.1:5432: {exc}")
    yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def person(app: App, name: str = "alice", platform: str = "console") -> Callable[..., Inbound]:
    """A person writing to the bot: `say("hi")` builds the Inbound."""
    user = pseudonymise(app.pepper, platform, name)
    chat = ChatRef(platform, f"chat-{name}")

    def say(text: str = "", *, button: str | None = None, **kw: object) -> Inbound:
        return Inbound(chat, user, text, datetime.now(UTC), button=button, **kw)  # type: ignore[arg-type]

    return say
