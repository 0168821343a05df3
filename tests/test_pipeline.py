import asyncio
import logging

import numpy as np
import pytest

from tests.fakes import EnergyVad, ListSource, ManualClock, ScriptedLlm, ScriptedStt, ToneTts
from tests.fakes import speech_and_silence as audio_of
from voiced.audio.files import FileSink
from voiced.config import Settings, VadSettings
from voiced.dialogue import Conversation
from voiced.pipeline import Engines, Pipeline, TurnRunner, Workers

SETTINGS = Settings(vad=VadSettings(start_frames=2, end_silence_ms=300, min_speech_ms=60))


def make_pipeline(stt, llm, audio, tmp_path):
    clock = ManualClock()
    tts = ToneTts()
    engines = Engines(stt=stt, llm=llm, tts=tts, vad=EnergyVad())
    conversation = Conversation("persona", llm.count_tokens, 500)
    runner = TurnRunner(engines, SETTINGS, clock, conversation, Workers())
    sink = FileSink(tmp_path / "out.wav", tts.sample_rate_hz, clock)
    pipeline = Pipeline(runner, engines.vad, ListSource(audio, clock), sink)
    return pipeline, tts, sink


def run(pipeline):
    asyncio.run(asyncio.wait_for(pipeline.run(), timeout=30))
    pipeline.runner.workers.shutdown()


def test_each_utterance_gets_its_reply_with_timings_in_order(tmp_path):
    stt = ScriptedStt(["What time is it?", "And the date?"])
    llm = ScriptedLlm(["I cannot see a clock. Sorry.", "No idea, sorry."])
    audio = audio_of(
        [("silence", 0.5), ("speech", 0.6), ("silence", 2.0), ("speech", 0.6), ("silence", 2.0)]
    )
    pipeline, tts, sink = make_pipeline(stt, llm, audio, tmp_path)
    run(pipeline)
    assert [t.transcript.text for t in pipeline.turns] == ["What time is it?", "And the date?"]
    assert tts.spoken == ["I cannot see a clock.", "Sorry.", "No idea, sorry."]
    assert [t.reply for t in pipeline.turns] == ["I cannot see a clock. Sorry.", "No idea, sorry."]
    first = pipeline.turns[0].timings
    stamps = [
        first.speech_start_s,
        first.speech_end_s,
        first.endpoint_s,
        first.transcript_s,
        first.first_token_s,
        first.first_sentence_s,
        first.first_audio_s,
        first.first_played_s,
        first.reply_done_s,
    ]
    assert None not in stamps and stamps == sorted(stamps)
    assert first.speech_start_s == pytest.approx(0.5, abs=0.03)
    assert first.speech_end_s == pytest.approx(1.1, abs=0.03)
    # the second question saw the first exchange as history
    assert [m["content"] for m in llm.prompts[1]] == [
        "persona",
        "What time is it?",
        "I cannot see a clock. Sorry.",
        "And the date?",
    ]


def test_noise_gets_no_reply_and_never_reaches_the_llm(tmp_path):
    stt = ScriptedStt([""])
    llm = ScriptedLlm([])
    pipeline, tts, _ = make_pipeline(
        stt, llm, audio_of([("speech", 0.6), ("silence", 1)]), tmp_path
    )
    run(pipeline)
    assert len(stt.heard) == 1 and llm.prompts == [] and tts.spoken == []


def test_a_failing_turn_is_logged_and_the_loop_keeps_listening(tmp_path, caplog):
    stt = ScriptedStt(["first", "second"])
    llm = ScriptedLlm([RuntimeError("model exploded"), "Still here."])
    audio = audio_of([("speech", 0.6), ("silence", 1.5), ("speech", 0.6), ("silence", 1.5)])
    pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path)
    with caplog.at_level(logging.ERROR):
        run(pipeline)
    assert "turn failed: RuntimeError: model exploded" in caplog.text
    assert [t.reply for t in pipeline.turns] == ["Still here."]


def test_it_does_not_hear_itself_while_speaking(tmp_path):
    # The reply (4 words = 0.4 s) plays from about 0.95 s; the "echo" burst at 1.1 s
    # falls inside it and must be ignored; the question at 3 s must be answered.
    stt = ScriptedStt(["hello", "again"])
    llm = ScriptedLlm(["Hi there, how are.", "Yes."])
    audio = audio_of(
        [
            ("speech", 0.6),
            ("silence", 0.5),
            ("speech", 0.3),
            ("silence", 1.6),
            ("speech", 0.6),
            ("silence", 1.0),
        ]
    )
    pipeline, tts, sink = make_pipeline(stt, llm, audio, tmp_path)
    run(pipeline)
    assert [t.transcript.text for t in pipeline.turns] == ["hello", "again"]
    assert len(stt.heard) == 2
    sink.close()


def test_speech_cut_off_by_the_end_of_input_is_still_answered(tmp_path):
    stt = ScriptedStt(["last words"])
    llm = ScriptedLlm(["Heard you."])
    pipeline, tts, _ = make_pipeline(
        stt, llm, audio_of([("silence", 0.3), ("speech", 0.6)]), tmp_path
    )
    run(pipeline)
    assert tts.spoken == ["Heard you."]
    assert np.isclose(pipeline.turns[0].timings.speech_start_s, 0.3)
