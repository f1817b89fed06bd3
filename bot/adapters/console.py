"""A terminal chat: stdin lines in, replies out. Buttons become numbers to type."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from typing import BinaryIO, Protocol, TextIO

from bot.core.identity import pseudonymise
from bot.core.messages import Button, ChatRef, Inbound, Outcome, Reply

CHAT = ChatRef("console", "terminal")


class ConsoleCore(Protocol):
    """What the terminal chat needs from the core (`bot.app.App` is one)."""

    pepper: bytes

    async def handle(self, inbound: Inbound) -> Outcome: ...

    async def set_region(self, platform: str, user: str, region: str) -> None: ...


def _read_line(stream: BinaryIO) -> bytes:
    return stream.readline()


class ConsoleChat:
    def __init__(self, app: ConsoleCore, out: TextIO, *, interactive: bool) -> None:
        self.app = app
        self.out = out
        self.interactive = interactive
        self.user = pseudonymise(app.pepper, "console", "terminal")
        self.buttons: tuple[Button, ...] = ()

    async def set_region(self, code: str) -> None:
        await self.app.set_region(CHAT.platform, self.user, code)

    def inbound_for(self, line: str) -> Inbound:
        now = datetime.now(UTC)
        choice = line.strip()
        if choice.isdigit() and 1 <= int(choice) <= len(self.buttons):
            button = self.buttons[int(choice) - 1]
            return Inbound(CHAT, self.user, "", now, button=button.payload)
        return Inbound(CHAT, self.user, line, now)

    def show(self, replies: tuple[Reply, ...]) -> None:
        for reply in replies:
            self.out.write(f"\n{reply.text}\n")
            if reply.buttons:
                self.buttons = reply.buttons
                labels = "   ".join(f"[{i}] {b.label}" for i, b in enumerate(reply.buttons, 1))
                self.out.write(f"{labels}\n")
        self.out.flush()

    async def run(self, stdin: BinaryIO) -> int:
        loop = asyncio.get_running_loop()
        while True:
            if self.interactive:
                self.out.write("\n> ")
                self.out.flush()
            raw = await loop.run_in_executor(None, _read_line, stdin)
            if not raw:
                return 0
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            outcome = await self.app.handle(self.inbound_for(line))
            self.show(outcome.replies)


async def run_console(app: ConsoleCore, *, region: str | None = None) -> int:
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        out.reconfigure(errors="replace")
    chat = ConsoleChat(app, out, interactive=sys.stdin.isatty())
    if region:
        await chat.set_region(region)
    return await chat.run(sys.stdin.buffer)
