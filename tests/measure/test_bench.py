"""The benchmark's own measuring: where sound starts and stops in an output file."""

import numpy as np
import pytest

from tests.conftest import DATA
from voiced.engines.whisper import read_audio_file
from voiced.measure.prompts import INTERRUPT_AFTER_S, Prompt, lay_out
from voiced.measure.recording import (
    first_sound_after,
    last_sound_s,
    sound_stops_after,
    speech_end_s,
    voice_onset_s,
)


def test_sound_is_found_where_it_is():
    audio = np.zeros(16000 * 3, dtype=np.int16)
    audio[16000:24000] = 3000  # 1.0 .. 1.5 s
    audio[32000:33600] = 3000  # 2.0 .. 2.1 s
    assert first_sound_after(audio, 16000, 0.2) == 1.0
    assert first_sound_after(audio, 16000, 1.6) == 2.0
    assert first_sound_after(audio, 16000, 2.2) is None
    assert last_sound_s(audio[:30000], 16000) == 1.5
    assert sound_stops_after(audio, 16000, 1.2) == 1.5


def test_interruptions_are_laid_over_the_previous_reply(tmp_path):
    one = np.full(16000, 2000, dtype=np.int16)
    prompts = [
        Prompt("a", one, False),
        Prompt("b", one, False, interrupts=True),
        Prompt("c", one, False),
    ]
    lay_out(prompts, tmp_path / "in.wav")
    a, b, c = prompts
    assert a.start_s == 1.0 and a.speech_end_s == 2.0
    assert b.start_s == 2.0 + INTERRUPT_AFTER_S  # after the request ends
    assert c.start_s == b.speech_end_s + 10.0  # GAP_S


def test_speech_end_ignores_trailing_noise_in_a_recording():
    # This recording has a click long after the last word ("...living room lamp").
    audio = (read_audio_file(DATA / "wyomingfw_turn_on_the_living_room_lamp.wav") * 32767).astype(
        np.int16
    )
    assert last_sound_s(audio, 16000) > 2.5
    assert 1.3 < speech_end_s(audio) < 2.0


def test_speech_end_ignores_a_short_click_half_a_second_after_the_words():
    # "What time is it?": the words end near 1.6 s; a 90 ms click at 2.1 s passes the VAD
    audio = (read_audio_file(DATA / "voice2json_what_time_is_it.wav") * 32767).astype(np.int16)
    assert 1.4 < speech_end_s(audio) < 2.0
    # words said again after the same silence are speech, not a click
    words = audio[: int(1.7 * 16000)]
    again = np.concatenate([words, np.zeros(8000, np.int16), words])
    assert speech_end_s(again) > 2.2 + 1.4


def test_a_hesitation_puts_silence_between_two_words_and_keeps_them_all(tmp_path):
    from voiced.measure.prompts import HESITATION_GAP_S, hesitant

    audio = np.full(16000, 2000, dtype=np.int16)
    paused = hesitant(audio, 0.4, 0.9)
    assert len(paused) == 16000 + 14400
    assert not paused[6400 : 6400 + 14400].any()
    assert paused[:6400].all() and paused[6400 + 14400 :].all()
    prompts = [Prompt("a", paused, True, pause_s=0.9, pause_at_s=0.4), Prompt("b", audio, True)]
    lay_out(prompts, tmp_path / "prompts.wav")  # not /dev/null: the write replaces the file
    assert prompts[1].start_s == pytest.approx(prompts[0].speech_end_s + HESITATION_GAP_S)


def test_a_speaker_answered_in_their_pause_was_cut_off_even_if_the_reply_came_later():
    from voiced.measure.files import cut_off

    prompt = Prompt("a", np.zeros(16000, dtype=np.int16), True, pause_s=0.9, pause_at_s=0.5)
    prompt.start_s, prompt.speech_end_s = 10.0, 12.0
    quiet = np.zeros(16000 * 20, dtype=np.int16)
    whole = {"speech_end_s": 12.0, "first_played_s": 12.8}
    half = {"speech_end_s": 10.45, "first_played_s": 12.6}
    assert not cut_off(prompt, quiet, 16000, [whole])
    assert cut_off(prompt, quiet, 16000, [half, whole])  # the first half was answered
    held_back = {"speech_end_s": 10.45, "first_played_s": None}
    assert not cut_off(prompt, quiet, 16000, [held_back, whole])
    talking = quiet.copy()
    talking[int(11.0 * 16000) : int(11.5 * 16000)] = 3000  # a reply over their pause
    assert cut_off(prompt, talking, 16000, [whole])


def test_a_voice_begins_at_its_words_not_at_the_rumble_before_them():
    # "What time is it?": 0.7 s of a low rumble (a pop on the microphone), then the words
    audio = (read_audio_file(DATA / "voice2json_what_time_is_it.wav") * 32767).astype(np.int16)
    assert np.flatnonzero(np.abs(audio) > 500)[0] < 0.05 * 16000
    assert 0.65 <= voice_onset_s(audio) <= 0.75
    tone = (3000 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)).astype(np.int16)
    assert voice_onset_s(np.concatenate([np.zeros(8000, np.int16), tone])) == pytest.approx(
        0.49, abs=0.011
    )
    louder = np.clip(audio * 4.0, -32768, 32767).astype(np.int16)  # its rumble loud too
    assert 0.65 <= voice_onset_s(louder) <= 0.75


def test_the_stop_is_read_before_a_quick_answer_to_the_interruption(tmp_path):
    # the old reply stops 0.1 s after the user's onset; the answer to the interruption
    # starts 1 s after it: within the 1.5 s looked at, but not part of the stop
    from voiced.measure.files import analyse
    from voiced.measure.loop import RunStats

    rate = 16000
    tone = (8000 * np.sin(np.arange(rate) * 2 * np.pi * 440 / rate)).astype(np.int16)
    prompts = [Prompt("a", tone, True), Prompt("b", tone, True, interrupts=True)]
    lay_out(prompts, tmp_path / "in.wav")
    a, b = prompts
    onset = b.start_s + voice_onset_s(tone)
    replies = np.zeros(int((b.speech_end_s + 5) * rate), np.int16)
    replies[int((a.speech_end_s + 0.3) * rate) : int((onset + 0.1) * rate)] = 3000
    replies[int((onset + 1.0) * rate) : int((onset + 1.6) * rate)] = 3000
    logged = [
        {"speech_end_s": a.speech_end_s, "first_played_s": a.speech_end_s + 0.3,
         "response_latency_s": 0.3, "interrupted": True, "interrupt_s": onset + 0.05,
         "stopped_s": onset + 0.1},
        {"speech_end_s": b.speech_end_s, "first_played_s": onset + 1.0,
         "response_latency_s": 0.5, "interrupted": False},
    ]  # fmt: skip
    figures = analyse(prompts, replies, rate, logged, RunStats())
    stop = figures["turns"][1]["stop_latency_s"]
    assert stop == pytest.approx(0.1, abs=0.01)


def test_wake_figures_count_calls_misses_false_wakes_and_turns_on_speech_not_for_it():
    from voiced.measure.prompts import Prompt
    from voiced.measure.wake import wake_figures

    rate = 16000

    def prompt(name, start_s, end_s, speech=True):
        audio = np.zeros(round((end_s - start_s) * rate), np.int16)
        return Prompt(name, audio, speech, start_s=start_s, speech_end_s=end_s)

    calls = [prompt("call 1", 1.0, 3.0), prompt("call 2", 20.0, 22.0)]
    room = [prompt("tv", 8.0, 12.0, False), prompt("radio", 27.0, 30.0, False)]
    replies = np.zeros(35 * rate, np.int16)
    replies[round(3.8 * rate) : round(5 * rate)] = 3000  # the answer to call 1
    log = [
        "INFO voiced.listen.wake: woken by 'Hey Jarvis' at 2.40 s (0.99)",
        "INFO voiced.listen.wake: woken by 'Hey Jarvis' at 9.10 s (0.97)",  # by the television
        'INFO voiced.pipeline: turn {"speech_start_s": 9.2, "speech_end_s": 11.0}',
    ]
    figures = wake_figures(calls, room, log, replies, rate)
    assert [c["woken_s"] for c in figures["calls"]] == [1.4, None]
    assert figures["calls"][0]["wake_to_first_sound_s"] == pytest.approx(1.4, abs=0.02)
    assert figures["calls"][0]["latency_s"] == pytest.approx(0.8, abs=0.02)
    assert figures["missed"] == 1 and figures["false_wakes"] == 1
    assert figures["room_speech_turns"] == 1 and figures["room_speech_s"] == 7.0
    assert figures["wake_to_first_sound_median_s"] == figures["calls"][0]["wake_to_first_sound_s"]
