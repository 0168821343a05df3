import numpy as np
import pytest

from tests.fakes import EnergyVad, speech_and_silence
from voiced.config import VadSettings
from voiced.listen.segmenter import Endpointer, Event, Segmenter


def run(endpointer: Endpointer, labels: str) -> list[tuple[int, Event]]:
    """Feed 'x' (speech) / '.' (silence) labels; return (frame index, event) pairs."""
    events = []
    for i, ch in enumerate(labels):
        event = endpointer.process(ch == "x")
        if event is not None:
            events.append((i, event))
    return events


def test_speech_starts_after_n_voiced_frames_in_a_row():
    ep = Endpointer(start_frames=3, end_silence_frames=4, max_frames=100)
    assert run(ep, "xx.xx.xxx") == [(8, Event.START)]


def test_a_voice_already_weighed_over_several_frames_starts_speech_at_once():
    # the double-talk detector has heard the user over the echo in its last frames: the
    # reply is not kept talking over them for start_frames more
    ep = Endpointer(start_frames=3, end_silence_frames=4, max_frames=100)
    assert ep.process(True, confirmed=True) is Event.START
    quiet = Endpointer(start_frames=3, end_silence_frames=4, max_frames=100)
    assert quiet.process(False, confirmed=True) is None  # not without a voice in it


def test_speech_ends_after_trailing_silence_and_resumes_on_short_pauses():
    ep = Endpointer(start_frames=2, end_silence_frames=3, max_frames=100)
    assert run(ep, "xx..x..x...x") == [(1, Event.START), (10, Event.END)]


def test_maximum_length_cuts_an_endless_utterance():
    ep = Endpointer(start_frames=1, end_silence_frames=5, max_frames=4)
    assert run(ep, "xxxxxxxx") == [
        (0, Event.START),
        (3, Event.END),
        (4, Event.START),
        (7, Event.END),
    ]


def test_pauses_and_resumptions_inside_speech_are_reported():
    ep = Endpointer(start_frames=2, end_silence_frames=5, max_frames=100, pause_frames=2)
    assert run(ep, "xx..x...x.....") == [
        (1, Event.START),
        (3, Event.PAUSE),
        (4, Event.RESUME),
        (6, Event.PAUSE),
        (8, Event.RESUME),
        (10, Event.PAUSE),
        (13, Event.END),
    ]


def test_a_pause_as_long_as_the_end_silence_is_just_the_end():
    ep = Endpointer(start_frames=1, end_silence_frames=2, max_frames=100, pause_frames=2)
    assert run(ep, "x..") == [(0, Event.START), (2, Event.END)]


def test_silence_alone_never_starts_speech():
    ep = Endpointer(start_frames=1, end_silence_frames=2, max_frames=10)
    assert run(ep, "." * 50) == []


def segments(segmenter: Segmenter, audio: np.ndarray, frame_ms: int = 30):
    n = 16 * frame_ms
    vad = EnergyVad()
    out = []
    for start in range(0, len(audio) - n + 1, n):
        frame = audio[start : start + n]
        segment = segmenter.push(frame, vad.is_speech(frame), start / 16000)
        if segment is not None:
            out.append(segment)
    return out


def feed(segmenter: Segmenter, audio: np.ndarray, frame_ms: int = 30):
    """The finished utterances."""
    return [
        s.utterance
        for s in segments(segmenter, audio, frame_ms)
        if s.event is Event.END and s.utterance is not None
    ]


def test_segmenter_cuts_utterances_with_preroll_and_timestamps():
    vad = VadSettings(
        start_frames=3, end_silence_ms=300, preroll_ms=150, min_speech_ms=90, pause_ms=0
    )
    seg = Segmenter(vad, 30)
    audio = speech_and_silence(
        [("silence", 0.99), ("speech", 0.6), ("silence", 0.9), ("speech", 0.45), ("silence", 0.9)]
    )
    first, second = feed(seg, audio)
    assert first.speech_start_s == 0.99
    assert first.speech_end_s == 1.59
    assert first.endpoint_s == 1.89
    assert second.speech_start_s == 2.49
    # pre-roll (150 ms) + speech (600 ms) + kept trailing silence (200 ms: 6 frames of 30 ms)
    assert len(first.audio) == round((0.15 + 0.6 + 0.18) * 16000)
    assert np.abs(first.audio[: int(0.15 * 16000)]).max() == 0  # the pre-roll is the silence before


def test_a_pause_hands_out_the_speech_so_far_and_the_end_the_whole_utterance():
    vad = VadSettings(start_frames=2, end_silence_ms=600, pause_ms=210, min_speech_ms=60)
    audio = speech_and_silence(
        [("silence", 0.3), ("speech", 0.6), ("silence", 0.3), ("speech", 0.3), ("silence", 0.9)]
    )
    got = segments(Segmenter(vad, 30), audio)
    assert [s.event for s in got] == [
        Event.START,
        Event.PAUSE,
        Event.RESUME,
        Event.PAUSE,
        Event.END,
    ]
    first_pause, second_pause, end = got[1], got[3], got[4]
    assert first_pause.at_s == pytest.approx(0.9 + 0.21, abs=0.031)
    assert first_pause.utterance.speech_end_s == pytest.approx(0.9, abs=0.031)
    assert second_pause.utterance.speech_end_s == end.utterance.speech_end_s
    # the audio at the last pause is the whole utterance: what is transcribed there is final
    assert np.array_equal(second_pause.utterance.audio, end.utterance.audio)


def test_segmenter_ignores_bursts_shorter_than_min_speech():
    vad = VadSettings(start_frames=2, end_silence_ms=300, min_speech_ms=300)
    seg = Segmenter(vad, 30)
    audio = speech_and_silence([("silence", 0.3), ("speech", 0.12), ("silence", 0.6)])
    assert feed(seg, audio) == []


def test_flush_closes_speech_cut_off_by_the_end_of_input():
    seg = Segmenter(VadSettings(start_frames=2, end_silence_ms=600, min_speech_ms=60), 30)
    audio = speech_and_silence([("silence", 0.3), ("speech", 0.6)])
    assert feed(seg, audio) == []
    final = seg.flush(now_s=0.9)
    assert final is not None and final.endpoint_s == 0.9 and final.speech_start_s == 0.3
    assert seg.flush(now_s=1.0) is None


def test_reset_drops_speech_in_progress():
    seg = Segmenter(VadSettings(start_frames=2, end_silence_ms=300, min_speech_ms=60), 30)
    feed(seg, speech_and_silence([("speech", 0.6)]))
    assert seg.in_speech
    seg.reset()
    assert not seg.in_speech and seg.flush(1.0) is None


def test_keep_last_drops_the_preroll_that_was_not_the_user():
    vad = VadSettings(
        start_frames=3, end_silence_ms=300, preroll_ms=300, min_speech_ms=90, pause_ms=0
    )
    seg = Segmenter(vad, 30)
    audio = speech_and_silence([("silence", 0.99), ("speech", 0.09)])
    segs = segments(seg, audio)
    assert [s.event for s in segs] == [Event.START]
    seg.keep_last(4)  # the three voiced frames and one before
    rest = feed(seg, speech_and_silence([("speech", 0.3), ("silence", 0.6)]))
    (utterance,) = rest
    kept = round((0.03 + 0.09 + 0.3 + 0.18) * 16000)  # margin, start, speech, trailing
    assert len(utterance.audio) == kept
    assert utterance.speech_start_s == pytest.approx(0.99)
    assert utterance.audio_start_s == pytest.approx(0.96)  # the one frame before it


def test_the_silence_of_a_pause_and_everything_heard_so_far_are_at_hand():
    vad = VadSettings(start_frames=2, end_silence_ms=600, pause_ms=150, min_speech_ms=60)
    seg = Segmenter(vad, 30, end_silence_ms=1200)  # a judge decides earlier ends
    audio = speech_and_silence([("speech", 0.6), ("silence", 0.9)])
    vad_ = EnergyVad()
    silences, ended = [], None
    for i, start in enumerate(range(0, len(audio) - 480 + 1, 480)):
        frame = audio[start : start + 480]
        segment = seg.push(frame, vad_.is_speech(frame), start / 16000)
        silences.append(seg.silence_ms)
        if segment is not None and segment.event is Event.END:
            ended = i
    assert ended is None  # 900 ms of silence do not end it: the longest silence is 1200 ms
    assert silences[19] == 0 and silences[24] == 150 and silences[-1] == 900
    assert seg.speech_s == pytest.approx(1.5) and seg.started_s == 0.0
    # the judge hears the speech and all the silence after it
    assert len(seg.heard_so_far()) == len(audio)
