import asyncio
import logging
import wave
from dataclasses import replace

import numpy as np
import pytest

from tests.fakes import (
    DraftingStt,
    EnergyVad,
    ListSource,
    ManualClock,
    ScriptedLlm,
    ScriptedStt,
    ToneTts,
    read_until_stopped,
)
from tests.fakes import speech_and_silence as audio_of
from voiced.audio.files import FileSink
from voiced.config import AudioSettings, Settings, VadSettings
from voiced.mind.conversation import Conversation
from voiced.pipeline import Pipeline
from voiced.turn.runner import Engines, TurnRunner
from voiced.turn.workers import Workers

SETTINGS = Settings(vad=VadSettings(start_frames=2, end_silence_ms=300, min_speech_ms=60))
HALF_DUPLEX = replace(SETTINGS, audio=AudioSettings(half_duplex=True))


def make_pipeline(
    stt, llm, audio, tmp_path, settings=SETTINGS, budget=500, tts=None, sink_type=None
):
    clock = ManualClock()
    tts = tts or ToneTts()
    engines = Engines(stt=stt, llm=llm, tts=tts, vad=EnergyVad())
    conversation = Conversation("persona", llm.count_tokens, budget)
    runner = TurnRunner(engines, settings, clock, conversation, Workers())
    sink = (sink_type or FileSink)(tmp_path / "out.wav", tts.sample_rate_hz, clock)
    sink.min_duration_s = len(audio) / 16000
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
    # transcription and the reply start on the pause, before the end of the turn is
    # confirmed; nothing plays before it is
    thinking = [
        first.speech_start_s,
        first.speech_end_s,
        first.transcript_s,
        first.first_token_s,
        first.first_sentence_s,
        first.first_audio_s,
    ]
    assert None not in thinking and thinking == sorted(thinking)
    assert first.speech_end_s < first.endpoint_s <= first.first_played_s <= first.reply_done_s
    assert first.first_audio_s <= first.first_played_s
    assert first.speech_start_s == pytest.approx(0.5, abs=0.03)
    assert first.speech_end_s == pytest.approx(1.1, abs=0.03)
    # the second question saw the first exchange as history
    assert [m["content"] for m in llm.prompts[1]] == [
        "persona",
        "What time is it?",
        "I cannot see a clock. Sorry.",
        "And the date?",
    ]


def test_when_the_history_is_cut_the_model_reads_it_again_before_the_next_turn(tmp_path):
    stt = ScriptedStt(["What time is it?", "And the date?", "And the day?"])
    llm = ScriptedLlm(["I cannot see a clock. Sorry.", "No idea at all.", "Unheard.", "Sorry."])
    audio = audio_of([("speech", 0.6), ("silence", 2.0)] * 3)
    # persona 9 tokens, exchanges 26 and 23, room for 36 in a usual turn: the second
    # exchange moves the history's start
    pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path, budget=60)
    run(pipeline)
    asked = [prompt[-1]["content"] for prompt in llm.prompts]
    assert asked == ["What time is it?", "And the date?", "Hello.", "And the day?"]
    assert "Unheard." not in tts.spoken  # reading ahead says nothing
    assert [t.reply for t in pipeline.turns][-1] == "Sorry."


def test_the_end_of_the_input_is_logged_once_the_last_reply_is_done(tmp_path, caplog):
    from voiced.pipeline import INPUT_ENDED

    caplog.set_level(logging.INFO, logger="voiced.pipeline")
    stt, llm = ScriptedStt(["Hello?"]), ScriptedLlm(["Hi there."])
    pipeline, _, _ = make_pipeline(stt, llm, audio_of([("speech", 0.6), ("silence", 1)]), tmp_path)
    run(pipeline)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[-1] == INPUT_ENDED and any(line.startswith("turn {") for line in lines)


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
    assert "turn failed in the llm: RuntimeError: model exploded" in caplog.text
    assert [t.reply for t in pipeline.turns] == ["Still here."]
    # the user heard a short apology, not silence
    assert tts.spoken == [
        "Sorry, something went wrong there.",
        "Could you ask me again?",
        "Still here.",
    ]


def test_a_model_that_says_nothing_gets_an_apology_not_silence(tmp_path):
    stt = ScriptedStt(["Hello?"])
    llm = ScriptedLlm(["  ** ``` "])  # only markup: nothing speakable (or a deadline hit)
    audio = audio_of([("speech", 0.6), ("silence", 1.5)])
    pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path)
    run(pipeline)
    assert tts.spoken == ["Sorry, something went wrong there.", "Could you ask me again?"]
    assert pipeline.failures == 1


def test_half_duplex_does_not_hear_itself_while_speaking(tmp_path):
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
    pipeline, tts, sink = make_pipeline(stt, llm, audio, tmp_path, HALF_DUPLEX)
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


LONG_REPLY = (
    "One two three four. Five six seven eight nine ten. "
    "Eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty."
)


def read_wav(path):
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)


def barge_in_run(tmp_path, second_text, second_reply="Sure."):
    # Question 0-0.6 s; its reply (2 s of tone) starts near 0.85 s; the user talks over it
    # from 1.5 s.
    stt = ScriptedStt(["Tell me a story.", second_text])
    llm = ScriptedLlm([LONG_REPLY, second_reply])
    audio = audio_of([("speech", 0.6), ("silence", 0.9), ("speech", 0.6), ("silence", 3.0)])
    pipeline, tts, sink = make_pipeline(stt, llm, audio, tmp_path)
    run(pipeline)
    sink.close()
    return pipeline, llm, read_wav(tmp_path / "out.wav")


def test_barge_in_stops_playback_and_keeps_only_what_was_said(tmp_path):
    pipeline, llm, out = barge_in_run(tmp_path, "What about dragons?")
    first, second = pipeline.turns
    assert first.interrupted and second.transcript.text == "What about dragons?"
    timings = first.timings.extra
    # playback stopped within 200 ms (stream time) of the onset of the user's speech
    assert 1.5 <= timings["interrupt_s"] <= timings["stopped_s"] <= 1.5 + 0.2
    said = first.reply.split()
    assert 3 <= len(said) < 10 and LONG_REPLY.startswith(" ".join(said))
    # the history holds the whole sentences of what was actually said, and the new
    # question got its answer
    assert len(said) >= 5 and llm.prompts[1][2] == {
        "role": "assistant",
        "content": "One two three four.",
    }
    assert second.reply == "Sure."
    stop = int(timings["stopped_s"] * 16000)
    second_start = int(second.timings.first_played_s * 16000)
    assert np.abs(out[stop:second_start]).max() == 0  # silence from the stop to the next reply


def test_stop_command_silences_it_without_a_new_reply(tmp_path):
    pipeline, llm, out = barge_in_run(tmp_path, "Stop.")
    first, second = pipeline.turns
    assert first.interrupted and second.outcome.value == "stop" and second.reply == ""
    assert len(llm.prompts) == 1
    assert np.abs(out[int(first.timings.extra["stopped_s"] * 16000) :]).max() == 0


def test_speech_before_the_reply_is_heard_joins_the_next_request(tmp_path):
    # A pause long enough to end the turn, then the user goes on: the first half was
    # cut off before a word was said, so both halves reach the model together.
    stt = ScriptedStt(["What is the weather.", "In Paris tomorrow?"])
    llm = SlowFirstLlm(["It is sunny.", "Sunny in Paris."])
    audio = audio_of([("speech", 0.6), ("silence", 0.4), ("speech", 0.6), ("silence", 2.0)])
    pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path)
    run(pipeline)
    # the held-back half is not a turn of its own: one request, one reply
    assert [t.reply for t in pipeline.turns] == ["Sunny in Paris."]
    assert llm.prompts[-1][-1]["content"] == "What is the weather. In Paris tomorrow?"


def test_a_click_that_held_back_a_reply_does_not_swallow_the_request(tmp_path):
    # After the end of the turn, before the reply is heard, a burst too short to be words
    # (a click, a cough) starts "speech": the reply waits, then is given after all.
    stt = ScriptedStt(["What is the weather?"])
    llm = SlowFirstLlm(["It is sunny.", "It is sunny."])
    audio = audio_of([("speech", 0.6), ("silence", 0.4), ("speech", 0.09), ("silence", 2.0)])
    settings = replace(SETTINGS, vad=replace(SETTINGS.vad, min_speech_ms=150))
    pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path, settings)
    run(pipeline)
    assert [t.reply for t in pipeline.turns] == ["It is sunny."]
    assert llm.prompts[-1][-1]["content"] == "What is the weather?"
    assert len(stt.heard) == 1  # the click never reached the recogniser


class SlowFirstLlm(ScriptedLlm):
    """The first reply takes a while to start, as a real model would."""

    def stream(self, messages):
        if not self.prompts:
            import time

            time.sleep(0.3)
        return super().stream(messages)


class EchoLlm(ScriptedLlm):
    """Replies with what it was asked, so a reply shows which request it answers."""

    def stream(self, messages):
        self.replies = [f"You said {messages[-1]['content']}"]
        return super().stream(messages)


def test_a_reply_prepared_on_a_pause_is_dropped_when_the_user_goes_on(tmp_path):
    stt = ScriptedStt(["I want to", "I want to go home."])
    llm = EchoLlm([])
    audio = audio_of([("speech", 0.6), ("silence", 0.25), ("speech", 0.6), ("silence", 1.5)])
    pipeline, tts, sink = make_pipeline(stt, llm, audio, tmp_path)
    run(pipeline)
    sink.close()
    assert [t.reply for t in pipeline.turns] == ["You said I want to go home."]
    # only that reply was heard (7 words of 0.1 s); the stale one was never played
    assert np.count_nonzero(read_wav(tmp_path / "out.wav")) == pytest.approx(0.7 * 16000, abs=50)
    turn = pipeline.turns[0].timings
    # a finished-looking transcript ended the turn on the pause, before end_silence_ms
    assert turn.endpoint_s - turn.speech_end_s < SETTINGS.vad.end_silence_ms / 1000


def test_the_model_waits_for_the_first_piece_to_be_voiced_before_writing_on(tmp_path):
    """On two cores the model writing on would slow the voice of the first piece, which is
    what the user waits for; the rest is needed only once that has played."""
    events: list[str] = []

    class LoggingLlm(ScriptedLlm):
        def stream(self, messages):
            for word in (
                "One",
                "two",
                "three",
                "four",
                "five.",
                "Six",
                "seven",
                "eight",
                "nine",
                "ten.",
            ):
                events.append(f"wrote {word}")
                yield word + " "

    class LoggingTts(ToneTts):
        def synthesize(self, text, pace=1.0):
            yield from super().synthesize(text, pace)
            events.append(f"voiced {text}")

    audio = audio_of([("silence", 0.5), ("speech", 0.6), ("silence", 3.0)])
    pipeline, _, _ = make_pipeline(ScriptedStt(["Count for me."]), LoggingLlm([]), audio, tmp_path)
    pipeline.runner.speaker.tts = LoggingTts()
    run(pipeline)
    assert pipeline.turns[0].reply == "One two three four five. Six seven eight nine ten."
    assert events.index("voiced One two three four five.") < events.index("wrote seven")
    assert events[-1] == "voiced Six seven eight nine ten."


def test_each_model_warms_up_on_the_thread_that_runs_it_later(tmp_path):
    """llama.cpp and CTranslate2 keep an OpenMP team per calling thread: a model warmed up on
    the main thread and then run on its worker has two teams fighting for two cores."""
    import threading

    threads: dict[str, set[str]] = {"stt": set(), "llm": set(), "tts": set()}

    class Stt(ScriptedStt):
        def transcribe(self, audio):
            threads["stt"].add(threading.current_thread().name)
            return super().transcribe(audio)

    class Llm(ScriptedLlm):
        def stream(self, messages):
            threads["llm"].add(threading.current_thread().name)
            return super().stream(messages)

    class Tts(ToneTts):
        def synthesize(self, text, pace=1.0):
            threads["tts"].add(threading.current_thread().name)
            return super().synthesize(text, pace)

    stt, llm = Stt(["", "Tell me a story."]), Llm(["Once upon a time."])
    audio = audio_of([("silence", 0.5), ("speech", 0.6), ("silence", 2.0)])
    pipeline, _, _ = make_pipeline(stt, llm, audio, tmp_path, tts=Tts())
    pipeline.runner.warm_up()
    run(pipeline)
    assert len(pipeline.turns) == 1 and llm.prompts[-1][-1]["content"] == "Tell me a story."
    assert {name: len(names) for name, names in threads.items()} == {"stt": 1, "llm": 1, "tts": 1}
    assert all(name.startswith(f"voiced-{kind}") for kind, (name,) in threads.items())


class DroppingSink(FileSink):
    """A speaker that is gone for the first `lost` pieces: it takes nothing, plays nothing."""

    def __init__(self, *args, lost=1, **kwargs):
        super().__init__(*args, **kwargs)
        self.lost = lost

    def play(self, audio):
        if self.lost:
            self.lost -= 1
            return None
        return super().play(audio)


def test_a_reply_the_device_dropped_is_not_stamped_as_played(tmp_path):
    stt = ScriptedStt(["What time is it?", "And the date?"])
    llm = ScriptedLlm(["I cannot see a clock.", "No idea, sorry."])
    audio = audio_of(
        [("silence", 0.5), ("speech", 0.6), ("silence", 2.0), ("speech", 0.6), ("silence", 2.0)]
    )
    pipeline, _, _ = make_pipeline(stt, llm, audio, tmp_path, sink_type=DroppingSink)
    run(pipeline)
    lost, played = pipeline.turns
    assert lost.timings.first_played_s is None and lost.reply == ""  # nothing was heard
    assert played.timings.first_played_s is not None and played.reply == "No idea, sorry."


def test_the_words_are_transcribed_once_the_speaker_is_quiet_and_the_pause_takes_them(tmp_path):
    """The pause (150 ms) would start the transcription 90 ms after the speaker went quiet
    (QUIET_MS): it is started then, and the pause takes it rather than making another."""
    from voiced.turn.taking import QUIET_MS

    class Clocked(DraftingStt):
        def transcribe(self, audio):
            self.at.append(self.clock.t)
            return super().transcribe(audio)

    pause_s = 0.6 + SETTINGS.vad.pause_ms / 1000
    for unsure in (False, True):
        stt = Clocked(["What time is it?"], draft="What time", unsure=unsure)
        stt.at = []
        audio = audio_of([("speech", 0.6), ("silence", 1.5)])
        pipeline, _, _ = make_pipeline(stt, EchoLlm([]), audio, tmp_path)
        stt.clock = pipeline.runner.clock
        run(pipeline)
        assert [t.reply for t in pipeline.turns] == ["You said What time is it?"]
        assert len(stt.at) == 1  # one transcription for the turn
        if unsure:  # an unsure look: the turn is transcribed (at the pause, or after it)
            assert stt.at[0] >= pause_s
        else:
            assert 0.6 + QUIET_MS / 1000 <= stt.at[0] < pause_s


def test_reading_ahead_stops_when_the_speaker_goes_quiet_and_starts_again_on_words(tmp_path):
    """A step of reading ahead beside the transcription of the turn's pause slows it: the
    reading stops once the speaker is quiet for QUIET_MS (before the pause, at 150 ms); when
    they go on, it starts again at once."""
    from voiced.turn.taking import QUIET_MS

    class Reading(ScriptedLlm):
        """Reads the words so far until it is told to stop; notes when it was told."""

        def __init__(self, replies, clock):
            super().__init__(replies)
            self.clock = clock
            self.readings: list[tuple[float, float]] = []  # (started, stopped) stream times

        def prefill(self, messages, should_stop=lambda: False):
            if not messages[-1]["content"]:
                return 0  # the history, or the head of the prompt
            started = self.clock.t
            read_until_stopped(should_stop)
            self.readings.append((started, self.clock.t))
            return 1

    # a 90 ms gap between words: quiet past QUIET_MS, but no pause (150 ms)
    audio = audio_of([("speech", 1.2), ("silence", 0.09), ("speech", 0.6), ("silence", 2.0)])
    # (the gap, quiet past QUIET_MS, is transcribed in case it turns into a pause)
    stt = DraftingStt(["I want to go", "I want to go home now."], draft="I want to go")
    pipeline, _, _ = make_pipeline(stt, ScriptedLlm([]), audio, tmp_path)
    llm = Reading(["Off you go."], pipeline.runner.clock)
    pipeline.runner.engines.llm = llm
    run(pipeline)
    assert [t.reply for t in pipeline.turns] == ["Off you go."]
    (first_start, first_stop), (again, _) = llm.readings[:2]
    assert 1.0 <= first_start < 1.2
    # stopped in the gap, about QUIET_MS into it (the pause would have come at 150 ms)
    assert 1.2 + QUIET_MS / 1000 <= first_stop < 1.2 + 0.09 + 0.06
    assert 1.29 <= again < 1.5  # started again on the next words
