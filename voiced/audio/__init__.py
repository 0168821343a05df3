"""Audio in and out: real devices through sounddevice, or files standing in for them.

Sources yield (frame, stream time) pairs of 16 kHz mono int16; sinks take int16
audio at their own rate and say at which stream time it starts to play. Both
share one StreamClock, so the output file can be time-aligned with the input.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Protocol

import numpy as np


class StreamClock:
    """Seconds since the stream started: the time axis of every turn timestamp."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def restart(self) -> None:
        """Make now the stream's time zero."""
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0


class AudioSource(Protocol):
    frame_samples: int

    def frames(self) -> AsyncIterator[tuple[np.ndarray, float]]:
        """Yield (int16 frame, stream time of its first sample) until the input ends."""
        ...

    def close(self) -> None: ...


class AudioSink(Protocol):
    sample_rate_hz: int

    def play(self, audio: np.ndarray) -> float:
        """Queue int16 audio behind whatever is playing; return the stream time it starts."""
        ...

    def busy_until(self) -> float:
        """Stream time at which everything queued so far has been heard."""
        ...

    def flush(self) -> float:
        """Stop playing at once and drop what is queued; return when the sound stops."""
        ...

    def close(self) -> None: ...


class Resampler:
    """Streaming linear-interpolation resampler (mono), continuous across chunks."""

    def __init__(self, from_hz: int, to_hz: int) -> None:
        self.from_hz = from_hz
        self.ratio = from_hz / to_hz
        self._position = 0.0  # next output sample, in input samples, relative to _last
        self._last = np.zeros(1, dtype=np.float32)

    def process(self, chunk: np.ndarray) -> np.ndarray:
        if self.ratio == 1.0:
            return chunk
        data = np.concatenate([self._last, chunk.astype(np.float32)])
        positions = np.arange(self._position, len(data) - 1, self.ratio)
        out = np.interp(positions, np.arange(len(data)), data)
        self._position = (positions[-1] + self.ratio if len(positions) else self._position) - (
            len(data) - 1
        )
        self._last = data[-1:]
        return (
            out.astype(chunk.dtype) if chunk.dtype != np.int16 else np.round(out).astype(np.int16)
        )


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] (or int16 already) as int16 samples."""
    if audio.dtype == np.int16:
        return audio
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
