"""The optional Rasa intent backend, against a local fake Rasa server over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from bot.core.risk import RiskLevel
from bot.nlu.rasa import RasaIntentEngine
from tests.conftest import ScriptedNlu


class FakeRasa(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, tuple[str, float]]] = {}
    broken = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/model/parse" or FakeRasa.broken:
            self.send_response(500)
            self.end_headers()
            return
        name, confidence = FakeRasa.answers.get(body["text"], ("nlu_fallback", 0.2))
        payload = json.dumps(
            {"text": body["text"], "intent": {"name": name, "confidence": confidence}}
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def rasa_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeRasa.broken = False
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_rasa_names_everyday_intents(rasa_url: str) -> None:
    FakeRasa.answers = {"can you do breathing with me": ("mindfulness_request", 0.93)}
    engine = RasaIntentEngine(ScriptedNlu(), rasa_url)
    result = engine.assess("can you do breathing with me")
    assert result.intent == "mindfulness_request" and "intent:rasa" in result.signals


def test_rasa_never_changes_risk(rasa_url: str) -> None:
    nlu = ScriptedNlu()
    nlu.say("i want to die", RiskLevel.HIGH)
    FakeRasa.answers = {"i want to die": ("greet", 0.99)}
    result = RasaIntentEngine(nlu, rasa_url).assess("i want to die")
    assert result.risk is RiskLevel.HIGH and result.intent == "acute_distress"


def test_unsure_or_broken_rasa_falls_back(rasa_url: str) -> None:
    engine = RasaIntentEngine(ScriptedNlu(), rasa_url)
    assert engine.assess("mumble").intent == "out_of_scope"
    FakeRasa.broken = True
    FakeRasa.answers = {"hello": ("greet", 0.99)}
    assert engine.assess("hello").intent == "out_of_scope"
    dead = RasaIntentEngine(ScriptedNlu(), "http://127.0.0.1:9")
    assert dead.assess("hello").intent == "out_of_scope"
