"""The control socket: the protocol under bad input and floods, and the real daemon behind it."""

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, voiced
from voiced.service.control import (
    EXIT_NOT_RUNNING,
    EXIT_REFUSED,
    MAX_LINE,
    ControlServer,
    RequestError,
)


async def echo_handler(request):
    if request["cmd"] == "boom":
        raise RuntimeError("handler bug")
    if request["cmd"] != "ping":
        raise RequestError(f"unknown command {request['cmd']!r}")
    return {"pong": request.get("n")}


class Served:
    """A ControlServer on a temporary socket, with raw clients to poke it."""

    def __init__(self, path: Path, **kw) -> None:
        self.server = ControlServer(path, echo_handler, **kw)

    async def __aenter__(self):
        await self.server.start()
        return self

    async def __aexit__(self, *exc):
        await self.server.close()

    async def connect(self):
        return await asyncio.open_unix_connection(str(self.server.path), limit=1 << 20)

    async def ask(self, raw: bytes):
        reader, writer = await self.connect()
        writer.write(raw)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 5)
        writer.close()
        return json.loads(line)


def served(tmp_path, **kw):
    return Served(tmp_path / "run" / "control.sock", **kw)


def test_requests_get_replies_and_bad_ones_get_errors_on_the_same_connection(tmp_path):
    async def main():
        async with served(tmp_path) as s:
            reader, writer = await s.connect()
            replies = []
            for raw in (
                b'{"cmd": "ping", "n": 1}\n',
                b"this is not json\n",
                b'["cmd", "ping"]\n',
                b'{"cmd": "launch"}\n',
                b'{"cmd": "boom"}\n',
                b"\n",
                b'{"cmd": "ping", "n": 2}\n',
            ):
                writer.write(raw)
            await writer.drain()
            for _ in range(6):
                replies.append(json.loads(await asyncio.wait_for(reader.readline(), 5)))
            writer.close()
            return replies

    replies = asyncio.run(main())
    assert replies[0] == {"ok": True, "pong": 1}
    assert replies[1]["ok"] is False and "malformed" in replies[1]["error"]
    assert replies[2]["ok"] is False and "malformed" in replies[2]["error"]
    assert replies[3] == {"ok": False, "error": "unknown command 'launch'"}
    assert replies[4]["ok"] is False and "RuntimeError: handler bug" in replies[4]["error"]
    assert replies[5] == {"ok": True, "pong": 2}


def test_an_oversized_message_is_refused_and_the_server_goes_on(tmp_path):
    async def main():
        async with served(tmp_path) as s:
            big = await s.ask(b'{"cmd": "ping", "pad": "' + b"x" * (MAX_LINE * 4) + b'"}\n')
            after = await s.ask(b'{"cmd": "ping", "n": 3}\n')
            return big, after

    big, after = asyncio.run(main())
    assert big["ok"] is False and "too long" in big["error"]
    assert after == {"ok": True, "pong": 3}


def test_the_socket_is_private_and_only_the_daemons_user_is_served(tmp_path):
    async def main():
        async with served(tmp_path, uid=os.getuid() + 1) as s:
            mode = stat.S_IMODE(s.server.path.stat().st_mode)
            folder = stat.S_IMODE(s.server.path.parent.stat().st_mode)
            return mode, folder, await s.ask(b'{"cmd": "ping"}\n')

    mode, folder, reply = asyncio.run(main())
    assert mode == 0o600 and folder == 0o700
    assert reply["ok"] is False and "permission denied" in reply["error"]


def test_a_flood_of_clients_neither_crashes_nor_stalls_it(tmp_path):
    async def main():
        async with served(tmp_path) as s:
            idle = [await s.connect() for _ in range(40)]  # connect and never say a word
            flood = await asyncio.gather(
                *(s.ask(b'{"cmd": "ping"}\n') for _ in range(100)), return_exceptions=True
            )
            for _, writer in idle:
                writer.close()
            await asyncio.sleep(0.1)
            return flood, await s.ask(b'{"cmd": "ping", "n": 4}\n')

    flood, after = asyncio.run(main())
    answered = [r for r in flood if isinstance(r, dict)]
    assert len(answered) == 100  # every client got a reply: served, or told it is too many
    assert all(r["ok"] or r["error"] == "too many clients" for r in answered)
    assert after == {"ok": True, "pong": 4}


def test_an_event_listener_that_stops_reading_is_dropped_not_waited_for(tmp_path):
    async def main():
        async with served(tmp_path) as s:
            reader, writer = await asyncio.open_unix_connection(str(s.server.path), limit=1024)
            writer.write(b'{"cmd": "events"}\n')
            await writer.drain()
            assert json.loads(await reader.readline())["streaming"] == "events"
            started = time.monotonic()
            for i in range(20000):  # far more than the socket buffers and the backlog hold
                s.server.publish({"event": "state", "n": i, "pad": "x" * 200})
                if i % 100 == 0:
                    await asyncio.sleep(0)
            publishing_s = time.monotonic() - started
            reply = await s.ask(b'{"cmd": "ping", "n": 5}\n')
            listeners = len(s.server._streams)
            writer.close()
            return publishing_s, reply, listeners

    _, reply, listeners = asyncio.run(main())
    assert reply == {"ok": True, "pong": 5}
    assert listeners == 0


def test_a_stale_socket_is_replaced_but_a_live_one_is_not_stolen(tmp_path):
    from voiced.errors import VoicedError

    async def main():
        async with served(tmp_path) as first:
            with pytest.raises(VoicedError, match="already running"):
                await ControlServer(first.server.path, echo_handler).start()
            # a crash leaves the socket file behind: the next start takes it over
            first.server._server.close()
            await first.server._server.wait_closed()
            assert first.server.path.is_socket()
            async with Served(first.server.path) as second:
                return await second.ask(b'{"cmd": "ping", "n": 6}\n')

    assert asyncio.run(main()) == {"ok": True, "pong": 6}


# --- the real daemon behind the socket ---------------------------------------------------


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """`voiced run` on a long silence (so it keeps running), with its control socket."""
    from voiced.audio.files import write_wav

    tmp = tmp_path_factory.mktemp("daemon")
    silence = tmp / "silence.wav"
    write_wav(silence, np.zeros(16000 * 240, dtype=np.int16), 16000)
    sock = tmp / "control.sock"
    log = tmp / "voiced.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "voiced", "run", "--input-file", str(silence)]
            + ["--output-file", str(tmp / "out.wav"), "--control", str(sock)],
            cwd=ROOT,
            stdout=out,
            stderr=out,
        )
    deadline = time.monotonic() + 120
    while not sock.is_socket():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    yield sock, log
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0, log.read_text()
    assert not sock.exists()  # cleaned up on the way out


def ctl(sock, *args):
    return voiced(*args, "--socket", str(sock), timeout=120)


def test_status_tells_state_models_and_devices(daemon):
    sock, _ = daemon
    result = ctl(sock, "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["state"] == "listening"
    assert status["models"]["stt"] == "whisper-tiny.en"
    assert status["devices"]["input"].endswith("silence.wav")
    plain = ctl(sock, "status")
    assert plain.stdout.startswith("state: listening")


def test_mute_and_unmute_are_seen_in_the_status(daemon):
    sock, log = daemon
    assert ctl(sock, "mute").stdout.strip() == "microphone muted"
    assert json.loads(ctl(sock, "status", "--json").stdout)["state"] == "muted"
    assert ctl(sock, "unmute").stdout.strip() == "microphone on"
    assert json.loads(ctl(sock, "status", "--json").stdout)["state"] == "listening"
    assert "microphone muted" in log.read_text()


def test_a_typed_question_is_answered_aloud_and_streamed_as_events(daemon):
    sock, _ = daemon
    events = subprocess.Popen(
        [sys.executable, "-m", "voiced", "events", "--json", "--socket", str(sock)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert json.loads(events.stdout.readline()) == {"event": "state", "state": "listening"}
        asked = ctl(sock, "ask", "--daemon", "Hello, who are you?")
        assert asked.returncode == 0, asked.stderr
        assert len(asked.stdout.split()) >= 2
        seen = []
        while not seen or seen[-1].get("event") != "turn":
            seen.append(json.loads(events.stdout.readline()))
    finally:
        events.terminate()
        events.wait(timeout=10)
    states = [e["state"] for e in seen if e["event"] == "state"]
    assert "speaking" in states
    turn = seen[-1]
    assert turn["heard"] == "Hello, who are you?" and turn["reply"] == asked.stdout.strip()
    assert turn["timings"]["first_played_s"] is not None


def test_say_speaks_through_the_daemon_and_cancel_stops_it(daemon):
    sock, _ = daemon
    assert ctl(sock, "say", "--daemon", "One moment. " * 10).returncode == 0
    assert json.loads(ctl(sock, "status", "--json").stdout)["state"] == "speaking"
    assert ctl(sock, "cancel").returncode == 0
    assert json.loads(ctl(sock, "status", "--json").stdout)["state"] == "listening"


def test_bad_requests_from_the_command_line_are_one_line_errors(daemon):
    sock, _ = daemon
    empty = ctl(sock, "say", "--daemon", "   ")
    assert empty.returncode == EXIT_REFUSED
    assert empty.stderr.strip() == "voiced: say: a non-empty text is needed"


def test_without_a_daemon_the_commands_say_so(tmp_path):
    result = ctl(tmp_path / "nobody.sock", "status")
    assert result.returncode == EXIT_NOT_RUNNING
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("voiced: voiced is not running")


def test_a_timer_asked_without_the_daemon_flag_is_handed_to_the_daemon(daemon):
    # `voiced ask` alone cannot say a timer when it is due; the running daemon can
    sock, log = daemon
    asked = ctl(sock, "ask", "Set a timer for ten minutes called pasta.")
    assert asked.returncode == 0, asked.stderr
    assert "handed to the running daemon" in asked.stderr
    assert "I can only keep timers" not in asked.stdout and "10 minute" in asked.stdout
    left = ctl(sock, "ask", "How long is left on the pasta timer?")
    assert "left" in left.stdout, left.stdout
    cancelled = ctl(sock, "ask", "Cancel the pasta timer.")
    assert cancelled.returncode == 0 and "pasta" in cancelled.stdout.lower(), cancelled.stdout
