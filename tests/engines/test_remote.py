"""Remote engines with the local one as fallback: the logic on fakes, then the real
thing, voiced's LLM on llama-cpp-python's own OpenAI-compatible server on loopback."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.fakes import ScriptedLlm
from voiced.config import LlmSettings, load_settings
from voiced.engines.remote import Fallback, FallbackChat, OpenAiChat, RemoteError

HELLO = [{"role": "user", "content": "Say hello."}]


class FlakyRemote:
    """Streams its replies; fails before or after the first piece when told to."""

    def __init__(self, replies, fail_at=None):
        self.replies = list(replies)
        self.fail_at = fail_at  # None, 0 (before any piece) or 1 (after the first)
        self.calls = 0

    def stream(self, messages):
        self.calls += 1
        reply = self.replies.pop(0)
        for i, word in enumerate(reply.split()):
            if i == self.fail_at:
                raise RemoteError("connection refused")
            yield word + " "

    def complete(self, messages, max_tokens):
        self.calls += 1
        if self.fail_at is not None:
            raise RemoteError("connection refused")
        return self.replies.pop(0)


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _chat(remote, local_replies, clock):
    chat = FallbackChat(remote, ScriptedLlm(local_replies), retry_s=30.0)
    chat.fallback = Fallback("the remote language model", 30.0, clock)
    return chat


def test_the_remote_answers_while_it_is_up(caplog):
    chat = _chat(FlakyRemote(["Hello from far away."]), ["Local."], Clock())
    assert "".join(chat.stream(HELLO)).strip() == "Hello from far away."
    assert not chat.fallback.down and not caplog.records


def test_an_unreachable_remote_falls_back_said_once_then_is_tried_again(caplog):
    clock = Clock()
    remote = FlakyRemote(["a b", "c d", "Back again."], fail_at=0)
    chat = _chat(remote, ["Local one.", "Local two.", "Local three."], clock)
    with caplog.at_level(logging.INFO, logger="voiced.engines.remote"):
        assert "".join(chat.stream(HELLO)) == "Local one."
        clock.t += 5  # within retry_s: not tried, the local model answers at once
        assert "".join(chat.stream(HELLO)) == "Local two."
        assert remote.calls == 1
        clock.t += 30  # tried again: still down, said no more
        assert "".join(chat.stream(HELLO)) == "Local three."
        assert remote.calls == 2
        remote.fail_at = None
        clock.t += 30
        assert "".join(chat.stream(HELLO)).strip() == "Back again."
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "unreachable" in m]) == 1, messages
    assert len([m for m in messages if "answers again" in m]) == 1, messages


def test_a_reply_the_remote_breaks_off_ends_there():
    chat = _chat(FlakyRemote(["One two three."], fail_at=1), ["Local."], Clock())
    assert "".join(chat.stream(HELLO)) == "One "  # what was said stands; not said twice
    assert chat.fallback.down


def test_complete_falls_back_too():
    chat = _chat(FlakyRemote(["x"], fail_at=0), [], Clock())
    chat.local.complete = lambda messages, max_tokens: "local facts"
    assert chat.complete(HELLO, 10) == "local facts"


def _empty_config(tmp_path):
    path = tmp_path / "voiced.toml"
    path.write_text("")
    return path


def test_config_refuses_a_remote_backend_without_its_address(tmp_path):
    from voiced.errors import ConfigError

    for overrides, key in (
        (["llm.backend=openai", "llm.remote_model=x"], "llm.url"),
        (["llm.backend=openai", "llm.url=http://127.0.0.1:1/v1"], "llm.remote_model"),
        (["llm.backend=cloud"], "llm.backend"),
    ):
        with pytest.raises(ConfigError, match=key):
            load_settings(_empty_config(tmp_path), overrides)


# -- the real server ----------------------------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def llama_server(tmp_path):
    """llama-cpp-python's OpenAI-compatible server with the default GGUF on loopback."""
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] not installed")
    settings = load_settings(_empty_config(tmp_path))
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--host", "127.0.0.1", "--port", str(port)]
        + ["--model", str(settings.llm_path), "--n_ctx", "2048"]
        + ["--n_threads", "2", "--verbose", "false"],
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 120
    while True:
        assert server.poll() is None, (tmp_path / "server.log").read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "llama server did not start"
            time.sleep(0.2)
    yield server, f"http://127.0.0.1:{port}/v1", settings
    server.terminate()
    server.wait(timeout=30)


@pytest.mark.slow
def test_the_llm_on_a_real_openai_compatible_server_then_the_server_stops(llama_server):
    from voiced.engines.llama import LlamaChat

    server, url, settings = llama_server
    llm = replace(settings.llm, backend="openai", url=url, remote_model="smollm2")
    remote = OpenAiChat(llm)
    messages = [
        {"role": "system", "content": settings.persona},
        {"role": "user", "content": "What colour is the sky on a clear day?"},
    ]
    reply = "".join(remote.stream(messages))
    assert len(reply.split()) >= 2, reply  # words, streamed from the server
    local = LlamaChat(llm, settings.llm_path)
    chat = FallbackChat(remote, local, llm.retry_s)
    assert "".join(chat.stream(messages)).strip() and not chat.fallback.down

    server.terminate()  # the server goes away mid-conversation
    server.wait(timeout=30)
    reply = "".join(chat.stream(messages))
    assert len(reply.split()) >= 2, reply  # the local model answered
    assert chat.fallback.down and chat.fallback.failures == 1


@pytest.mark.slow
def test_an_unreachable_url_is_a_remote_error_not_a_crash():
    llm = LlmSettings(backend="openai", url=f"http://127.0.0.1:{_free_port()}/v1", remote_model="x")
    with pytest.raises(RemoteError):
        "".join(OpenAiChat(llm).stream(HELLO))


@pytest.mark.slow
def test_a_wyoming_host_that_does_not_answer_is_given_up_on_connecting():
    """A server machine that is off: connecting hangs (here: a listener whose backlog is
    full drops the handshake). The connect bound ends it, not the whole exchange's."""
    from voiced.engines.remote import CONNECT_TIMEOUT_S, WyomingStt

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        queued = [socket.socket() for _ in range(3)]  # fill the backlog
        for s in queued:
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
        try:
            stt = WyomingStt(f"tcp://127.0.0.1:{port}", "en", timeout_s=600)
            with pytest.raises(RemoteError, match=f"within {CONNECT_TIMEOUT_S:g} s"):
                stt.transcribe(np.zeros(1600, dtype=np.int16))
        finally:
            for s in queued:
                s.close()
