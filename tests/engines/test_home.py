"""Home Assistant for the house: what is routed to it, its answers said as they come, the
requests it has no intent for answered here, and an outage that is never silence.

The logic is checked against a stand-in for its conversation API on loopback (the shape of
its replies); the real Home Assistant is the peer of the slow tests."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.fakes import ManualClock, ScriptedLlm, ScriptedStt, ToneTts
from voiced.config import HomeAssistantSettings, Settings
from voiced.engines.home_assistant import UNREACHABLE, HomeAssistant, looks_like_command, read_token
from voiced.errors import ConfigError
from voiced.mind.conversation import Conversation
from voiced.turn.runner import Engines, TurnRunner, text_turn
from voiced.turn.workers import Workers


class StandIn(ThreadingHTTPServer):
    """Home Assistant's `POST /api/conversation/process`, as it answers: the lamp is turned
    on, anything else has no intent; a wrong token is refused."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.asked: list[dict] = []
        self.lamp = "off"
        self.token = "secret"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def asked_which(self) -> bool:
        """Its previous answer was its question back."""
        return len(self.asked) > 1 and self.asked[-2]["text"].lower().rstrip(".") == (
            "turn on the light"
        )


class _Handler(BaseHTTPRequestHandler):
    server: StandIn

    def do_GET(self) -> None:  # noqa: N802
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            return self._send(401, {"message": "unauthorized"})
        self._send(200, {"message": "API running."})

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/api/conversation/process":
            return self._send(404, {"message": "not found"})
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            return self._send(401, {"message": "unauthorized"})
        self.server.asked.append(body)
        text, goes_on = body["text"].lower(), False
        if text.rstrip(".") == "turn on the light":  # which one? it asks back
            kind, data, speech = "action_done", {"targets": []}, "Which one, the lamp or the fan?"
            goes_on = True
        elif "lamp" in text and ("turn on" in text or self.server.asked_which()):
            self.server.lamp = "on"
            kind, data, speech = "action_done", {"targets": []}, "Turned on the light"
        else:
            kind, data = "error", {"code": "no_intent_match"}
            speech = "Sorry, I couldn't understand that"
        self._send(
            200,
            {
                "conversation_id": "01JHA",
                "continue_conversation": goes_on,
                "response": {
                    "response_type": kind,
                    "language": "en",
                    "data": data,
                    "speech": {"plain": {"speech": speech, "extra_data": None}},
                },
            },
        )

    def _send(self, status: int, reply: dict) -> None:
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def home():
    server = StandIn()
    yield server
    server.shutdown()
    server.server_close()


def runner_for(url: str, token: str = "secret", **settings) -> tuple[TurnRunner, ScriptedLlm]:
    llm = ScriptedLlm(["The capital of Australia is Canberra."] * 3)
    home = HomeAssistantSettings(url=url, retry_s=0.0, timeout_s=2.0, **settings)
    config = replace(Settings(), home_assistant=home)
    engines = Engines(stt=ScriptedStt([]), llm=llm, tts=ToneTts())
    runner = TurnRunner(
        engines, config, ManualClock(), Conversation("p", llm.count_tokens, 500), Workers()
    )
    runner.router.home = HomeAssistant(home, token)
    return runner, llm


def ask(runner: TurnRunner, text: str):
    return asyncio.run(text_turn(runner, text))


def test_a_device_command_is_done_by_home_assistant_and_its_words_are_said(home):
    runner, llm = runner_for(home.url)
    try:
        done = ask(runner, "Would you please turn on the living room lamp?")
        other = ask(runner, "What is the capital of Australia?")
        again = ask(runner, "Turn on the living room lamp.")
    finally:
        runner.workers.shutdown()
    assert home.lamp == "on" and done.reply == "Turned on the light"
    assert done.outcome.value == "home_assistant" and done.by == "home_assistant"
    # not a device command: never sent, answered here
    assert other.by == "llm" and other.reply == "The capital of Australia is Canberra."
    assert [a["text"] for a in home.asked] == [
        "Would you please turn on the living room lamp?",
        "Turn on the living room lamp.",
    ]
    # its conversation goes on: the id it gave is sent back
    assert "conversation_id" not in home.asked[0] and home.asked[1]["conversation_id"] == "01JHA"
    assert again.reply == "Turned on the light"
    # the exchange is in the history like any other
    assert {"role": "assistant", "content": "Turned on the light"} in runner.conversation.history


def test_when_home_assistant_asks_back_the_answer_goes_to_it_whatever_it_sounds_like(home):
    runner, llm = runner_for(home.url)
    try:
        which = ask(runner, "Turn on the light.")
        answer = ask(runner, "The lamp.")  # not a device command: its answer all the same
        after = ask(runner, "The lamp.")  # it asked nothing more: answered here
    finally:
        runner.workers.shutdown()
    assert which.reply == "Which one, the lamp or the fan?" and which.by == "home_assistant"
    assert answer.reply == "Turned on the light" and home.lamp == "on"
    assert [a["text"] for a in home.asked] == ["Turn on the light.", "The lamp."]
    assert home.asked[1]["conversation_id"] == "01JHA"
    assert after.by == "llm"


def test_with_prefer_home_everything_goes_there_first_and_no_intent_is_answered_here(home):
    runner, llm = runner_for(home.url, prefer="home")
    try:
        result = ask(runner, "What is the capital of Australia?")
        lamp = ask(runner, "turn off the kitchen light")  # no such light: no valid target
    finally:
        runner.workers.shutdown()
    assert [a["text"] for a in home.asked] == [
        "What is the capital of Australia?",
        "turn off the kitchen light",
    ]
    assert result.by == "llm" and result.reply == "The capital of Australia is Canberra."
    assert lamp.by == "llm"  # what it has no intent for is never "Sorry, I couldn't ..."


def test_an_outage_is_one_clear_sentence_for_commands_one_log_line_and_then_recovery(home, caplog):
    port = home.server_address[1]
    home.shutdown()
    home.server_close()  # nothing listens there now
    runner, llm = runner_for(f"http://127.0.0.1:{port}", prefer="home")
    caplog.set_level(logging.INFO, logger="voiced.engines.home_assistant")
    try:
        command = ask(runner, "Turn on the living room lamp.")
        question = ask(runner, "What is the capital of Australia?")
        command_again = ask(runner, "Turn on the living room lamp.")
        back = StandIn.__new__(StandIn)
        ThreadingHTTPServer.__init__(back, ("127.0.0.1", port), _Handler)
        back.asked, back.lamp, back.token = [], "off", "secret"
        threading.Thread(target=back.serve_forever, daemon=True).start()
        recovered = ask(runner, "Turn on the living room lamp.")
        back.shutdown()
        back.server_close()
    finally:
        runner.workers.shutdown()
    assert command.reply == UNREACHABLE and command_again.reply == UNREACHABLE
    assert question.by == "llm" and question.reply == "The capital of Australia is Canberra."
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cannot be reached" in warnings[0].getMessage()
    assert recovered.reply == "Turned on the light" and back.lamp == "on"
    assert any("answers again" in r.getMessage() for r in caplog.records)


def test_a_refused_token_is_an_outage_that_names_it(home, caplog):
    runner, _ = runner_for(home.url, token="wrong")
    caplog.set_level(logging.WARNING, logger="voiced.engines.home_assistant")
    try:
        result = ask(runner, "Turn on the living room lamp.")
    finally:
        runner.workers.shutdown()
    assert result.reply == UNREACHABLE and home.lamp == "off"
    assert "the token was refused (401)" in caplog.records[0].getMessage()


@pytest.mark.parametrize(
    "text",
    [
        "turn on the living room lamp",
        "Would you please turn on the living room lamp?",
        "Could you switch off the kitchen light",
        "Set the thermostat to 20 degrees.",
        "please dim the bedroom lights",
        "Lock the front door.",
    ],
)
def test_device_commands_are_recognised(text):
    assert looks_like_command(text)


@pytest.mark.parametrize(
    "text",
    ["What is the capital of Australia?", "Tell me a story.", "I turned forty today.", ""],
)
def test_other_requests_are_not_device_commands(text):
    assert not looks_like_command(text)


def test_the_token_comes_from_the_environment_or_a_file_only_its_owner_reads(tmp_path, monkeypatch):
    monkeypatch.delenv("VOICED_HA_TOKEN", raising=False)
    token = tmp_path / "ha.token"
    token.write_text("abc123\n")
    token.chmod(0o600)
    settings = HomeAssistantSettings(url="http://127.0.0.1:8123", token_file=str(token))
    assert read_token(settings) == "abc123"
    token.chmod(0o644)
    with pytest.raises(ConfigError, match=f"readable by others: chmod 600 {token}"):
        read_token(settings)
    with pytest.raises(ConfigError, match="cannot read"):
        read_token(replace(settings, token_file=str(tmp_path / "missing")))
    with pytest.raises(ConfigError, match="needed with url set"):
        read_token(replace(settings, token_file=""))
    monkeypatch.setenv("VOICED_HA_TOKEN", "from-env")
    assert read_token(replace(settings, token_file="")) == "from-env"
    assert os.environ["VOICED_HA_TOKEN"] == "from-env"


def test_doctor_checks_the_token_and_that_its_api_answers(home, tmp_path, monkeypatch):
    from voiced.service.doctor import FAIL, OK, WARN, home_assistant

    monkeypatch.delenv("VOICED_HA_TOKEN", raising=False)
    token = tmp_path / "ha.token"
    token.write_text("secret")
    token.chmod(0o600)

    def findings(**config):
        settings = replace(Settings(), home_assistant=HomeAssistantSettings(**config))
        return [(f.level, f.message, f.fix) for f in home_assistant(settings)]

    assert findings() == []  # not configured: nothing to check
    ((status, detail, _),) = findings(url=home.url, token_file=str(token))
    assert status == OK and detail == f"{home.url} answers with the token"
    token.write_text("stale")
    ((status, detail, fix),) = findings(url=home.url, token_file=str(token))
    assert status == WARN and "token was refused (401)" in detail and "long-lived" in fix
    ((status, detail, fix),) = findings(url="http://127.0.0.1:9", token_file=str(token))
    assert status == WARN and "unreachable" in detail and "home_assistant.url" in fix
    ((status, detail, _),) = findings(url=home.url, token_file=str(tmp_path / "none"))
    assert status == FAIL and "cannot read" in detail


def test_the_units_drop_in_opens_the_network_for_home_assistant_only():
    from voiced.service.systemd import network_drop_in

    settings = replace(
        Settings(), home_assistant=HomeAssistantSettings(url="http://192.168.1.20:8123")
    )
    drop_in = network_drop_in(settings)
    assert "home_assistant.url (192.168.1.20)" in drop_in
    assert "IPAddressAllow=localhost 192.168.1.20" in drop_in
    assert network_drop_in(Settings()) == ""
