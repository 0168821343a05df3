"""Keeping the assistant's own voice out of what it hears.

PlaybackReference records what the speaker plays on the stream's time axis (at
16 kHz); the echo canceller (WebRTC's AEC3) subtracts it from the microphone.
The same reference lets a file source simulate a room: the reply mixed back into
the input with a delay and a gain.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from voiced.audio import resample, to_int16
from voiced.types import SAMPLE_RATE_HZ


class PlaybackReference:
    """What the speaker plays, by stream time, at 16 kHz."""

    def __init__(self, keep_s: float = 20.0) -> None:
        self._chunks: list[tuple[int, np.ndarray]] = []
        self._keep = int(keep_s * SAMPLE_RATE_HZ)

    def add(self, start_s: float, audio: np.ndarray, rate_hz: int) -> None:
        samples = resample(to_int16(audio), rate_hz, SAMPLE_RATE_HZ)
        start = round(start_s * SAMPLE_RATE_HZ)
        horizon = start - self._keep
        self._chunks = [(s, c) for s, c in self._chunks if s + len(c) > horizon]
        self._chunks.append((start, samples))

    def read(self, start_s: float, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.int16)
        begin = round(start_s * SAMPLE_RATE_HZ)
        for start, chunk in self._chunks:
            lo, hi = max(begin, start), min(begin + n, start + len(chunk))
            if lo < hi:
                out[lo - begin : hi - begin] = chunk[lo - start : hi - start]
        return out

    def cut(self, at_s: float) -> None:
        """Playback stopped at at_s: nothing after it will be heard."""
        at = round(at_s * SAMPLE_RATE_HZ)
        self._chunks = [(s, c[: max(0, at - s)]) for s, c in self._chunks if s < at]


class EchoCanceller:
    """WebRTC AEC3 (pywebrtc-audio) on 16 kHz int16 frames, with the playback as reference."""

    def __init__(self, delay_ms: int) -> None:
        from pywebrtc_audio import EchoCanceller as Aec3

        self._aec = Aec3(sample_rate=SAMPLE_RATE_HZ, num_channels=1, stream_delay_ms=delay_ms)

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        return np.asarray(self._aec.process(near, far), dtype=np.int16)


def rms(frame: np.ndarray) -> float:
    return float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))) if len(frame) else 0.0


class DoubleTalkDetector:
    """Whether the user has started talking while the assistant's voice is in the room.

    Judged on what the canceller leaves of the microphone. With only the assistant
    audible it leaves a small share (its "leak", learnt as the median over recent
    loud frames, so a canceller still converging, or a room where it does worse, raises
    the bar by itself); the user's voice leaves far more. In double talk the
    canceller's suppressor still swallows many of the user's frames, letting through
    bursts of a few; so the decision is a count of loud frames over a short window,
    not a run of them.
    """

    def __init__(
        self,
        floor_rms: float = 30.0,
        above_leak: float = 16.0,
        window: int = 10,
        needed: int = 3,
        history: int = 66,
        warm_up: int = 60,
    ) -> None:
        self.floor_rms = floor_rms
        """About -60 dBFS: below any voice meant for the microphone."""
        self.above_leak = above_leak
        self._recent: deque[bool] = deque(maxlen=window)
        self._needed = needed
        self._leaks: deque[float] = deque(maxlen=history)
        self._warm_up = min(warm_up, history)
        """Loud frames of echo to learn from before trusting the canceller: in its
        first seconds it may still let whole syllables of the assistant through."""
        self._trusted = False

    @property
    def leak(self) -> float:
        """The share of the microphone's level the canceller leaves of the echo."""
        if len(self._leaks) < 5:
            return 1.0  # not learnt yet: assume it removes nothing
        return float(np.median(self._leaks))

    def user_speaks(
        self, clean: np.ndarray, mic: np.ndarray, is_speech: bool, far: np.ndarray | None = None
    ) -> bool:
        """One frame: the cancelled microphone, the raw one, the VAD's word on it, and
        what the speaker played in it."""
        level, mic_level = rms(clean), rms(mic)
        loud = level >= max(self.floor_rms, self.above_leak * self.leak * mic_level)
        playing = far is not None and rms(far) >= 10 * self.floor_rms
        if mic_level >= 10 * self.floor_rms or (playing and mic_level >= self.floor_rms):
            # an echo (or the user): learn from it. A quiet echo counts too: taken as "no
            # echo", it would trust the canceller at once, and its first residues, louder
            # than the floor, would be taken for the user.
            self._leaks.append(level / mic_level)
        elif playing:
            self._leaks.append(0.0)  # loud playback, nothing in the microphone: no echo
        self._recent.append(is_speech and loud)
        return self.trusted and sum(self._recent) >= self._needed

    @property
    def trusted(self) -> bool:
        """Whether the canceller has converged: after the warm-up, or sooner when it
        has cancelled every loud frame evenly (a steady leak, no bursts through)."""
        if not self._trusted and len(self._leaks) >= 10:
            last = list(self._leaks)[-10:]
            steady = max(last) <= 4 * min(self.leak, 0.01)
            self._trusted = steady or len(self._leaks) >= self._warm_up
        return self._trusted

    @property
    def onset_frames(self) -> int:
        """How many frames ago (the last one counting as 1) the first loud one in the
        window came: where the user's voice began, as near as the window knows."""
        for age, loud in enumerate(self._recent):
            if loud:
                return len(self._recent) - age
        return 0

    def reset(self) -> None:
        """The assistant went quiet: the next time starts with a fresh window."""
        self._recent.clear()
