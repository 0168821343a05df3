"""Prometheus metrics: the exposition text, and the real daemon serving it on loopback."""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from tests.conftest import DATA, ROOT
from voiced.service.metrics import Metrics
from voiced.types import TurnTimings


def test_turns_fill_the_stage_histograms_and_counters():
    metrics = Metrics(overflows=lambda: 3, errors=lambda: {"llm": 1})
    timings = TurnTimings(speech_end_s=1.0, endpoint_s=1.6, transcript_s=1.62, first_played_s=1.9)
    metrics.turn(timings, "answered")
    metrics.turn(TurnTimings(speech_end_s=5.0, endpoint_s=5.6), "dropped")
    text = metrics.render()
    lines = set(text.splitlines())
    assert 'voiced_stage_latency_seconds_bucket{stage="first_played",le="0.75"} 0' in lines
    assert 'voiced_stage_latency_seconds_bucket{stage="first_played",le="1.0"} 1' in lines
    assert 'voiced_stage_latency_seconds_count{stage="endpoint"} 2' in lines
    assert 'voiced_stage_latency_seconds_bucket{stage="transcript",le="+Inf"} 1' in lines
    assert 'voiced_turns_total{outcome="answered"} 1' in lines
    assert 'voiced_turns_total{outcome="dropped"} 1' in lines
    assert "voiced_audio_overflows_total 3" in lines and "voiced_turn_errors_total 1" in lines
    assert 'voiced_stage_errors_total{stage="llm"} 1' in lines
    assert not [line for line in lines if line.startswith("voiced_wakes_total{")]
    metrics.wake("hey_jarvis")
    metrics.wake("hey_jarvis")
    assert 'voiced_wakes_total{wake_word="hey_jarvis"} 2' in metrics.render().splitlines()
    # every sample line is "name{labels} value" with a number
    for line in text.splitlines():
        if not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_the_daemon_serves_metrics_on_loopback(tmp_path):
    from voiced.audio.files import write_wav
    from voiced.engines.whisper import read_audio_file

    question = (read_audio_file(DATA / "voice2json_what_time_is_it.wav") * 32767).astype(np.int16)
    gap = np.zeros(8000, dtype=np.int16)
    audio = np.concatenate([gap, question, np.zeros(16000 * 60, dtype=np.int16)])
    write_wav(tmp_path / "in.wav", audio, 16000)
    port = free_port()
    (tmp_path / "c.toml").write_text(f"[service]\nmetrics_port = {port}\n")
    log = tmp_path / "voiced.log"
    with log.open("w") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "voiced", "run", "--config", str(tmp_path / "c.toml")]
            + ["--input-file", str(tmp_path / "in.wav"), "--output-file", str(tmp_path / "o.wav")],
            cwd=ROOT,
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 120
        while not any(t["first_played_s"] is not None for t in turns(log)):
            assert daemon.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        url = f"http://127.0.0.1:{port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            raise AssertionError("/ should be a 404")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0
    answered = sum(t["first_played_s"] is not None for t in turns(log))
    assert f'voiced_turns_total{{outcome="answered"}} {answered}' in text, text
    assert f'voiced_stage_latency_seconds_count{{stage="first_played"}} {answered}' in text


def turns(log):
    return [
        json.loads(line.split(" turn ", 1)[1])
        for line in log.read_text().splitlines()
        if " turn {" in line
    ]
