"""A terminal chat: stdin lines in, replies out. Buttons become numbers to type."""

from __future__ import annotations

import asyncio
import sys
import threading
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


def _reader(stream: BinaryIO, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[bytes]) -> None:
    """Read stdin on a daemon thread, so Ctrl-C ends the chat at once (a blocking read in the
    default executor would keep the process waiting for Enter). b"" marks the end."""
    try:
        while True:
            raw = stream.readline()
            loop.call_soon_threadsafe(lines.put_nowait, raw)
            if not raw:
                return
    except (OSError, ValueError, RuntimeError):  # stdin closed, or the loop already gone
        try:
            loop.call_soon_threadsafe(lines.put_nowait, b"")
        except RuntimeError:
            return


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

    async def welcome(self) -> None:
        """The welcome, privacy notice and menu before the person types anything."""
        now = datetime.now(UTC)
        self.show((await self.app.handle(Inbound(CHAT, self.user, "/start", now))).replies)

    async def run(self, stdin: BinaryIO) -> int:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[bytes] = asyncio.Queue()
        reader = threading.Thread(
            target=_reader, args=(stdin, loop, lines), name="console-stdin", daemon=True
        )
        reader.start()
        await self.welcome()
        while True:
            if self.interactive:
                self.out.write("\n> ")
                self.out.flush()
            raw = await lines.get()
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
