"""Logging set-up. Logs never contain message text or tokens.

Our own code logs ids, levels and exception types only, and SQLAlchemy runs with
`hide_parameters`. Some libraries log request payloads or URLs at DEBUG/INFO (aiosqlite logs
every statement with its parameters; httpx logs URLs, which hold the Telegram token), so their
loggers are pinned to WARNING whatever level the rest runs at.

`logging.format: json` writes one JSON object per line (for a log collector): the time, level,
logger, the event (the log call's fixed message) and the `extra=` fields our code passes,
which are ids, levels and error class names by the rule above. A small stdlib formatter: the
fields are few and fixed, so structlog would add a dependency without adding safety.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

PAYLOAD_LOGGERS = ("aiosqlite", "asyncpg", "httpx", "httpcore", "telegram.ext", "discord.http")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# attributes every LogRecord has; anything else on a record came from `extra=`
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(verbose: bool = False, *, json_lines: bool = False) -> None:
    """Text at WARNING (INFO with -v) for a terminal. JSON lines replace it (once the settings
    are read) at INFO: a service's log collector wants every event."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(
        level=logging.INFO if verbose or json_lines else logging.WARNING,
        handlers=[handler],
        force=json_lines,
    )
    quiet_payload_loggers()


def quiet_payload_loggers() -> None:
    for name in PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.WARNING, logger.level))
