"""Run Signpost on the configured platforms until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.app import App, build
from bot.config import ConfigError, Settings

log = logging.getLogger(__name__)

SUPPORTED = ("telegram", "discord")


async def run_platforms(settings: Settings, platforms: list[str]) -> int:
    if settings.secret_key is None:
        raise ConfigError(
            "environment: SIGNPOST_SECRET_KEY: required when a platform token is set "
            "(it keeps pseudonymous ids and button signatures stable across restarts)"
        )
    unsupported = [p for p in platforms if p not in SUPPORTED]
    if unsupported:
        print(f"signpost: unknown platform {', '.join(unsupported)}; ignoring it", file=sys.stderr)
    wanted = [p for p in SUPPORTED if p in platforms]
    if not wanted:
        return 2

    app = await build(settings, degraded_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await _run_all(app, settings, wanted, stop)
    finally:
        await app.close()
    return 0


async def _run_all(app: App, settings: Settings, wanted: list[str], stop: asyncio.Event) -> None:
    """Every adapter and the background work in one task group. A configuration problem one
    adapter finds at start-up (a refused token) is raised as itself, for the CLI to explain."""
    try:
        async with asyncio.TaskGroup() as group:
            if "telegram" in wanted:
                from bot.adapters.telegram import run_telegram

                group.create_task(run_telegram(app, settings.telegram, stop))
            if "discord" in wanted:
                from bot.adapters.discord import run_discord

                group.create_task(run_discord(app, settings.discord, stop))
            group.create_task(app.run_background(stop))
    except* ConfigError as problems:
        raise problems.exceptions[0] from None
