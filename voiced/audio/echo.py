"""Keeping the assistant's own voice out of what it hears.

PlaybackReference records what the speaker plays on the stream's time axis (at
16 kHz); the echo canceller (WebRTC's AEC3) subtracts it from the microphone.
The same reference lets a file source simulate a room: the reply mixed back into
the input with a delay and a gain.
"""

from __future__ import annotations

import numpy as np

from voiced.audio import Resampler, to_int16
from voiced.types import SAMPLE_RATE_HZ


class PlaybackReference:
    """What the speaker plays, by stream time, at 16 kHz."""

    def __init__(self, keep_s: float = 20.0) -> None:
        self._chunks: list[tuple[int, np.ndarray]] = []
        self._keep = int(keep_s * SAMPLE_RATE_HZ)

    def add(self, start_s: float, audio: np.ndarray, rate_hz: int) -> None:
        samples = Resampler(rate_hz, SAMPLE_RATE_HZ).process(to_int16(audio))
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
