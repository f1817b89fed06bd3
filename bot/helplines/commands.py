"""`signpost helplines validate | show | coverage`. Handlers return exit codes."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from bot.content import ContentPaths
from bot.core.texts import ResponsesError, Texts
from bot.helplines.directory import HelplineDataError, HelplineDirectory
from bot.helplines.regions import resolve_region
from bot.helplines.render import render_helplines
from bot.helplines.validate import validate_path
from bot.helplines.vocabulary import UnknownFilterError
from bot.helplines.zones import region_zone


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `helplines` with its subcommands to the `signpost` parser."""
    parser = subparsers.add_parser("helplines", help="check and inspect helpline data")
    sub = parser.add_subparsers(dest="helplines_command", metavar="ACTION", required=True)

    validate = sub.add_parser("validate", help="check helpline files (CI runs this)")
    validate.add_argument("path", nargs="?", type=Path, help="folder or file (default: all)")
    validate.add_argument("--today", type=date.fromisoformat, help=argparse.SUPPRESS)
    validate.set_defaults(handler=cmd_validate)

    show = sub.add_parser("show", help="print the helplines for one region")
    show.add_argument("region", help="region code or country name (GB, US-CA, Deutschland)")
    show.add_argument("--open-now", action="store_true", help="only lines open right now")
    show.add_argument("--topic", help="only lines for this topic (suicide, self-harm, ...)")
    show.add_argument("--audience", help="only lines for these people (lgbtq, veterans, ...)")
    show.add_argument("--language", help="only lines answering in this language (ISO 639-1)")
    show.add_argument(
        "--at",
        type=datetime.fromisoformat,
        help="pretend it is this time (ISO; without an offset, the region's own local time)",
    )
    show.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    show.set_defaults(handler=cmd_show)

    coverage = sub.add_parser("coverage", help="write docs/helplines.md and its chart")
    coverage.add_argument("--out", type=Path, help="markdown file (default docs/helplines.md)")
    coverage.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    coverage.add_argument("--today", type=date.fromisoformat, help=argparse.SUPPRESS)
    coverage.set_defaults(handler=cmd_coverage)


def _texts() -> Texts | None:
    try:
        return Texts.load(ContentPaths.default().responses)
    except ResponsesError:
        return None


def cmd_validate(args: argparse.Namespace) -> int:
    path: Path = args.path or ContentPaths.default().helplines
    texts = _texts()
    today = args.today or datetime.now(UTC).date()
    report = validate_path(path, today, set(texts.entries) if texts else None)
    for issue in report.issues:
        print(issue.format())
    print(report.summary())
    return 0 if report.ok else 1


def cmd_show(args: argparse.Namespace) -> int:
    folder: Path = args.path or ContentPaths.default().helplines
    texts = _texts()
    if texts is None:
        print("signpost: responses/en.yml could not be loaded", file=sys.stderr)
        return 1
    try:
        directory = HelplineDirectory.load(folder)
    except HelplineDataError as exc:
        print(f"signpost: {exc}", file=sys.stderr)
        return 1
    code = resolve_region(args.region, directory.codes()) or args.region.upper()
    region = directory.for_region(code)
    now: datetime = args.at or datetime.now(UTC)
    if now.tzinfo is None:  # a wall-clock time in the region ("Saturday 03:00 there")
        now = now.replace(tzinfo=region_zone(code, directory.region_file(region.code)))
    try:
        filters = directory.vocabulary.filters(
            topic=args.topic,
            audience=args.audience,
            language=args.language,
            open_now=args.open_now,
        )
    except UnknownFilterError as exc:
        print(f"signpost: {exc}", file=sys.stderr)
        return 2
    print(render_helplines(region, texts, now, filters=filters, limit=len(region.services) or 1))
    if region.is_fallback:
        print(f"(no file for {code}: this is the international fallback)", file=sys.stderr)
        return 1
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    from bot.helplines.coverage import write_coverage

    content = ContentPaths.default()
    folder: Path = args.path or content.helplines
    out: Path = args.out or content.root / "docs" / "helplines.md"
    today = args.today or datetime.now(UTC).date()
    try:
        directory = HelplineDirectory.load(folder)
    except HelplineDataError as exc:
        print(f"signpost: {exc}", file=sys.stderr)
        return 1
    texts = _texts()

    def name_of(key: str) -> str:
        name_key = f"helplines.continents.{key}"
        return texts.get(name_key) if texts and texts.has(name_key) else key

    chart = write_coverage(directory, out, today, name_of)
    print(f"wrote {out} and {chart}")
    return 0
