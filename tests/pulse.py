"""A private PulseAudio server with a virtual microphone (vmic) and speaker (vspk)."""

import os
import subprocess
import sys
import time

from tests.conftest import ROOT

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
    """Start the server (XDG_RUNTIME_DIR from env) with its two null sinks; the process.

    The sinks and defaults are set before the server takes clients (as a real server
    comes back with its devices): a daemon waiting for it never sees it half set up."""
    script = os.path.join(env["XDG_RUNTIME_DIR"], "voiced-test.pa")
    with open(script, "w") as pa:
        pa.write(
            "load-module module-null-sink sink_name=vmic rate=16000 channels=1\n"
            "load-module module-null-sink sink_name=vspk\n"
            "set-default-source vmic.monitor\n"
            "set-default-sink vspk\n"
            "load-module module-native-protocol-unix\n"
        )
    server = subprocess.Popen(
        ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit", "-n"]
        + ["-F", script],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def up():
        assert server.poll() is None, "pulseaudio exited at start"
        return subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0

    wait_until(up, 20, "pulseaudio")
    return server


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
