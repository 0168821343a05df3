"""A private PulseAudio server with a virtual microphone (vmic) and speaker (vspk)."""

import os
import subprocess
import sys
import time

from tests.conftest import ROOT

TOOLS = ("pulseaudio", "pactl", "paplay", "parecord")


def wait_until(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def start_pulse(env):
    """Start the server (XDG_RUNTIME_DIR from env) and its two null sinks; the process."""
    server = subprocess.Popen(
        ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit", "-n"]
        + ["--load=module-native-protocol-unix", "--load=module-always-sink"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def up():
        assert server.poll() is None, "pulseaudio exited at start"
        return subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0

    wait_until(up, 20, "pulseaudio")
    for args in (
        ["load-module", "module-null-sink", "sink_name=vmic", "rate=16000", "channels=1"],
        ["load-module", "module-null-sink", "sink_name=vspk"],
        ["set-default-source", "vmic.monitor"],
        ["set-default-sink", "vspk"],
    ):
        subprocess.run(["pactl", *args], env=env, check=True, capture_output=True)
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
        lambda: "listening" in log_path.read_text() or daemon.poll() is not None, 120, "listening"
    )
    assert daemon.poll() is None, log_path.read_text()
    return env, server, daemon, log_path
