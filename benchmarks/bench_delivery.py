"""How long a new crisis ping waits behind queued relays, and what a hung database costs.

The real App and outbox on SQLite, a moderators' room that takes `--send-ms` per post (a
group's rate limit). First `--relays` relayed messages are queued, then a new crisis comes in;
prints how long its ping took to be posted. Then the database is made to hang (a proxy in
front of PostgreSQL on 127.0.0.1:5432 that stops answering) and prints how long the crisis
reply took.

    .venv/bin/python benchmarks/bench_delivery.py [--relays 40] [--send-ms 100]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bot.app import App, build  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.content import ContentPaths  # noqa: E402
from bot.core.identity import pseudonymise  # noqa: E402
from bot.core.messages import ChatRef, Inbound, ModeratorInbound, ModeratorNotice, NoticeKind  # noqa: E402
from bot.core.risk import Assessment, RiskContext, RiskLevel  # noqa: E402
from tests.fakes.tcp_proxy import HangableProxy  # noqa: E402

CRISIS = "i don't want to be alive anymore"


class Nlu:
    def assess(self, text: str, context: RiskContext | None = None) -> Assessment:
        risk = RiskLevel.HIGH if text == CRISIS else RiskLevel.NONE
        return Assessment(risk, "acute_distress", 0.9, ())


class RateLimitedRoom:
    platform = "console"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.posted: list[tuple[float, ModeratorNotice]] = []

    async def deliver(self, notice: ModeratorNotice, thread_ref: str | None) -> str | None:
        await asyncio.sleep(self.seconds)
        self.posted.append((time.monotonic(), notice))
        return thread_ref or f"t-{notice.case_id}"

    async def send(self, reply: object) -> None:
        await asyncio.sleep(self.seconds)


def say(app: App, name: str, text: str) -> Inbound:
    user = pseudonymise(app.pepper, "console", name)
    return Inbound(ChatRef("console", f"chat-{name}"), user, text, datetime.now(UTC))


async def ping_behind_relays(relays: int, send_ms: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            ROOT / "config.yml",
            {"SIGNPOST_DATA_DIR": tmp, "SIGNPOST_SECRET_KEY": secrets.token_hex(32)},
        )
        app = await build(settings, nlu=Nlu(), content=ContentPaths(ROOT))
        room = RateLimitedRoom(send_ms / 1000)
        app.register_sink(room)
        await app.handle(say(app, "held", CRISIS))
        await app.dispatcher.deliver_due()
        ping = room.posted[-1][1]
        claim = ping.buttons[0].payload
        await app.handle_moderator(
            ModeratorInbound("console", "m", "M", datetime.now(UTC), True, payload=claim)
        )
        for n in range(relays):
            await app.handle(say(app, "held", f"message {n}"))
        stop = asyncio.Event()
        background = asyncio.create_task(app.run_background(stop))
        await asyncio.sleep(send_ms / 1000 * 3)  # delivery of the relays is under way
        started = time.monotonic()
        await app.handle(say(app, "new", CRISIS))
        while not any(
            n.kind is NoticeKind.PING and n.case_id != ping.case_id for _, n in room.posted
        ):
            await asyncio.sleep(0.01)
        waited = time.monotonic() - started
        stop.set()
        await background
        await app.close()
        print(
            f"new crisis ping posted {waited * 1000:.0f} ms after the message, with {relays} "
            f"relays queued and {send_ms:.0f} ms per post (all relays: {relays * send_ms:.0f} ms)"
        )


async def crisis_reply_while_database_hangs() -> None:
    name = f"signpost_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        async with HangableProxy() as proxy:
            settings = load_settings(
                ROOT / "config.yml", {"SIGNPOST_SECRET_KEY": secrets.token_hex(32)}
            )
            app = await build(
                settings, nlu=Nlu(), content=ContentPaths(ROOT), database_url=proxy.url(name)
            )
            app.register_sink(RateLimitedRoom(0))
            await app.handle(say(app, "a", "hello"))
            proxy.hang()
            times = []
            for n in range(5):
                started = time.monotonic()
                await app.handle(say(app, f"p{n}", CRISIS))
                times.append(time.monotonic() - started)
            proxy.restore()
            await app.close()
        print(
            "crisis reply while PostgreSQL hangs: first "
            f"{times[0] * 1000:.0f} ms, next {max(times[1:]) * 1000:.0f} ms at most "
            f"(storage.timeout_seconds {settings.storage.timeout_seconds:g})"
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--relays", type=int, default=40)
    parser.add_argument("--send-ms", type=float, default=100)
    args = parser.parse_args()
    asyncio.run(ping_behind_relays(args.relays, args.send_ms))
    asyncio.run(crisis_reply_while_database_hangs())


if __name__ == "__main__":
    main()
