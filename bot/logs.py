"""Logging set-up. Logs never contain message text or tokens.

Our own code logs ids, levels and exception types only, and SQLAlchemy runs with
`hide_parameters`. Some libraries log request payloads or URLs at DEBUG/INFO (aiosqlite logs
every statement with its parameters; httpx logs URLs, which hold the Telegram token), so their
loggers are pinned to WARNING whatever level the rest runs at.
"""

from __future__ import annotations

import logging
import sys

PAYLOAD_LOGGERS = ("aiosqlite", "asyncpg", "httpx", "httpcore", "telegram.ext", "discord.http")


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    quiet_payload_loggers()


def quiet_payload_loggers() -> None:
    for name in PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.WARNING, logger.level))
