"""The terminal chat and `signpost assess`, run as a person would: the real command, real model."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.texts import Texts
from tests.conftest import model_cache_dir

ROOT = Path(__file__).resolve().parents[2]
TEXTS = Texts.load(ROOT / "responses")


def signpost(args: list[str], stdin: bytes, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    env = {
        **os.environ,
        "SIGNPOST_DATA_DIR": str(tmp_path),
        "SIGNPOST_NLU__CACHE_DIR": str(model_cache_dir()),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_piped_chat_welcomes_then_gives_uk_crisis_reply(tmp_path: Path) -> None:
    done = signpost(["chat", "--region", "GB"], b"hi\nI want to die\n", tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    assert TEXTS.get("welcome") in out
    assert TEXTS.get("privacy") in out
    assert "999" in out  # the UK emergency number, from resources/helplines/GB.yml
    assert "116 123" in out  # Samaritans, from the same file
    assert TEXTS.lines("crisis.high")[0] in out
    assert "Talk to a person" in out
    assert out.index(TEXTS.get("welcome")) < out.index(TEXTS.lines("crisis.high")[0])


@pytest.mark.slow
def test_chat_survives_bad_input(tmp_path: Path) -> None:
    lines = [b"", b"x" * 1_000_000, b"\xff\xfe\x00bad", b"\x1b[31mred\x07", "🙂🙂".encode(), b"1"]
    done = signpost(["chat"], b"\n".join(lines) + b"\n", tmp_path)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.count(b"\n\n") >= len(lines)


@pytest.mark.slow
def test_assess_writes_one_json_line_per_input_line(tmp_path: Path) -> None:
    lines = [
        b"",
        b"x" * 1_000_000,
        b"\xff\xfe invalid utf-8",
        b"ctrl \x01\x02\x1b",
        "😭😭😭".encode(),
        b"i'm going to kill myself tonight",
        b"this homework is killing me",
    ]
    done = signpost(["assess"], b"\n".join(lines) + b"\n", tmp_path)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(rows) == len(lines)
    for row in rows:
        assert set(row) == {"text", "risk", "intent", "confidence", "signals"}
        assert row["risk"] in {"none", "low", "medium", "high", "critical"}
        assert 0.0 <= row["confidence"] <= 1.0
    assert rows[5]["risk"] == "critical"
    assert rows[6]["risk"] == "none"


def test_help_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, check=False, timeout=60
    )
    out = done.stdout.decode()
    for command in ("run", "chat", "assess", "nlu", "helplines", "config", "db", "purge"):
        assert f"    {command}" in out, command


def check_config(path: Path, text: str) -> subprocess.CompletedProcess[bytes]:
    path.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(path), "config", "check"],
        capture_output=True,
        check=False,
        timeout=60,
    )


def test_bad_config_exits_2_with_file_key_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "config.yml"
    done = check_config(bad, "escalation:\n  reping_after_minutes: soon\n")
    assert done.returncode == 2
    err = done.stderr.decode()
    assert str(bad) in err and "escalation.reping_after_minutes" in err


def test_secret_in_config_file_is_refused(tmp_path: Path) -> None:
    done = check_config(tmp_path / "config.yml", "telegram:\n  token: '123:abc'\n")
    assert done.returncode == 2
    assert "telegram.token" in done.stderr.decode()


def test_a_broken_responses_file_is_a_clear_error(tmp_path: Path) -> None:
    import shutil

    content = tmp_path / "content"
    for folder in ("responses", "resources", "nlu"):
        shutil.copytree(ROOT / folder, content / folder)
    (content / "responses" / "en.yml").write_text("welcome: [unclosed\n")
    config = tmp_path / "config.yml"
    config.write_text(f"content_dir: {content}\ndata_dir: {tmp_path / 'data'}\n")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "chat"],
        input=b"hi\n",
        capture_output=True,
        check=False,
        timeout=600,
        env={**os.environ, "SIGNPOST_NLU__CACHE_DIR": str(model_cache_dir())},
    )
    assert done.returncode == 2, done.stderr.decode()[-1000:]
    assert "en.yml" in done.stderr.decode() and "Traceback" not in done.stderr.decode()


@pytest.mark.slow
def test_terminal_welcomes_at_start_and_ctrl_c_ends_it_at_once(tmp_path: Path) -> None:
    """In a real terminal: the welcome and the prompt appear before anything is typed, and
    Ctrl-C at the prompt ends the chat without waiting for Enter."""
    import pty
    import select
    import signal
    import time

    env = {
        **os.environ,
        "SIGNPOST_DATA_DIR": str(tmp_path),
        "SIGNPOST_NLU__CACHE_DIR": str(model_cache_dir()),
    }
    pid, fd = pty.fork()
    if pid == 0:  # the child: the chat, in the terminal
        os.execve(sys.executable, [sys.executable, "-m", "bot", "chat"], env)
    seen = b""
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
            if TEXTS.lines("welcome")[0].encode() in seen and seen.rstrip().endswith(b">"):
                break
        screen = seen.decode(errors="replace")
        assert TEXTS.lines("welcome")[0] in screen, screen[-2000:]
        assert TEXTS.get("menu_prompt") in screen
        os.kill(pid, signal.SIGINT)
        pressed = time.monotonic()
        while time.monotonic() - pressed < 10:
            done, _status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            with contextlib.suppress(OSError):
                if select.select([fd], [], [], 0.1)[0]:
                    os.read(fd, 65536)
        else:
            pytest.fail("Ctrl-C did not end the chat within 10 s")
        assert time.monotonic() - pressed < 5
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
