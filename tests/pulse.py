"""A private PulseAudio server with a virtual microphone (vmic) and speaker (vspk)."""

import subprocess
import time

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
