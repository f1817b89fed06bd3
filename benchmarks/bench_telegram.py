"""End-to-end figures on Telegram: the real App and python-telegram-bot against the local fake
Bot API (tests/fakes/telegram_api.py) on 127.0.0.1, with the real trained NLU.

Prints: time from a crisis update to the crisis reply reaching the server, time to the ping in
the moderators' topic, and throughput for many people writing at once.

    .venv/bin/python benchmarks/bench_telegram.py [--people 50] [--messages 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.content import ContentPaths  # noqa: E402
from tests.fakes.telegram_api import (  # noqa: E402
    FakeChat,
    FakeTelegramApi,
    FakeUser,
    running_telegram,
)

MODERATORS = -100500
CRISIS = "i want to kill myself tonight"


def summary(seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    return f"median {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms (n={len(ms)})"


async def main(people: int, messages: int) -> None:
    data = tempfile.mkdtemp(prefix="signpost-bench-")
    settings = load_settings(
        ROOT / "config.yml", {"SIGNPOST_DATA_DIR": data, "SIGNPOST_SECRET_KEY": "bench"}
    )
    app = await build(settings, content=ContentPaths(ROOT))
    stop = asyncio.Event()
    background = asyncio.create_task(app.run_background(stop))

    def pings() -> int:
        return sum("reply_markup" in call for call in fake.sent_to(MODERATORS))

    async with FakeTelegramApi() as fake:
        fake.add_chat(FakeChat(MODERATORS, "supergroup", "Moderators", is_forum=True))
        async with running_telegram(app, fake, moderator_chat_id=MODERATORS):
            replies, pinged = [], []
            for i in range(10):
                user = FakeUser(1000 + i, f"p{i}")
                chat = fake.private_chat(user)
                before = pings()
                start = time.perf_counter()
                fake.send_text(chat, user, CRISIS)
                await fake.wait_for_messages(chat.id, 1, timeout=30)
                replies.append(time.perf_counter() - start)
                await fake.wait_until(lambda before=before: pings() > before, 30)
                pinged.append(time.perf_counter() - start)
            crowd = [FakeUser(5000 + i, f"q{i}") for i in range(people)]
            start = time.perf_counter()
            for k in range(messages):
                for user in crowd:
                    fake.send_text(fake.private_chat(user), user, f"hello there {k}")
            await fake.wait_until(
                lambda: all(len(fake.sent_to(u.id)) >= messages for u in crowd), 300
            )
            elapsed = time.perf_counter() - start
    stop.set()
    await background
    await app.close()
    total = people * messages
    print(f"crisis update -> crisis reply: {summary(replies)}")
    print(f"crisis update -> ping in the moderators' topic: {summary(pinged)}")
    print(
        f"{total} messages from {people} people answered in {elapsed:.2f} s "
        f"({total / elapsed:.0f} msg/s)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--messages", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.people, args.messages))
