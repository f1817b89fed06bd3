"""`nlu.backend: rasa` against a REAL Rasa 3.6 server (the one `make rasa` trains on `nlu/`).

The server is started from the Rasa environment kept outside the repo (`SIGNPOST_RASA_VENV`,
default `~/.cache/signpost/rasa-venv`; model `SIGNPOST_RASA_MODEL`, by default
`SIGNPOST_RASA_HOME/models/signpost.tar.gz`).
Dialogue turns go through the App built from settings, as in production; then the server is
killed mid-conversation and the bot must carry on with its built-in intents, crisis path intact.
When the environment or the model is missing the tests are skipped and say so (building it
takes about half an hour: see docs/benchmarks.md); the fake-server tests in
test_nlu_rasa_backend.py run everywhere.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import App, build
from bot.config import load_settings
from bot.content import ContentPaths
from bot.core.identity import pseudonymise
from bot.core.messages import ChatRef, Inbound, ReplyKind
from bot.core.risk import RiskLevel
from bot.nlu.rasa import RasaIntentEngine
from tests.conftest import ROOT

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

CACHE = Path.home() / ".cache" / "signpost"
RASA_VENV = Path(os.environ.get("SIGNPOST_RASA_VENV") or CACHE / "rasa-venv")
RASA_HOME = Path(os.environ.get("SIGNPOST_RASA_HOME") or CACHE / "rasa")
MODEL = Path(os.environ.get("SIGNPOST_RASA_MODEL") or RASA_HOME / "models" / "signpost.tar.gz")
EVERYDAY = "can we do a breathing exercise"  # mindfulness_request in nlu/intents
CRISIS = "i want to kill myself tonight"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/status", timeout=5) as response:
            return bool(json.load(response).get("model_file"))
    except OSError:
        return False


def _parse(url: str, text: str) -> dict[str, object]:
    request = urllib.request.Request(
        url + "/model/parse",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return dict(json.load(response).get("intent") or {})


@pytest.fixture(scope="module")
def rasa_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    rasa = RASA_VENV / "bin" / "rasa"
    if not rasa.exists() or not MODEL.exists():
        pytest.skip(f"no Rasa environment/model ({rasa}, {MODEL}): run `make rasa` first")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(rasa), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port), "-m", str(MODEL)],
        cwd=tmp_path_factory.mktemp("rasa"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300  # TensorFlow takes a while to import on a busy box
        while not _ready(url):
            assert proc.poll() is None, "rasa run exited before it was ready"
            assert time.monotonic() < deadline, "rasa run was not ready in 300 s"
            time.sleep(0.5)
        for _ in range(5):  # the first parses build TensorFlow's graphs: seconds each
            _parse(url, EVERYDAY)
        yield url, proc
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
async def app(
    rasa_server: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> AsyncIterator[App]:
    env = {
        "SIGNPOST_DATA_DIR": str(tmp_path),
        "SIGNPOST_SECRET_KEY": "test-secret-of-at-least-32-bytes!",
        "SIGNPOST_NLU__BACKEND": "rasa",
        "SIGNPOST_NLU__RASA_URL": rasa_server[0],
    }
    if os.environ.get("SIGNPOST_CACHE_DIR"):
        env["SIGNPOST_CACHE_DIR"] = os.environ["SIGNPOST_CACHE_DIR"]
    application = await build(load_settings(ROOT / "config.yml", env), content=ContentPaths(ROOT))
    yield application
    await application.close()


def _asked_rasa(app: App, text: str) -> bool:
    """Whether Rasa named the intent. Its deadline is short (0.3 s), so on a busy machine one
    slow answer is the designed fallback, not a failure: three tries."""
    return any("intent:rasa" in app.nlu.assess(text).signals for _ in range(3))


async def test_real_rasa_names_intents_and_the_bot_survives_its_death(
    app: App, rasa_server: tuple[str, subprocess.Popen[bytes]]
) -> None:
    assert isinstance(app.nlu, RasaIntentEngine)
    user = pseudonymise(app.pepper, "console", "alice")

    def say(text: str) -> Inbound:
        return Inbound(ChatRef("console", "chat-alice"), user, text, datetime.now(UTC))

    # the real server answers: an everyday intent comes from Rasa
    assert _asked_rasa(app, EVERYDAY), _parse(rasa_server[0], EVERYDAY)
    assert app.nlu.assess(EVERYDAY).intent == "mindfulness_request"
    outcome = await app.handle(say("hello"))
    assert outcome.replies
    # risk is never Rasa's: a crisis message is judged by the built-in assessor alone
    crisis = app.nlu.assess(CRISIS)
    assert crisis.risk >= RiskLevel.HIGH and "intent:rasa" not in crisis.signals

    # the server dies mid-conversation
    rasa_server[1].kill()
    rasa_server[1].wait()
    started = time.monotonic()
    fallback = app.nlu.assess(EVERYDAY)
    assert "intent:rasa" not in fallback.signals
    assert fallback.intent == "mindfulness_request"  # the built-in classifier's own answer
    assert time.monotonic() - started < 1.0
    outcome = await app.handle(say(EVERYDAY))
    assert outcome.replies
    outcome = await app.handle(say(CRISIS))
    assert any(reply.kind is ReplyKind.CRISIS for reply in outcome.replies)
