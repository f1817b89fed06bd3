"""CLI: `signpost nlu train`, `signpost nlu evaluate`, `signpost assess`.

`register(subparsers)` adds the commands to the lead's argparse tree; each sets
`handler=<function(args) -> int>` as its default, so the CLI calls `args.handler(args)`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from bot.content import ContentPaths

ASSESS_BATCH = 256  # lines per batch when stdin is not interactive


def default_cache_dir() -> Path:
    env = os.environ.get("SIGNPOST_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "signpost"


def register(subparsers: Any) -> None:
    nlu = subparsers.add_parser("nlu", help="train and evaluate the NLU engine")
    nlu_sub = nlu.add_subparsers(dest="nlu_command", required=True)

    train = nlu_sub.add_parser("train", help="train the NLU model into the cache (deterministic)")
    _common(train)
    train.add_argument("--seed", type=int, default=13)
    train.set_defaults(handler=run_train)

    evaluate = nlu_sub.add_parser("evaluate", help="held-out split + public sets -> reports/")
    _common(evaluate)
    evaluate.add_argument("--out", type=Path, default=Path("reports"))
    evaluate.add_argument(
        "--eval-dir",
        type=Path,
        default=None,
        help="public sets (default: $SIGNPOST_EVAL_DIR or ../shared/eval/public)",
    )
    evaluate.add_argument("--seed", type=int, default=13)
    evaluate.add_argument(
        "--no-families",
        action="store_true",
        help="skip the leave-one-family-out check (it retrains the risk heads once per family)",
    )
    evaluate.set_defaults(handler=run_evaluate)

    assess = subparsers.add_parser(
        "assess", help="JSON lines: one message per stdin line -> one assessment per line"
    )
    _common(assess)
    assess.add_argument("--unbuffered", action="store_true", help="flush after every line")
    assess.add_argument(
        "--no-train",
        action="store_true",
        help="fail instead of training when no cached model matches",
    )
    assess.set_defaults(handler=run_assess)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nlu-dir", type=Path, default=None, help="default: the bundled nlu/")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="default: $SIGNPOST_CACHE_DIR or ~/.cache/signpost",
    )


def _paths(args: argparse.Namespace) -> tuple[Path, Path]:
    nlu_dir = args.nlu_dir or ContentPaths.default().nlu
    return nlu_dir, (args.cache_dir or default_cache_dir()) / "models"


def run_train(args: argparse.Namespace) -> int:
    from bot.nlu.engine import train

    nlu_dir, cache_dir = _paths(args)
    started = time.perf_counter()
    target = train(nlu_dir, cache_dir, seed=args.seed)
    print(f"trained {target} in {time.perf_counter() - started:.1f}s")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from bot.nlu.evaluate import default_eval_dir, evaluate, targets_met
    from bot.nlu.report import write_report

    nlu_dir, cache_dir = _paths(args)
    result = evaluate(
        nlu_dir,
        args.eval_dir or default_eval_dir(),
        cache_dir,
        seed=args.seed,
        families=not args.no_families,
    )
    summary = write_report(result, args.out)
    print(summary)
    met = targets_met(result)
    return 0 if all(ok for _, ok in met.values()) else 1


def _lines(stream: BinaryIO) -> Iterator[str]:
    for raw in stream:
        line = raw[:-1] if raw.endswith(b"\n") else raw
        if line.endswith(b"\r"):
            line = line[:-1]
        yield line.decode("utf-8", errors="replace")


def _cleaned(text: str) -> str:
    """What the bot reads of a message: the same cleaning (control and zero-width characters
    dropped, the same length cap), so a line assessed here is judged as the bot judges it."""
    from bot.config import Settings
    from bot.core.text_input import clean

    limit = Settings.model_fields["max_message_chars"].default
    return clean(text, int(limit)).text


def run_assess(
    args: argparse.Namespace, stdin: BinaryIO | None = None, stdout: TextIO | None = None
) -> int:
    from bot.nlu.assessor import Assessor
    from bot.nlu.engine import ModelMissingError, load_engine

    source = stdin or sys.stdin.buffer
    sink = stdout or sys.stdout
    nlu_dir, cache_dir = _paths(args)
    try:
        engine = load_engine(nlu_dir, cache_dir, train_if_missing=not args.no_train)
    except ModelMissingError as exc:
        print(f"signpost assess: {exc}", file=sys.stderr)
        return 2
    interactive = args.unbuffered or source.isatty()
    if interactive or not isinstance(engine, Assessor):
        for text in _lines(source):
            _emit(sink, text, engine.assess(_cleaned(text)).as_json(text))
            sink.flush()
        return 0
    batch: list[str] = []
    for text in _lines(source):
        batch.append(text)
        if len(batch) >= ASSESS_BATCH:
            _emit_batch(sink, engine, batch)
            batch = []
    _emit_batch(sink, engine, batch)
    sink.flush()
    return 0


def _emit_batch(sink: TextIO, engine: Any, batch: list[str]) -> None:
    cleaned = [_cleaned(text) for text in batch]
    for text, result in zip(batch, engine.assess_many(cleaned), strict=True):
        _emit(sink, text, result.as_json(text))


def _emit(sink: TextIO, text: str, payload: dict[str, object]) -> None:
    sink.write(json.dumps(payload, ensure_ascii=False) + "\n")
