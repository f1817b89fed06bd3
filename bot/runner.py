"""Run Signpost on the configured platforms until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from bot.app import App, build
from bot.config import ConfigError, Settings
from bot.ops.server import Readiness, serve_ops

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
            if settings.metrics.port is not None:
                group.create_task(serve_metrics(app, settings, wanted, stop))
            if settings.follow_up.enabled:
                group.create_task(follow_up_timer(app, settings, stop))
            if settings.report.weekly:
                group.create_task(weekly_report(app, settings, wanted, stop))
    except* ConfigError as problems:
        raise problems.exceptions[0] from None


async def serve_metrics(
    app: App, settings: Settings, wanted: list[str], stop: asyncio.Event
) -> None:
    """`/metrics`, `/healthz`, `/readyz` on `metrics.port` while the bot runs."""
    assert settings.metrics.port is not None
    readiness = Readiness(
        store=app.store,
        model_loaded=lambda: app.nlu is not None,
        connected=lambda: app.sinks.keys(),
        platforms=tuple(wanted),
    )
    await serve_ops(app.metrics, readiness, settings.metrics.host, settings.metrics.port, stop)


async def weekly_report(
    app: App, settings: Settings, wanted: list[str], stop: asyncio.Event
) -> None:
    """The weekly report in each moderators' room this process serves."""
    from bot.ops.weekly import run_weekly_report

    rooms = {
        platform: str(room)
        for platform, room in (
            ("telegram", settings.telegram.moderator_chat_id),
            ("discord", settings.discord.moderator_channel_id),
        )
        if platform in wanted and room is not None
    }
    await run_weekly_report(app.store, app.texts, rooms, settings.report, app.wake.set, stop)


async def follow_up_timer(app: App, settings: Settings, stop: asyncio.Event) -> None:
    """Queue due check-ins into the outbox, every escalation tick."""
    follow_ups = app.follow_ups
    if follow_ups is None:
        return
    while not stop.is_set():
        try:
            if await follow_ups.tick():
                app.wake.set()
        except Exception:
            log.exception("follow-up pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.escalation.tick_seconds)
