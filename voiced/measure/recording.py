"""How a recording is read: where speech ends and a voice begins, when a reply sounds
and stops, how loud a clip is.
"""

from __future__ import annotations

import numpy as np

from voiced.types import SAMPLE_RATE_HZ

LOUD = 500  # int16 peak that counts as sound


CLICK_S, CLICK_GAP_S = 0.15, 0.3  # a sound this short, this long after the words


HEARD_ON_S = 1.5
"""A reply still sounding this long after the user's onset was not stopped by them."""


def last_sound_s(audio: np.ndarray, rate: int) -> float:
    loud = np.flatnonzero(np.abs(audio) > LOUD)
    return float(loud[-1] + 1) / rate if len(loud) else 0.0


def sounded_on_s(replies: np.ndarray, rate: int, onset_s: float, answer_s: float | None) -> float:
    """How long the interrupted reply sounded on after the user's onset: its last sound within
    HEARD_ON_S of the onset, and before answer_s (the answer to the user, which may come
    sooner than that)."""
    end_s = onset_s + HEARD_ON_S if answer_s is None else min(onset_s + HEARD_ON_S, answer_s)
    return last_sound_s(replies[round(onset_s * rate) : round(end_s * rate)], rate)


def speech_end_s(audio: np.ndarray) -> float:
    """Where the speech in a 16 kHz clip ends: the last of 3+ voiced 30 ms frames in a row
    (strict webrtcvad), so trailing noise in a recording does not count as speech. A last
    stretch shorter than CLICK_S after CLICK_GAP_S without speech is a click, not a word."""
    from voiced.engines.webrtc import WebRtcVad

    vad, n = WebRtcVad(3), SAMPLE_RATE_HZ * 30 // 1000
    stretches: list[tuple[float, float]] = []  # (start_s, end_s) of 3+ voiced frames
    run = 0
    for i in range(0, len(audio) - n + 1, n):
        run = run + 1 if vad.is_speech(audio[i : i + n]) else 0
        end = (i + n) / SAMPLE_RATE_HZ
        if run == 3:
            stretches.append((end - 3 * n / SAMPLE_RATE_HZ, end))
        elif run > 3:
            stretches[-1] = (stretches[-1][0], end)
    while len(stretches) > 1:
        (_, before), (start, end) = stretches[-2:]
        if end - start >= CLICK_S or start - before < CLICK_GAP_S:
            break
        stretches.pop()
    return stretches[-1][1] if stretches else last_sound_s(audio, SAMPLE_RATE_HZ)


def voice_onset_s(audio: np.ndarray) -> float:
    """Where the voice in a 16 kHz clip begins: the first 10 ms whose energy between 150 Hz
    and 7 kHz (the voice's, as the double-talk detector hears it) is loud and within 20 dB
    of the clip's loudest, so a rumble or a pop on the microphone before the words does
    not count."""
    from voiced.audio.echo import band_energies

    level = np.sqrt(band_energies(audio).sum(axis=1))
    loud = np.flatnonzero(level > max(LOUD, level.max(initial=0) / 10))
    return float(loud[0]) * 0.01 if len(loud) else last_sound_s(audio, SAMPLE_RATE_HZ)


def first_sound_after(audio: np.ndarray, rate: int, after_s: float) -> float | None:
    start = int(after_s * rate)
    loud = np.flatnonzero(np.abs(audio[start:]) > LOUD)
    return float(start + loud[0]) / rate if len(loud) else None


def sound_stops_after(audio: np.ndarray, rate: int, after_s: float, quiet_s: float = 0.25) -> float:
    """The first moment after after_s from which the output stays quiet for quiet_s."""
    hop = rate // 100
    start = int(after_s * rate)
    quiet_hops = int(quiet_s * 100)
    run = 0
    for i in range(start, len(audio) - hop, hop):
        run = run + 1 if np.abs(audio[i : i + hop]).max() <= LOUD else 0
        if run >= quiet_hops:
            return (i + hop) / rate - quiet_s
    return len(audio) / rate


def loudness(audio: np.ndarray) -> float:
    """The rms of a clip's sounding part."""
    loud = audio[np.abs(audio) > LOUD].astype(np.float64)
    return float(np.sqrt(np.mean(loud**2))) if len(loud) else 0.0
