"""A private PulseAudio server with a virtual microphone (vmic) and speaker (vspk)."""

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT
from voiced.measure.soundroom import SoundRoom

TOOLS = ("pulseaudio", "pactl", "paplay", "parecord")


def wait_until(predicate, timeout_s, what, log=None):
    """Poll predicate; on timeout fail with what, and the end of the log file if given."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() >= deadline:
            tail = "\n".join(log.read_text().splitlines()[-40:]) if log is not None else ""
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.1)


def start_pulse(env):
    """Start PulseAudio (XDG_RUNTIME_DIR from env) with its virtual microphone and speaker
    (voiced.measure.soundroom); the server's process."""
    room = SoundRoom("pulseaudio", Path(env["XDG_RUNTIME_DIR"]))
    room.start()
    return room.process


def start_daemon_on_pulse(tmp_path):
    """A private server and `voiced run -v` on it: (env, server, daemon, log path)."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(runtime)}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    server = start_pulse(env)
    log_path = tmp_path / "voiced.log"
    with log_path.open("w") as log:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "voiced", "run", "-v"], env=env, cwd=ROOT, stdout=log, stderr=log
        )
    wait_until(
        lambda: "listening" in log_path.read_text() or daemon.poll() is not None,
        120,
        "listening",
        log_path,
    )
    assert daemon.poll() is None, log_path.read_text()
    return env, server, daemon, log_path
