"""A built wheel carries the content folders and finds them once installed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_carries_content_and_finds_it(tmp_path: Path) -> None:
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr.decode()[-2000:]
    wheel = next((tmp_path / "dist").glob("signpost_bot-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(site)
    for needed in (
        "bot/_content/responses/en.yml",
        "bot/_content/resources/helplines/GB.yml",
        "bot/_content/config.yml",
        "bot/storage/migrations/versions/0001_initial.py",
        "bot/storage/migrations/versions/0002_message_limits.py",
    ):
        assert needed in names, needed
    assert any(n.startswith("bot/_content/nlu/intents/") for n in names)
    probe = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import bot.content as c; "
            "print(c.content_root())",
            str(site),
        ],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr.decode()
    assert Path(probe.stdout.decode().strip()) == site / "bot" / "_content"
