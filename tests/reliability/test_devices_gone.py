"""The sound server goes away under the running daemon and comes back: it stays up, says it
is waiting, does not spin, and listens (and speaks) again once the server is back."""

import json
import os
import shutil
import signal
import subprocess
import time
from functools import partial

import pytest

from tests.conftest import DATA, voiced
from tests.pulse import TOOLS, start_daemon_on_pulse, start_pulse, wait_until

pytestmark = pytest.mark.slow


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_the_sound_server_restarts_under_the_daemon(tmp_path):
    if missing := [t for t in TOOLS if not shutil.which(t)]:
        pytest.skip(f"PulseAudio tools not installed: {missing} (make test installs them)")
    env, server, daemon, log_path = start_daemon_on_pulse(tmp_path)
    wait_for = partial(wait_until, log=log_path)
    try:
        question = tmp_path / "question.wav"
        assert voiced("say", "What can you do?", "--out", str(question)).returncode == 0
        subprocess.run(["paplay", "-d", "vmic", str(question)], env=env, check=True)
        wait_for(lambda: "playing " in log_path.read_text(), 60, "the reply to start")

        server.terminate()  # the sound server goes away, in the middle of the reply
        server.wait(timeout=10)
        wait_for(lambda: "waiting for microphone" in log_path.read_text(), 30, "waiting")
        status = json.loads(voiced("status", "--json", env=env).stdout)
        assert status["state"] == "waiting" and "microphone" in status["waiting"]
        # the rest of the reply could not be played: dropped, and the loop went on
        wait_for(lambda: "the rest of the reply is dropped" in log_path.read_text(), 30, "drop")
        before = cpu_seconds(daemon.pid)
        time.sleep(3.0)
        assert cpu_seconds(daemon.pid) - before < 0.6, "it spins while waiting"  # < 20 % of a core
        assert daemon.poll() is None

        server = start_pulse(env)  # and comes back
        back_at = time.monotonic()
        wait_for(lambda: "is back" in log_path.read_text(), 30, "the microphone back")
        print(f"listening again {time.monotonic() - back_at:.1f} s after the server returned")
        status = json.loads(voiced("status", "--json", env=env).stdout)
        assert status["waiting"] is None and status["microphone_reopened"] >= 1

        subprocess.run(
            ["paplay", "-d", "vmic", str(DATA / "voice2json_what_time_is_it.wav")],
            env=env,
            check=True,
        )
        wait_for(
            lambda: "playing " in log_path.read_text().split("is back", 1)[1],
            60,
            "a spoken reply after the return",
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
        server.terminate()
        server.wait(timeout=10)
    assert code == 0, log_path.read_text()


def test_a_frozen_sound_server_is_caught_by_the_watchdog(tmp_path):
    """SIGSTOP the server: the stream still claims to be running but no audio arrives
    (as when PortAudio's callbacks stop). The watchdog reopens the microphone (the
    daemon still answers while that blocks), and once the server runs again a question
    is answered."""
    if missing := [t for t in TOOLS if not shutil.which(t)]:
        pytest.skip(f"PulseAudio tools not installed: {missing} (make test installs them)")
    env, server, daemon, log_path = start_daemon_on_pulse(tmp_path)
    wait_for = partial(wait_until, log=log_path)
    try:
        server.send_signal(signal.SIGSTOP)
        wait_for(lambda: "no sound from the microphone" in log_path.read_text(), 30, "watchdog")
        # reopening blocks on the frozen server, off the event loop: it still answers
        wait_for(lambda: "waiting for microphone" in log_path.read_text(), 30, "waiting")
        status = json.loads(voiced("status", "--json", env=env, timeout=30).stdout)
        assert status["state"] == "waiting" and "microphone" in status["waiting"]
        assert daemon.poll() is None
        server.send_signal(signal.SIGCONT)
        wait_for(
            lambda: (
                json.loads(voiced("status", "--json", env=env).stdout)["microphone_reopened"] >= 1
            ),
            30,
            "the microphone reopened",
        )
        subprocess.run(
            ["paplay", "-d", "vmic", str(DATA / "voice2json_what_time_is_it.wav")],
            env=env,
            check=True,
        )
        wait_for(lambda: "playing " in log_path.read_text(), 60, "a reply after the freeze")
    finally:
        server.send_signal(signal.SIGCONT)
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
        server.terminate()
        server.wait(timeout=10)
    assert code == 0, log_path.read_text()
