"""End to end on Telegram: many people at chat pace through the real adapter and a fake Bot API.

The real python-telegram-bot adapter (`bot.adapters.telegram`) talks HTTP to the local fake Bot
API (`tests/fakes/telegram_api.py`) on 127.0.0.1, with the real trained NLU, the real store and
the background outbox. Each person writes a few messages, waiting for the bot's answer and then
"thinking" for a few seconds before the next one (closed loop, chat pace); 5% of them write a
crisis message, which must open a case and ping the moderators' forum.

Measured from the moment an update is put in the fake's queue: to the first reply reaching the
fake (message -> reply) and to the case ping in the moderators' chat (message -> ping). Errors
are failed Bot API calls and ERROR log records; a message is lost when it gets no reply within
the timeout; doubled when the core handled it twice, when one message's replies repeat a text,
or when a case was pinged twice.

    .venv/bin/python benchmarks/bench_telegram.py [--people 200] [--messages 4] [--sweep] [--save]

`--workers 2` runs two `signpost run` worker processes in webhook mode on one PostgreSQL
database instead of the in-process App; the benchmark acts as the load balancer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import Run, p50_p99, plot_path, rss_mb  # noqa: E402

from tests.fakes.telegram_api import FakeChat, FakeTelegramApi, FakeUser, JsonDict  # noqa: E402

MODERATORS = -100500
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
ORDINARY_INTENTS = (
    "greet",
    "thanks",
    "venting",
    "coping_request",
    "mindfulness_request",
    "capabilities",
    "helplines_request",
    "affirm",
    "deny",
    "out_of_scope",
    "goodbye",
)


# ---- the fake, indexed so hundreds of waiting people cost nothing ------------------------------


class IndexedFakeApi(FakeTelegramApi):
    """The fake Bot API, with each successful sendMessage indexed by chat as it happens."""

    def __init__(self) -> None:
        super().__init__()
        self.by_chat: dict[int, list[tuple[float, JsonDict]]] = defaultdict(list)
        self.waiters: dict[int, asyncio.Event] = {}

    def _record(self, method: str, params: JsonDict, *, ok: bool) -> None:
        at = time.monotonic()
        super()._record(method, params, ok=ok)
        if method == "sendMessage" and ok:
            chat = int(params["chat_id"])
            self.by_chat[chat].append((at, params))
            waiter = self.waiters.get(chat)
            if waiter is not None:
                waiter.set()

    async def next_message(self, chat: int, seen: int, timeout: float) -> bool:
        """Wait until the chat has more than `seen` messages; False on timeout."""
        deadline = time.monotonic() + timeout
        while len(self.by_chat[chat]) <= seen:
            event = self.waiters.setdefault(chat, asyncio.Event())
            event.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return False
        return True


# ---- what people write -------------------------------------------------------------------------


@dataclass(frozen=True)
class Script:
    ordinary: tuple[str, ...]
    crisis: tuple[str, ...]


def load_script(engine: Any) -> Script:
    """Ordinary messages (below medium risk) and crisis messages (high or critical), from nlu/,
    checked with the real engine so the crisis share is what it says."""
    from bot.core.risk import RiskLevel
    from bot.nlu.data import load_training_data

    data = load_training_data(ROOT / "nlu")
    ordinary = sorted(
        {e.text for e in data.intents if e.label in ORDINARY_INTENTS and len(e.text) > 1}
    )
    ordinary = [t for t in ordinary if engine.assess(t).risk < RiskLevel.MEDIUM]
    plain = re.compile(r"^[a-z ]{12,80}$")  # matched verbatim inside the moderators' ping
    crisis = sorted(
        {e.text for e in data.risks if e.label in ("high", "critical") and plain.match(e.text)}
    )
    crisis = [t for t in crisis if engine.assess(t).risk >= RiskLevel.HIGH]
    return Script(tuple(ordinary), tuple(crisis))


@dataclass
class Tally:
    reply_ms: list[float] = field(default_factory=list)
    ping_ms: list[float] = field(default_factory=list)
    sent: int = 0
    answered: int = 0
    lost: int = 0
    repeated_reply: int = 0
    repeated_texts: Counter[str] = field(default_factory=Counter)
    crisis_people: int = 0
    pings_missing: int = 0
    pings_doubled: int = 0


# ---- the bot under test ------------------------------------------------------------------------


class CountingCore:
    """The real App, counting how often the core handled each person's message."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self.handled: Counter[tuple[str, str]] = Counter()

    async def handle(self, inbound: Any) -> Any:
        self.handled[(inbound.chat.chat_id, inbound.text)] += 1
        return await self._app.handle(inbound)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


class ErrorCount(logging.Handler):
    """Counts ERROR records by logger and message template (never the arguments: no text)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.kinds: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        kind = f"{record.name}: {record.msg}"
        if record.exc_info and record.exc_info[0] is not None:
            kind += f" ({record.exc_info[0].__name__})"
        self.kinds[kind[:160]] += 1


Deliver = Callable[[JsonDict], Any]


@asynccontextmanager
async def in_process_bot(
    fake: IndexedFakeApi, engine: Any, db_url: str | None
) -> AsyncIterator[tuple[Deliver | None, CountingCore, list[int]]]:
    """One Signpost in this process (polling): App + background work + the Telegram adapter."""
    from bot.app import build
    from bot.config import load_settings
    from bot.content import ContentPaths
    from tests.fakes.telegram_api import running_telegram

    data = tempfile.mkdtemp(prefix="signpost-bench-")
    settings = load_settings(
        ROOT / "config.yml", {"SIGNPOST_DATA_DIR": data, "SIGNPOST_SECRET_KEY": "bench-" + "k" * 32}
    )
    app = await build(settings, nlu=engine, content=ContentPaths(ROOT), database_url=db_url)
    core = CountingCore(app)
    stop = asyncio.Event()
    background = asyncio.create_task(app.run_background(stop))
    try:
        async with running_telegram(core, fake, moderator_chat_id=MODERATORS):
            yield None, core, []
    finally:
        stop.set()
        await background
        await app.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def webhook_workers(
    fake: IndexedFakeApi, workers: int, db_url: str, cache_dir: Path
) -> AsyncIterator[tuple[Deliver, None, list[int]]]:
    """`workers` separate `signpost run` processes in webhook mode sharing one database; yields
    a function that delivers an update to one of them (round robin, like a load balancer)."""
    import aiohttp

    secret = secrets.token_hex(8)
    ports = [_free_port() for _ in range(workers)]
    procs = []
    for port in ports:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "TELEGRAM_MODERATOR_CHAT_ID": str(MODERATORS),
            "TELEGRAM_WEBHOOK_SECRET": secret,
            "SIGNPOST_SECRET_KEY": "bench-" + "k" * 32,
            "SIGNPOST_STORAGE__URL": db_url,
            "SIGNPOST_TELEGRAM__MODE": "webhook",
            "SIGNPOST_TELEGRAM__WEBHOOK_URL": "https://signpost.example.org/telegram",
            "SIGNPOST_TELEGRAM__WEBHOOK_PORT": str(port),
            "SIGNPOST_DATA_DIR": tempfile.mkdtemp(prefix="signpost-bench-"),
            "SIGNPOST_CACHE_DIR": str(cache_dir),
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
    http = aiohttp.ClientSession()
    try:
        for port, proc in zip(ports, procs, strict=True):
            await _listening(port, proc)
        turn = iter(range(10**9))

        async def deliver(update: JsonDict) -> Any:
            port = ports[next(turn) % len(ports)]
            async with http.post(
                f"http://127.0.0.1:{port}/telegram",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            ) as response:
                return response.status

        yield deliver, None, [p.pid for p in procs]
    finally:
        await http.close()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                _, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            errors = [line for line in err.decode(errors="replace").splitlines() if "ERROR" in line]
            fake.worker_errors = getattr(fake, "worker_errors", 0) + len(errors)  # type: ignore[attr-defined]


async def _listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(1200):
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise TimeoutError(f"no worker listening on {port}")


# ---- one load run ------------------------------------------------------------------------------


async def person(
    fake: IndexedFakeApi,
    user: FakeUser,
    lines: list[str],
    crisis_at: int | None,
    pace: tuple[float, float],
    deliver: Deliver | None,
    tally: Tally,
    rng: random.Random,
    timeout: float,
    sent_at: dict[str, float],
) -> None:
    chat = fake.private_chat(user)
    await asyncio.sleep(rng.uniform(0, pace[1]))  # people do not all start at once
    for k, text in enumerate(lines):
        seen = len(fake.by_chat[chat.id])
        start = time.monotonic()
        fake.send_text(chat, user, text)
        if crisis_at == k:
            sent_at[text] = start
        if deliver is not None:
            status = await deliver(fake.last_update)
            if status != 200:
                tally.lost += 1
                continue
        tally.sent += 1
        if not await fake.next_message(chat.id, seen, timeout):
            tally.lost += 1
            continue
        tally.answered += 1
        tally.reply_ms.append((fake.by_chat[chat.id][seen][0] - start) * 1000)
        await asyncio.sleep(rng.uniform(*pace))  # reading, then typing the next message
        texts = [params["text"] for _, params in fake.by_chat[chat.id][seen:]]
        if len(texts) != len(set(texts)):
            tally.repeated_reply += 1
            for text, n in Counter(texts).items():  # the bot's own words, from responses/
                if n > 1:
                    tally.repeated_texts[text[:80]] += 1


async def load_run(
    people: int,
    messages: int,
    crisis_share: float,
    pace: tuple[float, float],
    engine: Any,
    script: Script,
    *,
    workers: int = 0,
    db_url: str | None = None,
    cache_dir: Path | None = None,
    seed: int = 13,
    timeout: float = 30.0,
) -> dict[str, Any]:
    rng = random.Random(seed)
    crisis_people = max(1, round(people * crisis_share))
    if crisis_people > len(script.crisis):
        raise SystemExit(f"only {len(script.crisis)} distinct crisis messages for {crisis_people}")
    crisis_lines = rng.sample(script.crisis, crisis_people)
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    tally = Tally(crisis_people=crisis_people)
    sent_at: dict[str, float] = {}
    async with IndexedFakeApi() as fake:
        fake.add_chat(FakeChat(MODERATORS, "supergroup", "Moderators", is_forum=True))
        if workers:
            assert db_url is not None and cache_dir is not None
            bot = webhook_workers(fake, workers, db_url, cache_dir)
        else:
            bot = in_process_bot(fake, engine, db_url)
        async with bot as (deliver, core, pids):
            started = time.monotonic()
            tasks = []
            for i in range(people):
                lines = rng.sample(script.ordinary, messages)
                crisis_at = None
                if i < crisis_people:
                    crisis_at = rng.randrange(min(2, messages))
                    lines[crisis_at] = crisis_lines[i]
                user = FakeUser(10_000 + i, f"p{i}")
                tasks.append(
                    person(
                        fake, user, lines, crisis_at, pace, deliver, tally, rng, timeout, sent_at
                    )
                )
            await asyncio.gather(*tasks)
            elapsed = time.monotonic() - started
            # pings: the first message in the moderators' chat that quotes each crisis text
            with contextlib.suppress(TimeoutError):  # a ping still missing is counted below
                await fake.wait_until(lambda: _pings_seen(fake, sent_at) >= len(sent_at), 60)
            worker_rss = [rss_mb(pid) for pid in pids] if pids else [rss_mb()]
            doubled_handling = (
                sum(1 for n in core.handled.values() if n > 1) if core is not None else None
            )
        for text, at in sent_at.items():
            hits = [
                when
                for when, params in fake.by_chat[MODERATORS]
                if text in params["text"] and params.get("reply_markup")
            ]
            if not hits:
                tally.pings_missing += 1
                continue
            tally.ping_ms.append((hits[0] - at) * 1000)
            tally.pings_doubled += len(hits) > 1
        failed_calls = len([c for c in fake.calls if not c.ok])
        topics = len(fake.calls_of("createForumTopic"))
    logging.getLogger().removeHandler(errors)
    worker_errors = getattr(fake, "worker_errors", 0)
    reply, ping = p50_p99(tally.reply_ms), p50_p99(tally.ping_ms)
    return {
        "people": people,
        "messages_each": messages,
        "crisis_people": crisis_people,
        "workers": workers or 1,
        "mode": "webhook" if workers else "polling",
        "database": "postgresql" if db_url and db_url.startswith("postgresql") else "sqlite",
        "pace_s": list(pace),
        "seconds": round(elapsed, 1),
        "messages_sent": tally.sent,
        "offered_msgs_per_s": round(tally.sent / elapsed, 1),
        "reply_p50_ms": round(reply["p50"], 1),
        "reply_p99_ms": round(reply["p99"], 1),
        "reply_max_ms": round(max(tally.reply_ms, default=float("nan")), 1),
        "ping_p50_ms": round(ping["p50"], 1),
        "ping_p99_ms": round(ping["p99"], 1),
        "errors_failed_api_calls": failed_calls,
        "errors_logged": errors.count + worker_errors,
        "error_kinds": dict(errors.kinds),
        "lost_messages": tally.lost,
        "doubled_handling": doubled_handling,
        "doubled_replies": tally.repeated_reply,
        "repeated_reply_texts": dict(tally.repeated_texts),
        "pings_missing": tally.pings_missing,
        "pings_doubled": tally.pings_doubled,
        "case_topics": topics,
        "bot_rss_mb": [round(r) for r in worker_rss],
    }


def _pings_seen(fake: IndexedFakeApi, sent_at: dict[str, float]) -> int:
    moderators = [params["text"] for _, params in fake.by_chat[MODERATORS]]
    return sum(1 for text in sent_at if any(text in m for m in moderators))


def show(result: dict[str, Any]) -> None:
    print(
        f"{result['people']:>4} people x {result['messages_each']} msgs "
        f"({result['workers']} worker(s), {result['mode']}, {result['database']}): "
        f"{result['offered_msgs_per_s']} msg/s; reply p50/p99 {result['reply_p50_ms']}/"
        f"{result['reply_p99_ms']} ms; ping p50/p99 {result['ping_p50_ms']}/"
        f"{result['ping_p99_ms']} ms; errors {result['errors_failed_api_calls']}+"
        f"{result['errors_logged']}; lost {result['lost_messages']}; doubled "
        f"{result['doubled_handling']}/{result['doubled_replies']}/{result['pings_doubled']}; "
        f"RSS {result['bot_rss_mb']} MB",
        flush=True,
    )


@asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    import asyncpg

    name = f"signpost_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def plot(sweep: list[dict[str, Any]]) -> Path:
    from benchlib import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    load = [r["offered_msgs_per_s"] for r in sweep]
    ax.plot(load, [r["reply_p50_ms"] for r in sweep], "o-", label="reply p50")
    ax.plot(load, [r["reply_p99_ms"] for r in sweep], "s-", label="reply p99")
    ax.plot(load, [r["ping_p99_ms"] for r in sweep], "^--", label="ping p99")
    for r in sweep:
        ax.annotate(f"{r['people']}", (r["offered_msgs_per_s"], r["reply_p99_ms"]), fontsize=7)
    ax.axhline(100, color="grey", lw=0.8, ls=":", label="reply p99 target (100 ms)")
    ax.set_yscale("log")
    ax.set_xlabel("messages per second (number = concurrent conversations)")
    ax.set_ylabel("ms (log scale)")
    ax.set_title("Telegram end to end: latency against load (1 worker, SQLite)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = plot_path("telegram-load")
    fig.savefig(path)
    return path


async def main(args: argparse.Namespace) -> None:
    from bot.nlu.engine import load_engine

    run = Run.begin()
    cache = Path(os.environ.get("SIGNPOST_CACHE_DIR") or Path.home() / ".cache" / "signpost")
    engine = load_engine(ROOT / "nlu", cache / "models", train_if_missing=True)
    script = load_script(engine)
    pace = (args.pace_min, args.pace_max)
    common = {"engine": engine, "script": script, "crisis_share": args.crisis}
    figures: dict[str, Any] = {}
    main_run = await load_run(args.people, args.messages, pace=pace, **common)
    show(main_run)
    figures["single_worker"] = main_run
    if args.workers:
        async with fresh_postgres() as url:
            multi = await load_run(
                args.people,
                args.messages,
                pace=pace,
                workers=args.workers,
                db_url=url,
                cache_dir=cache,
                **common,
            )
        show(multi)
        figures["webhook_workers"] = multi
    if args.sweep:
        sweep = [main_run]
        for people in args.sweep:
            result = await load_run(people, args.sweep_messages, pace=pace, **common)
            show(result)
            sweep.append(result)
        sweep.sort(key=lambda r: r["offered_msgs_per_s"])
        figures["sweep"] = sweep
        if args.save:
            print(f"plot: {plot(sweep).relative_to(ROOT)}")
    if args.save:
        run.save("telegram", figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--messages", type=int, default=4, help="messages per person")
    parser.add_argument("--crisis", type=float, default=0.05, help="share of people in crisis")
    parser.add_argument("--pace-min", type=float, default=2.0, help="seconds between messages")
    parser.add_argument("--pace-max", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=0, help="also run N webhook workers on PG")
    parser.add_argument(
        "--sweep", type=int, nargs="*", default=None, help="also run these numbers of people"
    )
    parser.add_argument("--sweep-messages", type=int, default=3)
    parser.add_argument("--save", action="store_true", help="write results and the plot")
    asyncio.run(main(parser.parse_args()))
