"""What a speaker is to play, each piece with the stream time at which it sounds.

The time play() gives a piece is a prediction (behind what is queued, or a latency from
now). The device's own reading, in each output callback, of when that callback's first
sample sounds corrects it: after an underrun (the device paused, waiting for a callback
that came late) and for a fresh stream that started sooner or later than its latency said.
The echo detector compares the microphone with these times, so they must be right.
"""

from __future__ import annotations

import collections

import numpy as np

MOVE_TOLERANCE_S = 0.02
"""How far from its predicted time a piece may sound before it is moved: about what the
device's reading of itself is off by (the prediction is usually within it)."""


class PlaybackQueue:
    """Samples at the device's rate, taken by the output callback. Not thread-safe: the
    sink holds its lock around every call."""

    def __init__(self, rate_hz: int, tolerance_s: float = MOVE_TOLERANCE_S) -> None:
        self.rate_hz = rate_hz
        self.tolerance_s = tolerance_s
        self._pieces: collections.deque[tuple[np.ndarray, float]] = collections.deque()
        self.samples = 0
        """How many samples are queued."""
        self._taken_to_s = 0.0
        """When the last sample taken sounds."""
        self._moving = False
        """A move was found and is not yet made."""

    def push(self, samples: np.ndarray, earliest_s: float) -> float:
        """Queue a piece; when it sounds: behind what is queued, else at earliest_s (a
        latency from now) but never before what was taken has sounded."""
        if self._pieces:
            last, last_s = self._pieces[-1]
            start_s = last_s + len(last) / self.rate_hz
        else:
            start_s = max(earliest_s, self._taken_to_s)
        self._pieces.append((samples, start_s))
        self.samples += len(samples)
        return start_s

    def take(self, out: np.ndarray, sounds_s: float | None) -> tuple[float, float] | None:
        """Fill out (silence past what is queued). sounds_s: when out's first sample
        sounds, by the device's reading (None: no reading). Returns (from_s, by_s) when
        what is queued sounds by_s later than it was said to from from_s on: to be moved
        (move()), with the reference, where pieces are queued. Until then no other is
        found."""
        found = None
        if self._pieces and sounds_s is not None and not self._moving:
            head_s = self._pieces[0][1]
            if abs(sounds_s - head_s) > self.tolerance_s:
                found = (head_s, sounds_s - head_s)
                self._moving = True
        filled = 0
        while filled < len(out) and self._pieces:
            piece, start_s = self._pieces[0]
            take = min(len(piece), len(out) - filled)
            out[filled : filled + take] = piece[:take]
            filled += take
            self._taken_to_s = start_s + take / self.rate_hz
            if take == len(piece):
                self._pieces.popleft()
            else:
                self._pieces[0] = (piece[take:], self._taken_to_s)
        out[filled:] = 0
        self.samples -= filled
        return found

    def move(self, by_s: float) -> None:
        """Everything queued sounds by_s later (below zero: sooner) than it was said to."""
        self._pieces = collections.deque((p, s + by_s) for p, s in self._pieces)
        self._taken_to_s += by_s  # what was taken and not yet heard moved with it
        self._moving = False

    def clear(self) -> None:
        """Drop what is queued (what was taken still sounds)."""
        self._pieces.clear()
        self.samples = 0
        self._moving = False
