"""The core on its own: `App.handle` (the dialogue turn adapters call) on SQLite and PostgreSQL,
and how its cost grows with 1k, 10k and 100k stored conversations and open cases.

One message at a time (no concurrency), the real trained NLU, the real store. People write a few
everyday messages each from `nlu/intents`; 5% write a crisis message, which opens a case.
For the growth figures the database is first filled with N conversations, N open (pinged,
unclaimed) cases and their delivered pings; then the same turns are timed, along with one pass
of the background work (escalation ladder + outbox), which scans cases.

    .venv/bin/python benchmarks/bench_dialogue.py [--people 100] [--sizes 1000 10000 100000]
        [--save]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_telegram import fresh_postgres, load_script  # noqa: E402
from benchlib import Run, p50_p99, plot_path, rss_mb  # noqa: E402


def turns(script: Any, people: int, messages: int, crisis_share: float, seed: int) -> list[Any]:
    """(person, text, is_crisis) in the order they arrive: round robin over people."""
    rng = random.Random(seed)
    crisis_people = max(1, round(people * crisis_share))
    plans = []
    for i in range(people):
        lines = [(t, False) for t in rng.sample(script.ordinary, messages)]
        if i < crisis_people:
            lines[rng.randrange(min(2, messages))] = (rng.choice(script.crisis), True)
        plans.append(lines)
    return [(i, *plans[i][k]) for k in range(messages) for i in range(people)]


async def time_turns(app: Any, plan: list[Any], tag: str) -> dict[str, Any]:
    from bot.core.identity import pseudonymise
    from bot.core.messages import ChatRef, Inbound

    all_ms, crisis_ms = [], []
    for person, text, is_crisis in plan:
        user = pseudonymise(app.pepper, "telegram", f"{tag}-{person}")
        inbound = Inbound(ChatRef("telegram", f"{tag}-{person}"), user, text, datetime.now(UTC))
        started = time.perf_counter()
        outcome = await app.handle(inbound)
        elapsed = (time.perf_counter() - started) * 1000
        if not outcome.replies:
            raise RuntimeError("a turn got no reply")
        (crisis_ms if is_crisis else all_ms).append(elapsed)
    everyday, crisis = p50_p99(all_ms), p50_p99(crisis_ms)
    return {
        "turns": len(plan),
        "p50_ms": round(p50_p99(all_ms + crisis_ms)["p50"], 2),
        "p99_ms": round(p50_p99(all_ms + crisis_ms)["p99"], 2),
        "everyday_p50_ms": round(everyday["p50"], 2),
        "everyday_p99_ms": round(everyday["p99"], 2),
        "crisis_p50_ms": round(crisis["p50"], 2),
        "crisis_p99_ms": round(crisis["p99"], 2),
        "crisis_turns": len(crisis_ms),
    }


async def seed(url: str, size: int) -> float:
    """Fill the database with `size` conversations, open cases and delivered pings."""
    from sqlalchemy import insert

    from bot.storage.models import CaseRow, ConversationRow, OutboxRow
    from bot.storage.store import Store

    store = await Store.open(url)
    started = time.perf_counter()
    now = datetime.now(UTC)
    later = now + timedelta(days=1)  # the ladder's next step is not due during the benchmark
    batch = 5000
    try:
        for first in range(0, size, batch):
            ids = range(first, min(size, first + batch))
            keys = [f"telegram:seed{n:07d}{secrets.token_hex(8)}" for n in ids]
            cases = [secrets.token_hex(5) for _ in ids]
            async with store.engine.begin() as conn:
                await conn.execute(
                    insert(ConversationRow),
                    [
                        {
                            "key": k,
                            "region": "GB",
                            "notice_shown": True,
                            "exercise_step": 0,
                            "pending": None,
                            "recent_risk": 3,
                            "turns_since_risk": 1,
                            "open_case_id": c,
                            "updated_at": now,
                        }
                        for k, c in zip(keys, cases, strict=True)
                    ],
                )
                await conn.execute(
                    insert(CaseRow),
                    [
                        {
                            "id": c,
                            "conversation_key": k,
                            "platform": "telegram",
                            "chat_id": k[-12:],
                            "kind": "risk",
                            "status": "pinged",
                            "risk": 3,
                            "handle": f"person-{k[-6:]}",
                            "excerpt": "seeded case",
                            "region": "GB",
                            "thread_ref": f"-100500:{n}",
                            "ladder_stage": 0,
                            "next_action_at": later,
                            "created_at": now,
                        }
                        for n, k, c in zip(ids, keys, cases, strict=True)
                    ],
                )
                await conn.execute(
                    insert(OutboxRow),
                    [
                        {
                            "idempotency_key": f"{c}:ping",
                            "case_id": c,
                            "platform": "telegram",
                            "kind": "notice",
                            "payload": {"seeded": True},
                            "created_at": now,
                            "due_at": now,
                            "attempts": 1,
                            "delivered_at": now,
                        }
                        for c in cases
                    ],
                )
    finally:
        await store.close()
    return time.perf_counter() - started


async def background_pass_ms(app: Any, repeat: int = 20) -> float:
    """One pass of the background work, as `App.run_background` does it every tick."""
    dispatcher = app.dispatcher
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        await app.cases.tick()
        await dispatcher.deliver_due()
        timings.append((time.perf_counter() - started) * 1000)
    return round(p50_p99(timings)["p50"], 2)


async def measured_app(engine: Any, url: str) -> Any:
    from bot.app import build
    from bot.config import load_settings
    from bot.content import ContentPaths

    settings = load_settings(
        ROOT / "config.yml",
        {
            "SIGNPOST_DATA_DIR": tempfile.mkdtemp(prefix="signpost-bench-"),
            "SIGNPOST_SECRET_KEY": "bench-" + "k" * 32,
        },
    )
    return await build(settings, nlu=engine, content=ContentPaths(ROOT), database_url=url)


async def one_database(kind: str, engine: Any, plan: list[Any], size: int) -> dict[str, Any]:
    async def measure(url: str) -> dict[str, Any]:
        seeded = await seed(url, size) if size else 0.0
        app = await measured_app(engine, url)
        try:
            await time_turns(app, plan[:20], "warmup")  # connections, first-use caches
            result = await time_turns(app, plan, f"n{size}")
            result["background_pass_ms"] = await background_pass_ms(app)
        finally:
            await app.close()
        result.update(database=kind, stored=size, seed_s=round(seeded, 1), rss_mb=round(rss_mb()))
        return result

    if kind == "postgresql":
        async with fresh_postgres() as url:
            return await measure(url)
    folder = tempfile.mkdtemp(prefix="signpost-bench-")
    return await measure(f"sqlite+aiosqlite:///{folder}/signpost.db")


def plot(growth: list[dict[str, Any]]) -> Path:
    from benchlib import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for kind, colour in (("sqlite", "tab:blue"), ("postgresql", "tab:orange")):
        rows = sorted((r for r in growth if r["database"] == kind), key=lambda r: r["stored"])
        if not rows:
            continue
        x = [max(r["stored"], 100) for r in rows]
        ax.plot(x, [r["p50_ms"] for r in rows], "o-", color=colour, label=f"{kind} turn p50")
        ax.plot(x, [r["p99_ms"] for r in rows], "s--", color=colour, label=f"{kind} turn p99")
        ax.plot(
            x,
            [r["background_pass_ms"] for r in rows],
            "^:",
            color=colour,
            label=f"{kind} background pass",
        )
    ax.set_xscale("log")
    ax.set_xlabel("stored conversations = open cases (0 plotted at 100)")
    ax.set_ylabel("ms")
    ax.set_title("App.handle and background work as the database grows")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = plot_path("growth")
    fig.savefig(path)
    return path


async def main(args: argparse.Namespace) -> None:
    from bot.nlu.engine import load_engine

    run = Run.begin()
    cache = Path(os.environ.get("SIGNPOST_CACHE_DIR") or Path.home() / ".cache" / "signpost")
    engine = load_engine(ROOT / "nlu", cache / "models", train_if_missing=True)
    script = load_script(engine)
    plan = turns(script, args.people, args.messages, args.crisis, seed=13)
    figures: dict[str, Any] = {"people": args.people, "messages_each": args.messages}
    growth = []
    for kind in ("sqlite", "postgresql"):
        for size in (0, *args.sizes):
            result = await one_database(kind, engine, plan, size)
            print(
                f"{kind:10} stored {size:>7}: turn p50/p99 {result['p50_ms']}/{result['p99_ms']}"
                f" ms (crisis {result['crisis_p50_ms']}/{result['crisis_p99_ms']} ms), "
                f"background pass {result['background_pass_ms']} ms, RSS {result['rss_mb']} MB"
                f", seeded in {result['seed_s']} s",
                flush=True,
            )
            growth.append(result)
    figures["growth"] = growth
    if args.save:
        print(f"plot: {plot(growth).relative_to(ROOT)}")
        run.save("dialogue", figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--messages", type=int, default=3)
    parser.add_argument("--crisis", type=float, default=0.05)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10_000, 100_000])
    parser.add_argument("--save", action="store_true")
    asyncio.run(main(parser.parse_args()))
