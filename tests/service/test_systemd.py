"""systemd integration: sd_notify messages, watchdog, SIGTERM and SIGHUP, and the unit files."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import ROOT, voiced
from voiced.audio.files import write_wav
from voiced.errors import EXIT_AUDIO_DEVICE
from voiced.service.systemd import Notifier


def test_notifier_sends_datagrams_and_is_silent_outside_systemd(tmp_path):
    path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    notifier = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "4000000"})
    notifier.send(READY=1, STATUS="listening")
    assert server.recv(4096) == b"READY=1\nSTATUS=listening"
    assert notifier.watchdog_s == 4.0
    assert not Notifier({}).enabled and Notifier({}).watchdog_s is None
    Notifier({}).send(READY=1)  # a no-op, not an error
    other = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "1", "WATCHDOG_PID": "1"})
    assert other.watchdog_s is None  # the watchdog is meant for another process


class NotifySocket:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[str] = []

    def drain(self):
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                return

    def wait_for(self, text, timeout_s=120):
        deadline = time.monotonic() + timeout_s
        while not any(text in m for m in self.messages):
            assert time.monotonic() < deadline, (text, self.messages)
            self.drain()


def daemon(tmp_path, notify, seconds, *extra, env=None):
    audio = np.zeros(int(seconds * 16000), dtype=np.int16)
    source = tmp_path / "silence.wav"
    write_wav(source, audio, 16000)
    log = (tmp_path / "daemon.log").open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voiced",
            "run",
            "--input-file",
            str(source),
            "--output-file",
            str(tmp_path / "out.wav"),
            *extra,
        ],
        cwd=ROOT,
        stdout=log,
        stderr=log,
        env={
            **os.environ,
            "NOTIFY_SOCKET": str(notify.path),
            "WATCHDOG_USEC": "1000000",
            **(env or {}),
        },
    )


@pytest.mark.slow
def test_ready_status_watchdog_and_a_clean_sigterm(tmp_path):
    notify = NotifySocket(tmp_path / "notify")
    proc = daemon(tmp_path, notify, 60)
    try:
        notify.wait_for("READY=1")
        notify.wait_for("WATCHDOG=1")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
    notify.drain()
    messages = notify.messages
    assert messages[0].startswith("EXTEND_TIMEOUT_USEC=")
    assert "STATUS=loading models" in messages
    ready = messages.index("READY=1\nSTATUS=listening")
    assert ready > messages.index("STATUS=loading models")
    assert "WATCHDOG=1" in messages[ready:]
    assert messages[-1] == "STOPPING=1\nSTATUS=stopping"


@pytest.mark.slow
def test_as_a_service_a_missing_device_is_waited_for_not_a_restart_loop(tmp_path):
    # No sound card here: the reply's speaker does not exist. By hand that is exit 69 at
    # once; under systemd it waits (telling systemd why) until stopped.
    notify = NotifySocket(tmp_path / "notify")
    audio = tmp_path / "silence.wav"
    write_wav(audio, np.zeros(16000, dtype=np.int16), 16000)
    run = [sys.executable, "-m", "voiced", "run", "--input-file", str(audio)]
    env = {**os.environ, "NOTIFY_SOCKET": str(notify.path)}
    proc = subprocess.Popen(run, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        notify.wait_for("STATUS=waiting for speaker 'default'", timeout_s=30)
        notify.wait_for("EXTEND_TIMEOUT_USEC=", timeout_s=10)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
    assert "waiting: no audio output device found" in proc.stderr.read()
    assert "READY=1" not in "".join(notify.messages)
    by_hand = voiced("run", "--input-file", str(audio))
    assert by_hand.returncode == EXIT_AUDIO_DEVICE


@pytest.mark.slow
def test_sighup_reloads_and_refuses_a_broken_config_without_dying(tmp_path):
    config = tmp_path / "voiced.toml"
    config.write_text("[llm]\ntemperature = 0.3\n")
    notify = NotifySocket(tmp_path / "notify")
    proc = daemon(tmp_path, notify, 60, "--config", str(config))
    try:
        notify.wait_for("READY=1")
        config.write_text("[llm]\ntemperature = 9\n")
        proc.send_signal(signal.SIGHUP)
        notify.wait_for("reload refused")
        config.write_text(
            '[llm]\ntemperature = 0.5\npersona = "Be brief."\n[vad]\nend_silence_ms = 500\n'
        )
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while "configuration reloaded" not in (tmp_path / "daemon.log").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert proc.poll() is None  # still running through both reloads
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
    log = (tmp_path / "daemon.log").read_text()
    assert f"reload refused, keeping the running configuration: {config}: llm.temperature" in log
    notify.drain()
    assert sum(m.startswith("RELOADING=1") for m in notify.messages) == 2


@pytest.mark.slow
def test_journal_format_under_systemd(tmp_path):
    notify = NotifySocket(tmp_path / "notify")
    proc = daemon(tmp_path, notify, 1, env={"JOURNAL_STREAM": "8:1234"})
    assert proc.wait(timeout=120) == 0
    lines = (tmp_path / "daemon.log").read_text().splitlines()
    assert "<6>voiced: listening" in lines
    assert all(line.startswith("<") for line in lines), lines


def exposure(unit) -> float:
    out = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    line = next(x for x in out.splitlines() if "Overall exposure level" in x)
    return float(line.split(":")[1].split()[0])


@pytest.fixture(scope="module")
def units(tmp_path_factory):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    out = tmp_path_factory.mktemp("units")
    subprocess.run([str(ROOT / "scripts" / "install_service.sh"), "--render", str(out)], check=True)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["voiced.service", "voiced-system.service"])
def test_units_pass_systemd_verify(units, name):
    result = subprocess.run(
        ["systemd-analyze", "verify", str(units / name)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    text = (units / name).read_text()
    assert "@VOICED@" not in text and f"ExecStart={ROOT}/.venv/bin/voiced run" in text
    assert "Type=notify" in text and "RestartPreventExitStatus=78" in text


def test_the_wyoming_unit_serves_loopback_only_unless_told(units):
    unit = units / "voiced-wyoming.service"
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    text = unit.read_text()
    assert f"ExecStart={ROOT}/.venv/bin/voiced serve\n" in text
    assert "IPAddressDeny=any\nIPAddressAllow=localhost\n" in text
    assert "RestartPreventExitStatus=2 78" in text  # a refused address is not retried
    assert exposure(unit) <= 2.0  # 1.7 when written


def test_hardening_does_not_regress(units):
    # Scores from `systemd-analyze security --offline=yes` (0 best, 10 worst): 1.0 and
    # 2.0 when written. The user unit keeps realtime and device access for audio.
    assert exposure(units / "voiced-system.service") <= 1.5
    assert exposure(units / "voiced.service") <= 2.5


@pytest.mark.slow
def test_the_units_network_follows_the_configuration():
    from dataclasses import replace

    from voiced.config import Settings
    from voiced.service.systemd import network_drop_in

    plain = Settings()
    assert network_drop_in(plain) == ""  # AF_UNIX alone, as the units say
    metrics = replace(plain, service=replace(plain.service, metrics_port=9100))
    text = network_drop_in(metrics)
    assert "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" in text
    assert "IPAddressDeny=any" in text and "IPAddressAllow=localhost\n" in text
    remote = replace(
        plain,
        llm=replace(plain.llm, backend="openai", url="http://192.168.1.20:8080/v1"),
        stt=replace(plain.stt, backend="wyoming", uri="tcp://192.168.1.21:10300"),
    )
    assert "IPAddressAllow=localhost 192.168.1.20 192.168.1.21\n" in network_drop_in(remote)
    named = replace(plain, tts=replace(plain.tts, backend="wyoming", uri="tcp://kitchen:10200"))
    text = network_drop_in(named)
    assert "AF_INET" in text and "IPAddressDeny" not in text  # a name: its address is unknown
    unix = replace(plain, tts=replace(plain.tts, backend="wyoming", uri="unix:///run/piper.sock"))
    assert network_drop_in(unix) == ""
    result = voiced("config", "drop-in")
    assert result.returncode == 0 and result.stdout == ""
