"""When a pause ends the turn: the judge's verdicts and the words, against the silence."""

import asyncio
import time
from dataclasses import replace

import numpy as np
import pytest

from tests.fakes import ScriptedLlm, ScriptedStt
from tests.fakes import speech_and_silence as audio_of
from tests.test_pipeline import SETTINGS, make_pipeline, run
from voiced.config import VadSettings
from voiced.listen.endpoint import EndOfTurn, turn_over

VAD = replace(VadSettings(), unfinished_silence_ms=1500)  # pause 150, end 600, unsure 1000 ms


@pytest.mark.parametrize(
    ("silence_ms", "sounds", "reads", "over"),
    [
        (150, True, True, True),  # sounds and reads finished: at once
        (150, True, None, False),  # the words are not in yet
        (150, True, False, False),  # "and ..." : wait
        (600, True, False, False),  # "The child" (a pause mid-sentence may sound final)
        (600, True, None, False),
        (1000, True, False, True),
        (600, False, True, False),  # sounds like someone thinking: wait
        (1200, False, True, False),
        (1500, False, False, True),  # however it sounds, this much silence ends it
        (150, None, True, True),  # no judge: the words decide
        (300, None, False, False),
        (600, None, None, True),
    ],
)
def test_the_decision(silence_ms, sounds, reads, over):
    assert turn_over(silence_ms, sounds, reads, VAD) is over


class Judge:
    """Verdicts from a script, one per call (what the real model said on recordings)."""

    def __init__(self, verdicts):
        self.verdicts = list(verdicts)
        self.heard = []

    def finished(self, audio):
        self.heard.append(len(audio))
        return self.verdicts.pop(0)


async def now(fn, audio):
    return fn(audio)


def steps(end_of_turn, silences, reads=True):
    """Silence grows frame by frame (30 ms); the first silence at which the turn is over."""

    async def go():
        for silence in silences:
            end_of_turn.hear(silence, lambda s=silence: np.zeros(16000 + s * 16, np.int16))
            await asyncio.sleep(0)  # the judge answers
            await asyncio.sleep(0)
            if end_of_turn.over(silence, reads):
                return silence
        return None

    return asyncio.run(go())


SILENCE = list(range(150, 1530, 30))  # the segmenter reports silence from the pause on


def test_the_judge_is_asked_at_each_step_of_silence_until_the_end_silence():
    judge = Judge([0.1, 0.2, 0.3, 0.2])
    end = EndOfTurn(VAD, judge, now)
    assert steps(end, SILENCE) == 1500  # it never sounded finished
    # asked at 150, 300, 450 ms of silence (not from 600 on), on the audio so far
    assert judge.heard == [16000 + s * 16 for s in (150, 300, 450)]


def test_the_judge_is_first_asked_once_the_speaker_is_quiet_and_speech_again_forgets_it():
    # quiet before the pause (the segmenter reports it from 30 ms): asked at QUIET_MS, beside
    # the first look at the words, rather than at the pause beside the model
    from voiced.listen.endpoint import QUIET_MS

    judge = Judge([0.2, 0.9])
    end = EndOfTurn(VAD, judge, now)
    quiet = list(range(30, 150, 30))
    assert steps(end, [*quiet, 0], reads=None) is None  # (over is asked from the pause on)
    assert judge.heard == [16000 + QUIET_MS * 16]
    # they spoke again: that "unfinished" is forgotten, the next quiet asks afresh, and its
    # "finished" stands at the pause (not asked again): over there, the words reading so
    assert steps(end, quiet, reads=None) is None
    assert steps(end, SILENCE, reads=True) == 150
    assert judge.heard == [16000 + QUIET_MS * 16] * 2


def test_once_it_sounds_finished_the_judge_is_not_asked_again():
    # the words are not known yet (still being transcribed): the verdict stands
    judge = Judge([0.9])
    end = EndOfTurn(VAD, judge, now)
    assert steps(end, SILENCE, reads=None) == 1020
    assert judge.heard == [16000 + 150 * 16]


def test_a_slow_judge_is_not_asked_again_before_it_answers():
    # a call takes longer than a step (beside the transcription and the model on two
    # cores): its verdict is used, not thrown away for a new call that is as slow
    async def slow(fn, audio):
        for _ in range(14):  # 7 frames of 30 ms: 210 ms
            await asyncio.sleep(0)
        return fn(audio)

    judge = Judge([0.9, 0.9, 0.9])
    assert steps(EndOfTurn(VAD, judge, slow), SILENCE) == 360
    assert judge.heard == [16000 + 150 * 16]


def test_a_verdict_of_finished_on_a_later_step_ends_the_turn_there():
    # a word's soft end is still heard as silence at first: the second verdict is sure
    end = EndOfTurn(VAD, Judge([0.26, 0.89]), now)
    assert steps(end, SILENCE) == 300


def test_finished_sound_with_unfinished_words_waits_a_900_ms_pause_out():
    end = EndOfTurn(VAD, Judge([0.9, 0.9, 0.9]), now)
    assert VAD.unsure_silence_ms == 1000
    assert steps(end, SILENCE, reads=False) == 1020  # the first 30 ms step past it


def test_speech_again_forgets_the_verdicts():
    end = EndOfTurn(VAD, Judge([0.9, 0.1, 0.1, 0.1]), now)
    asyncio.run(_hear_once(end))
    end.reset()
    assert steps(end, SILENCE) == 1500  # the earlier "finished" is not used


async def _hear_once(end):
    end.hear(150, lambda: np.zeros(100, np.int16))
    await asyncio.sleep(0)


def test_a_failing_judge_leaves_the_words_and_the_end_silence_to_decide():
    class Broken:
        def finished(self, audio):
            raise RuntimeError("onnx went away")

    assert steps(EndOfTurn(VAD, Broken(), now), SILENCE) == 150
    assert steps(EndOfTurn(VAD, Broken(), now), SILENCE, reads=False) == 600


def test_no_judge_configured_is_the_words_and_the_end_silence():
    off = replace(VAD, turn_model="")
    assert steps(EndOfTurn(off, Judge([0.0]), now), SILENCE) == 150
    assert steps(EndOfTurn(off, None, now), SILENCE, reads=False) == 600


# -- in the loop ----------------------------------------------------------------------

JUDGED = replace(
    SETTINGS, vad=replace(SETTINGS.vad, end_silence_ms=600, unfinished_silence_ms=1500)
)


def judged_pipeline(stt, llm, audio, tmp_path, verdicts):
    pipeline, tts, sink = make_pipeline(stt, llm, audio, tmp_path, JUDGED)
    pipeline.end_of_turn.judge = Judge(verdicts)
    return pipeline


def test_a_thinking_pause_is_waited_out_and_answered_whole(tmp_path):
    # "Turn on the ... living room lamp": 900 ms of silence in the middle, and the words
    # before it even read finished ("Turn on the." is what whisper may write)
    stt = ScriptedStt(["Turn on the.", "Turn on the living room lamp."])
    llm = ScriptedLlm(["I cannot do that yet."] * 2)
    audio = audio_of([("speech", 0.6), ("silence", 0.9), ("speech", 0.6), ("silence", 2.0)])
    pipeline = judged_pipeline(stt, llm, audio, tmp_path, [0.1, 0.1, 0.1, 0.95])
    run(pipeline)
    # one turn, answered once the speaker had finished, about everything they said
    assert [t.transcript.text for t in pipeline.turns] == ["Turn on the living room lamp."]
    assert llm.prompts[-1][-1]["content"] == "Turn on the living room lamp."
    assert pipeline.turns[0].timings.speech_start_s < 0.1


def test_a_finished_question_that_sounds_finished_is_answered_on_the_pause(tmp_path):
    stt = ScriptedStt(["What time is it?"])
    llm = ScriptedLlm(["I cannot see a clock."])
    audio = audio_of([("speech", 0.6), ("silence", 2.0)])
    pipeline = judged_pipeline(stt, llm, audio, tmp_path, [0.97])
    run(pipeline)
    (turn,) = pipeline.turns
    assert turn.reply == "I cannot see a clock."
    # ended after the first pause step, long before the 600 ms end silence
    assert turn.timings.endpoint_s - turn.timings.speech_end_s < 0.4


class _SlowLlm(ScriptedLlm):
    """A model whose reply has not begun to play when the click comes."""

    def stream(self, messages):
        time.sleep(0.8)
        return super().stream(messages)


@pytest.mark.parametrize(
    ("click_s", "llm_type"),
    [
        (0.09, ScriptedLlm),  # three voiced frames, the reply already playing
        (0.24, _SlowLlm),  # a louder click ringing on past min_speech_ms, no reply yet
    ],
)
def test_a_click_just_after_an_early_end_does_not_stop_the_reply(tmp_path, click_s, llm_type):
    # "What time is it?" ends on its pause; a click 0.45 s later would have been inside the
    # turn with a fixed end silence: it must not cut the reply, nor hold it back (words
    # going on reach GOES_ON_MS of voice)
    class Counting(ScriptedStt):  # how many turns were answered at each transcription
        def transcribe(self, audio):
            self.answered_by_then.append(len(pipeline.turns))
            return super().transcribe(audio)

    stt = Counting(["What time is it?", ""])
    stt.answered_by_then = []
    llm = llm_type(["I cannot see a clock from here, sorry."] * 2)
    audio = audio_of([("speech", 0.6), ("silence", 0.45), ("speech", click_s), ("silence", 3.0)])
    settings = replace(JUDGED, vad=replace(JUDGED.vad, min_speech_ms=200))
    pipeline, tts, sink = make_pipeline(stt, llm, audio, tmp_path, settings)
    pipeline.end_of_turn.judge = judge = Judge([0.97] * 10)
    run(pipeline)
    spoken = [t for t in pipeline.turns if t.reply]
    assert len(spoken) == 1 and not spoken[0].interrupted
    assert spoken[0].reply == "I cannot see a clock from here, sorry."
    assert len(llm.prompts) == 1  # answered once, not again after the click
    # a click long enough to transcribe is, once, after the reply: not on its pause,
    # beside the reply being made
    assert stt.answered_by_then == ([0, 1] if click_s > 0.2 else [0])
    # nor is the end-of-turn judge asked about it (its calls slow the model on two cores)
    assert len(judge.heard) == 1
