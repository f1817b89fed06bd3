"""`signpost run`'s wiring (bot.runner) with metrics on: the real Telegram adapter against the
fake Bot API, PostgreSQL behind a proxy the test can stop, and /metrics, /healthz, /readyz
scraped over HTTP on 127.0.0.1 as Prometheus and a container orchestrator would."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import App, build
from bot.config import Settings, load_settings
from bot.content import ContentPaths
from bot.runner import _run_all
from tests.conftest import ROOT, ScriptedNlu
from tests.e2e import test_telegram_cases as tc
from tests.fakes.restartable_proxy import TcpProxy, free_port
from tests.fakes.telegram_api import FakeChat, FakeTelegramApi

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("db_url", ["postgres"], indirect=True)]

ALLOWED_LABELS = {
    "platform": {"telegram", "discord"},
    "risk": {"none", "low", "medium", "high", "critical", "unassessed"},
    "kind": {"message", "crisis", "relay"},
    "event": {"opened", "claimed", "resolved", "false_alarm", "expired"},
}


def sample(body: str, name: str, **labels: str) -> float:
    """The value of one sample (0 when the series does not exist yet)."""
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def label_values(body: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(body):
        if not family.name.startswith("signpost_"):
            continue
        for s in family.samples:
            for key, value in s.labels.items():
                if key != "le":
                    found.setdefault(key, set()).add(value)
    return found


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeTelegramApi, db_url: str, nlu: ScriptedNlu, tmp: str
) -> AsyncIterator[tuple[str, TcpProxy, App]]:
    """`bot.runner._run_all` with metrics on a free port and the database behind a proxy."""
    parts = urlsplit(db_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    proxied = urlunsplit(parts._replace(netloc=f"postgres@127.0.0.1:{proxy.port}"))
    port = free_port()
    settings: Settings = load_settings(
        ROOT / "config.yml",
        {
            "SIGNPOST_DATA_DIR": tmp,
            "SIGNPOST_SECRET_KEY": "test-secret-of-at-least-32-bytes!",
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "TELEGRAM_MODERATOR_CHAT_ID": str(tc.MODS_ID),
            "SIGNPOST_TELEGRAM__POLL_TIMEOUT": "1",
            "SIGNPOST_TELEGRAM__MODERATOR_CACHE_SECONDS": "0",
            "SIGNPOST_ESCALATION__TICK_SECONDS": "0.2",
            "SIGNPOST_METRICS__PORT": str(port),
            "DATABASE_URL": proxied.replace("postgresql+asyncpg://", "postgres://"),
        },
    )
    assert settings.database_url == proxied  # the DATABASE_URL alias, in asyncpg form
    app = await build(settings, nlu=nlu, content=ContentPaths(ROOT))
    stop = asyncio.Event()
    task = asyncio.create_task(_run_all(app, settings, ["telegram"], stop))
    try:
        yield f"http://127.0.0.1:{port}", proxy, app
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await app.close()
        await proxy.stop()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi() as api:
        api.add_chat(FakeChat(tc.MODS_ID, "supergroup", "Moderators", is_forum=True))
        api.private_chat(tc.ALICE)
        api.set_member(tc.MODS_ID, tc.MOD, "member")
        yield api


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, await response.text()


async def scrape_until(http: aiohttp.ClientSession, base: str, name: str) -> str:
    """/metrics once `name` (a platform's series) has moved: the bot records after it sends."""
    for _ in range(100):
        status, body = await get(http, f"{base}/metrics")
        assert status == 200
        if sample(body, name, platform="telegram"):
            return body
        await asyncio.sleep(0.1)
    return body


async def wait_status(http: aiohttp.ClientSession, url: str, status: int) -> str:
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        with contextlib.suppress(aiohttp.ClientConnectionError):
            got, body = await get(http, url)
            if got == status:
                return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{url} never answered {status}")
        await asyncio.sleep(0.1)


async def test_metrics_move_with_a_crisis_and_a_claim_and_readiness_follows_the_database(
    fake: FakeTelegramApi, db_url: str, nlu: ScriptedNlu, tmp_path: object
) -> None:
    async with (
        running_bot(fake, db_url, nlu, str(tmp_path)) as (base, proxy, app),
        aiohttp.ClientSession() as http,
    ):
        ready = await wait_status(http, f"{base}/readyz", 200)
        assert '"telegram": true' in ready and '"database": true' in ready
        _, before = await get(http, f"{base}/metrics")
        assert sample(before, "signpost_messages_total", platform="telegram", risk="high") == 0

        ping, _thread = await tc.open_case(fake, nlu)
        after = await scrape_until(http, base, "signpost_time_to_ping_seconds_count")
        assert sample(after, "signpost_messages_total", platform="telegram", risk="high") == 1
        assert sample(after, "signpost_crisis_replies_total", platform="telegram") == 1
        assert sample(after, "signpost_cases_total", platform="telegram", event="opened") == 1
        assert sample(after, "signpost_time_to_ping_seconds_count", platform="telegram") == 1
        assert sample(after, "signpost_nlu_seconds_count") >= 1
        assert sample(after, "signpost_cases_total", platform="telegram", event="claimed") == 0

        claim = tc.buttons(ping)[0]
        assert await tc.press(fake, tc.MOD, ping, claim) == app.texts.get("moderators.ack.claimed")
        claimed = await scrape_until(http, base, "signpost_time_to_claim_seconds_count")
        assert sample(claimed, "signpost_cases_total", platform="telegram", event="claimed") == 1
        assert sample(claimed, "signpost_time_to_claim_seconds_count", platform="telegram") == 1

        # the outbox gauges are read from the database at each scrape: drained once delivered
        for _ in range(100):
            body = (await get(http, f"{base}/metrics"))[1]
            if sample(body, "signpost_outbox_depth") == 0:
                break
            await asyncio.sleep(0.1)
        assert sample(body, "signpost_outbox_depth") == 0
        assert sample(body, "signpost_outbox_oldest_age_seconds") == 0

        # nothing personal in any label: no text, no user, chat or case id
        for key, values in label_values(claimed).items():
            assert key in ALLOWED_LABELS or key == "error", key
            if key in ALLOWED_LABELS:
                assert values <= ALLOWED_LABELS[key], (key, values - ALLOWED_LABELS[key])
        assert tc.CRISIS not in claimed

        # the database goes away: not ready (alive, and still scrapeable); back: ready again
        await proxy.stop()
        unready = await wait_status(http, f"{base}/readyz", 503)
        assert '"database": false' in unready
        assert (await get(http, f"{base}/healthz"))[0] == 200
        assert (await get(http, f"{base}/metrics"))[0] == 200
        await proxy.start()
        await wait_status(http, f"{base}/readyz", 200)
