"""`/metrics`, `/healthz` and `/readyz` on one local port (aiohttp, already a dependency of
discord.py), served inside the bot's event loop so the probes see the live app."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.ops.metrics import Metrics
from bot.ops.probes import database_ok, refresh_outbox
from bot.storage.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readiness:
    """What `/readyz` checks: the database answers, the model is loaded, and each platform the
    process runs has connected (its adapter registered a sink after the platform said hello)."""

    store: Store
    model_loaded: Callable[[], bool]
    connected: Callable[[], Iterable[str]]
    platforms: tuple[str, ...]

    async def check(self) -> dict[str, bool]:
        up = set(self.connected())
        checks = {"database": await database_ok(self.store), "model": self.model_loaded()}
        for platform in self.platforms:
            checks[platform] = platform in up
        return checks


def _json(body: dict[str, object], status: int) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


def ops_app(metrics: Metrics, readiness: Readiness) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return _json({"status": "ok"}, 200)

    async def readyz(_: web.Request) -> web.Response:
        checks = await readiness.check()
        ready = all(checks.values())
        return _json({"ready": ready, "checks": checks}, 200 if ready else 503)

    async def scrape(_: web.Request) -> web.Response:
        try:
            await refresh_outbox(readiness.store, metrics)
        except Exception as exc:  # the database is down: the other metrics still count
            log.warning("outbox gauges not refreshed", extra={"error": type(exc).__name__})
        return web.Response(
            body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    handlers: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {
        "/healthz": healthz,
        "/readyz": readyz,
        "/metrics": scrape,
    }
    app = web.Application()
    for path, handler in handlers.items():
        app.router.add_get(path, handler)
    return app


async def serve_ops(
    metrics: Metrics, readiness: Readiness, host: str, port: int, stop: asyncio.Event
) -> None:
    """Serve until `stop` is set."""
    runner = web.AppRunner(ops_app(metrics, readiness), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("metrics and health endpoints listening", extra={"host": host, "port": port})
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
