"""Both cores saturated by other processes while the daemon listens on a real device:
overflows are counted and reported, turns may be slow, nothing crashes."""

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from tests.conftest import DATA, voiced
from tests.pulse import TOOLS, start_daemon_on_pulse, wait_until

pytestmark = pytest.mark.slow
HOG = "while True: pass"


def test_a_starved_cpu_slows_turns_but_breaks_nothing(tmp_path):
    if missing := [t for t in TOOLS if not shutil.which(t)]:
        pytest.skip(f"PulseAudio tools not installed: {missing} (make test installs them)")
    env, server, daemon, log_path = start_daemon_on_pulse(tmp_path)
    hogs = []
    try:
        hogs = [
            subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(2 * (os.cpu_count() or 2))
        ]
        subprocess.run(
            ["paplay", "-d", "vmic", str(DATA / "voice2json_what_time_is_it.wav")],
            env=env,
            check=True,
        )
        wait_until(
            lambda: "playing " in log_path.read_text() or daemon.poll() is not None,
            180,
            "a reply while starved",
            log_path,
        )
        status = json.loads(voiced("status", "--json", env=env, timeout=120).stdout)
        assert isinstance(status["overflows"], int) and status["overflows"] >= 0
        assert daemon.poll() is None and "Traceback" not in log_path.read_text()
        print(f"overflows while starved: {status['overflows']}")
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=60)
        server.terminate()
        server.wait(timeout=10)
    assert code == 0, log_path.read_text()
