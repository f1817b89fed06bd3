"""The `signpost` command. Each handler returns an exit code; only `main` exits."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.content import ContentPaths
from bot.logs import configure_logging

log = logging.getLogger("signpost")

Handler = Callable[[argparse.Namespace], int]


def _content_errors() -> tuple[type[Exception], ...]:
    from bot.core.texts import ResponsesError
    from bot.helplines.directory import HelplineDataError
    from bot.nlu.data import NluDataError
    from bot.nlu.engine import ModelMissingError
    from bot.nlu.patterns import PatternError

    return (ResponsesError, HelplineDataError, NluDataError, PatternError, ModelMissingError)


def _config_path(args: argparse.Namespace) -> Path:
    if args.config:
        return Path(args.config)
    env = os.environ.get("SIGNPOST_CONFIG")
    return Path(env) if env else ContentPaths.default().config


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(_config_path(args))


def _region_arg(value: str) -> str:
    return value.strip().upper()


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.adapters.console import run_console
    from bot.app import build

    settings = settings_from(args)

    async def go() -> int:
        app = await build(settings)
        try:
            region = None
            if args.region:
                region = app.signposts.resolve(args.region)
                if region is None:
                    print(f"signpost: unknown region {args.region!r}", file=sys.stderr)
                    return 2
            return await run_console(app, region=region)
        finally:
            await app.close()

    return asyncio.run(go())


def cmd_run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    platforms = settings.platforms_configured
    if not platforms:
        print(
            "signpost: no TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN set: starting a terminal chat",
            file=sys.stderr,
        )
        return cmd_chat(args)
    from bot.runner import run_platforms

    if settings.logging.format == "json":
        configure_logging(args.verbose, json_lines=True)
    return asyncio.run(run_platforms(settings, platforms))


def cmd_config_check(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    platforms = ", ".join(settings.platforms_configured) or "none"
    print(f"{_config_path(args)}: ok (platforms: {platforms})")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.storage.store import Store, StoreUnavailable

    settings = settings_from(args)

    async def go() -> int:
        try:
            store = await Store.open(
                settings.database_url, timeout=settings.storage.timeout_seconds
            )
        except StoreUnavailable as exc:
            print(
                f"signpost db upgrade: the database did not answer ({exc.__cause__ or exc}); "
                "check storage.url (or SIGNPOST_STORAGE__URL) and that the database is running",
                file=sys.stderr,
            )
            return 1
        await store.close()
        print("signpost db upgrade: database is up to date")
        return 0

    return asyncio.run(go())


def cmd_purge(args: argparse.Namespace) -> int:
    from bot.storage.store import Store

    settings = settings_from(args)

    async def go() -> int:
        store = await Store.open(settings.database_url)
        try:
            counts = await store.purge(
                settings.retention.conversation_days, settings.retention.case_days
            )
        finally:
            await store.close()
        print(", ".join(f"{n} {what}" for what, n in counts.items()) + " removed")
        return 0

    return asyncio.run(go())


def cmd_report(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.core.texts import Texts
    from bot.ops.report import parse_span, report_command

    settings = settings_from(args)
    try:
        span = parse_span(args.since)
    except ValueError as exc:
        print(f"signpost: {exc}", file=sys.stderr)
        return 2
    content = ContentPaths(settings.content_dir) if settings.content_dir else ContentPaths.default()
    texts = Texts.load(content.responses, settings.locale)
    plot = None if args.no_plot else Path(args.plot)
    summary, written = asyncio.run(
        report_command(settings.database_url, texts, span, plot, datetime.now(UTC))
    )
    print(summary)
    if written is not None:
        print(f"plot: {written}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signpost",
        description="Signpost: a crisis-signposting chat bot (coping support, helplines, "
        "moderator hand-off).",
    )
    parser.add_argument(
        "--config", help="path to config.yml (default: $SIGNPOST_CONFIG or the bundled one)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "run", help="start the bot: Telegram/Discord with tokens, else a terminal chat"
    )
    run.add_argument("--region", type=_region_arg, help="region for the terminal chat (e.g. GB)")
    run.set_defaults(handler=cmd_run)

    chat = sub.add_parser("chat", help="chat with the bot in the terminal (SQLite by default)")
    chat.add_argument("--region", help="your country or region, e.g. GB, Germany, US-CA")
    chat.set_defaults(handler=cmd_chat)

    config = sub.add_parser("config", help="check the configuration file and environment")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_sub.add_parser("check", help="validate config.yml and the environment").set_defaults(
        handler=cmd_config_check
    )

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser("upgrade", help="apply database migrations").set_defaults(
        handler=cmd_db_upgrade
    )
    sub.add_parser("purge", help="delete data older than the retention limits").set_defaults(
        handler=cmd_purge
    )

    report = sub.add_parser(
        "report", help="the moderators' report: cases, time to claim, false alarms (counts only)"
    )
    report.add_argument("--since", default="7d", help="period: 7d, 24h, 2w, 90m (default 7d)")
    report.add_argument(
        "--plot", default="signpost-time-to-claim.png", help="where to write the PNG plot"
    )
    report.add_argument("--no-plot", action="store_true", help="print the summary only")
    report.set_defaults(handler=cmd_report)

    from bot.helplines.commands import register as register_helplines
    from bot.nlu.commands import register as register_nlu

    register_nlu(sub)
    register_helplines(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    handler: Handler = args.handler
    CONTENT_ERRORS = _content_errors()
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"signpost: bad configuration\n{exc}", file=sys.stderr)
        return 2
    except CONTENT_ERRORS as exc:  # a maintainer's YAML edit broke a content file
        print(f"signpost: bad content file\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
