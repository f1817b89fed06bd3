"""Benchmark `assess` on one core: batch throughput, single-message latency, load time, memory.

    .venv/bin/python benchmarks/bench_assess.py [--cache-dir DIR] [--messages 10000]
        [--corpus own|ordinary] [--save]

Messages are our own training examples (nlu/, about half of them risky: the expensive path), or
with `--corpus ordinary` real ordinary comments (nlu/corpora/), repeated. The model is trained
first (in a child process, not timed) if `<cache-dir>/models` has none. Prints the figures;
not a timed test.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=3_000)
    parser.add_argument("--corpus", choices=("own", "ordinary"), default="own")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/nlu.json")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "benchmarks"))
    from benchlib import Run, p50_p99, rss_mb

    run = Run.begin()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    sys.path.insert(0, str(REPO))
    default = os.environ.get("SIGNPOST_CACHE_DIR") or Path.home() / ".cache" / "signpost"
    cache_root = args.cache_dir or Path(default)
    cache = cache_root / "models"
    nlu_dir = REPO / "nlu"

    started = time.perf_counter()
    from bot.nlu.data import load_ordinary, load_training_data
    from bot.nlu.engine import load_engine, model_dir

    imported = time.perf_counter() - started
    if not (model_dir(nlu_dir, cache) / "model").is_dir():
        # in a child process, so training's memory does not count as the engine's
        print(f"training into {cache} (not timed) ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.nlu",
                "nlu",
                "train",
                "--nlu-dir",
                str(nlu_dir),
                "--cache-dir",
                str(cache_root),
            ],
            cwd=REPO,
            check=True,
        )
    started = time.perf_counter()
    engine = load_engine(nlu_dir, cache, train_if_missing=False)
    loaded = time.perf_counter() - started
    rss_loaded = rss_mb()

    if args.corpus == "own":
        data = load_training_data(nlu_dir)
        pool = [e.text for e in (*data.intents, *data.risks)]
    else:
        pool = list(load_ordinary(nlu_dir))
    messages = (pool * (args.messages // len(pool) + 1))[: args.messages]

    assess_many = getattr(engine, "assess_many", None)
    started = time.perf_counter()
    if assess_many is not None:
        for _ in assess_many(messages):
            pass
    else:
        for text in messages:
            engine.assess(text)
    batch_seconds = time.perf_counter() - started

    timings = []
    for text in messages[: args.single]:
        t0 = time.perf_counter()
        engine.assess(text)
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    p99 = timings[int(len(timings) * 0.99) - 1]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"cpu affinity        : {sorted(os.sched_getaffinity(0))}")
    print(f"messages            : {args.corpus} ({len(pool)} distinct)")
    print(f"import bot.nlu      : {imported:.3f} s (spaCy import included)")
    print(f"model load          : {loaded:.3f} s (load_engine, cached model + patterns)")
    print(
        f"batch               : {len(messages) / batch_seconds:,.0f} messages/s "
        f"({len(messages)} messages)"
    )
    print(
        f"single p50 / p99    : {statistics.median(timings):.2f} / {p99:.2f} ms "
        f"({len(timings)} messages)"
    )
    print(f"max resident memory : {peak_mb:.0f} MB (after load: {rss_loaded:.0f} MB)")
    if args.save:
        single = p50_p99(timings)
        run.save(
            "nlu",
            {
                "import_s": round(imported, 3),
                "load_s": round(loaded, 3),
                "batch_msgs_per_s": round(len(messages) / batch_seconds),
                "batch_messages": len(messages),
                "corpus": args.corpus,
                "single_p50_ms": round(single["p50"], 3),
                "single_p99_ms": round(single["p99"], 3),
                "single_n": len(timings),
                "rss_after_load_mb": round(rss_loaded),
                "peak_rss_mb": round(peak_mb),
                "cpu_affinity": sorted(os.sched_getaffinity(0)),
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
