"""`signpost assess` reads a message as the bot does: hidden characters cannot hide risk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_console import signpost


@pytest.mark.slow
def test_zero_width_characters_do_not_hide_risk_from_assess(tmp_path: Path) -> None:
    plain = "i want to kill myself tonight"
    hidden = "i want to k\u200bill my\u200dself to\u2060night\u00ad"
    done = signpost(["assess"], f"{plain}\n{hidden}\n".encode(), tmp_path)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert rows[0]["risk"] == "critical"
    assert rows[1]["risk"] == rows[0]["risk"]
    assert rows[1]["text"] == hidden, "the output names the line as it was given"
