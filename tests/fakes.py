"""Fakes behind the engine interfaces, for fast tests of the logic around the models."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import numpy as np

from voiced.engines import Message, Wake
from voiced.types import SAMPLE_RATE_HZ, Transcript


class ManualClock:
    """A StreamClock whose time only moves when the test says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def restart(self) -> None:
        self.t = 0.0


class EnergyVad:
    """Speech is any frame whose peak is above a threshold (tests build frames to suit)."""

    def is_speech(self, frame: np.ndarray) -> bool:
        return bool(np.abs(frame).max() > 1000)


class ScriptedStt:
    """Returns the queued transcripts in order; '' means noise."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = list(texts)
        self.heard: list[int] = []

    def transcribe(self, audio: np.ndarray) -> Transcript:
        self.heard.append(len(audio))
        text = self.texts.pop(0) if self.texts else ""
        return Transcript(text, dropped="" if text else "noise")


class DraftingStt(ScriptedStt):
    """A ScriptedStt whose drafts of speech in progress always say the same words; a quick
    look at words that may be finished is as sure as a transcript (the next in the script)
    unless `unsure`."""

    def __init__(self, texts: Sequence[str], draft: str, unsure: bool = False) -> None:
        super().__init__(texts)
        self.drafted = draft
        self.unsure = unsure
        self.looked: list[int] = []

    def draft(self, audio: np.ndarray, finished: bool = False) -> Transcript | None:
        if not finished:
            return Transcript(self.drafted)
        self.looked.append(len(audio))
        return None if self.unsure else self.transcribe(audio)


def read_until_stopped(should_stop: Callable[[], bool], most_s: float = 5.0) -> None:
    """A model's reading ahead that takes as long as the turn lets it (at most most_s)."""
    deadline = time.monotonic() + most_s
    while not should_stop() and time.monotonic() < deadline:
        time.sleep(0.0005)


class ScriptedLlm:
    """Streams each queued reply in small pieces; an Exception in the queue is raised."""

    def __init__(self, replies: Sequence[str | Exception]) -> None:
        self.replies = list(replies)
        self.prompts: list[list[Message]] = []
        self.closed = 0

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        self.prompts.append(list(messages))
        reply = self.replies.pop(0) if self.replies else "Okay."
        if isinstance(reply, Exception):
            raise reply
        try:
            for i in range(0, len(reply), 5):
                yield reply[i : i + 5]
        finally:
            self.closed += 1


class ToneTts:
    """0.1 s of tone per word at 16 kHz."""

    sample_rate_hz = SAMPLE_RATE_HZ

    def __init__(self) -> None:
        self.spoken: list[str] = []
        self.paces: list[float] = []

    def synthesize(self, text: str, pace: float = 1.0) -> Iterator[np.ndarray]:
        self.spoken.append(text)
        self.paces.append(pace)
        n = int(0.1 * SAMPLE_RATE_HZ) * len(text.split())
        yield (np.sin(np.arange(n) * 0.2) * 8000).astype(np.int16)


class ListSource:
    """Frames from an array as fast as the test consumes them, moving a ManualClock along."""

    def __init__(self, audio: np.ndarray, clock: ManualClock, frame_ms: int = 30) -> None:
        self.audio = audio
        self.clock = clock
        self.frame_samples = SAMPLE_RATE_HZ * frame_ms // 1000

    async def frames(self) -> AsyncIterator[tuple[np.ndarray, float]]:
        n = self.frame_samples
        for start in range(0, len(self.audio) - n + 1, n):
            # Give the (instant) fake engines a moment per frame, as real time would.
            await asyncio.sleep(0.002)
            self.clock.t = (start + n) / SAMPLE_RATE_HZ
            yield self.audio[start : start + n], start / SAMPLE_RATE_HZ

    def close(self) -> None:
        pass


def speech_and_silence(pattern: Sequence[tuple[str, float]]) -> np.ndarray:
    """Build audio from ("speech"|"silence", seconds) pieces: loud tone or zeros."""
    parts = []
    for kind, seconds in pattern:
        n = int(seconds * SAMPLE_RATE_HZ)
        if kind == "speech":
            parts.append((np.sin(np.arange(n) * 0.3) * 10000).astype(np.int16))
        else:
            parts.append(np.zeros(n, dtype=np.int16))
    return np.concatenate(parts)


class WakeAt:
    """Fires once at each of the given stream times."""

    def __init__(self, *times_s: float) -> None:
        self.names = ["hey_jarvis"]
        self._times = list(times_s)

    def hear(self, frame: np.ndarray, start_s: float) -> Wake | None:
        if self._times and start_s >= self._times[0]:
            at_s = self._times.pop(0)
            return Wake("hey_jarvis", "Hey Jarvis", at_s, 0.99)
        return None

    def reset(self) -> None:
        pass
