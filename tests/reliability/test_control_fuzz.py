"""The control socket under garbage and floods, against the real daemon, while it listens:
error replies, bounded memory, and the audio loop misses no turn meanwhile."""

import asyncio
import contextlib
import json
import random
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import DATA, ROOT
from voiced.audio.files import write_wav
from voiced.engines.whisper import read_audio_file

pytestmark = pytest.mark.slow

RATE = 16000
FAILURES: list[str] = []


def _speech(name):
    return (read_audio_file(DATA / name) * 32767).astype(np.int16)


def _rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


async def _ask(sock, raw, timeout=10.0):
    reader, writer = await asyncio.open_unix_connection(sock, limit=1 << 16)
    try:
        writer.write(raw)
        with contextlib.suppress(OSError):
            # a refusal may come and the server hang up before our drain(): the reply is
            # already in our buffer all the same
            await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        return json.loads(line) if line else None
    except (OSError, json.JSONDecodeError, TimeoutError) as exc:
        FAILURES.append(repr(exc))
        return None
    finally:
        writer.close()


async def _abuse(sock):
    rng = random.Random(11)
    replies = []
    # random bytes, invalid JSON, unknown commands, wrong shapes
    for _ in range(60):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))).replace(b"\n", b"")
        replies.append(await _ask(sock, raw + b"\n"))
    for raw in (b"{", b"null", b"[1,2]", b'{"cmd": 42}', b'{"cmd": "selfdestruct"}', b"\xff\xfe"):
        replies.append(await _ask(sock, raw + b"\n"))
    # a 10 MB line
    reader, writer = await asyncio.open_unix_connection(sock)
    try:
        for _ in range(10):
            writer.write(b"x" * (1 << 20))
            await writer.drain()
        writer.write(b"\n")
        await writer.drain()
        big = json.loads(await asyncio.wait_for(reader.readline(), 10))
    except ConnectionError:  # it may hang up on us, which is fine too
        big = {"ok": False, "error": "hung up"}
    finally:
        writer.close()
    # 200 clients at once, and 30 that connect and never read or write
    idle = [await asyncio.open_unix_connection(sock) for _ in range(30)]
    flood = await asyncio.gather(
        *(_ask(sock, b'{"cmd": "status"}\n', timeout=30) for _ in range(200))
    )
    for _, writer in idle:
        writer.close()
    return replies, big, flood


def test_garbage_and_floods_on_the_socket_while_two_questions_are_answered(tmp_path):
    q1, q2 = _speech("voice2json_what_time_is_it.wav"), _speech("speechbrain_spk2_snt2.wav")
    silence = lambda s: np.zeros(int(s * RATE), np.int16)  # noqa: E731
    write_wav(
        tmp_path / "in.wav", np.concatenate([silence(4), q1, silence(10), q2, silence(8)]), RATE
    )
    sock = tmp_path / "control.sock"
    log = tmp_path / "voiced.log"
    with log.open("w") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "voiced", "run", "-v", "--input-file", str(tmp_path / "in.wav")]
            + ["--output-file", str(tmp_path / "out.wav"), "--control", str(sock)],
            cwd=ROOT,
            stdout=out,
            stderr=out,
        )
    deadline = time.monotonic() + 120
    while not sock.is_socket():
        assert daemon.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    before = _rss_kb(daemon.pid)
    replies, big, flood = asyncio.run(_abuse(str(sock)))
    after = _rss_kb(daemon.pid)
    status = asyncio.run(_ask(str(sock), b'{"cmd": "status"}\n'))
    assert daemon.wait(timeout=120) == 0, log.read_text()

    got = [r for r in replies if r is not None]
    assert got and all(r["ok"] is False and r["error"] for r in got), got[:5]
    assert big["ok"] is False
    answered = [r for r in flood if r is not None]
    assert len(answered) == 200, FAILURES[-20:]  # each got a reply: served, or "too many"
    assert all(r["ok"] or r["error"] == "too many clients" for r in answered)
    assert status is not None and status["ok"]
    assert after - before < 50_000, (before, after)  # bounded: not the 10 MB line, kept
    heard = [x for x in log.read_text().splitlines() if "voiced.pipeline: heard" in x]
    assert len(heard) == 2 and all(", said ''" not in x for x in heard), heard
