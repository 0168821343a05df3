"""Engines: the real models and peers that do the work (speech to text, the language
model, the voice, voice activity, wake words, Home Assistant's conversation API), each
behind a small interface here. Uses audio, config, the model files and the leaves.

Each real engine lives in its own module and imports its heavy library inside,
so the rest of voiced (and its unit tests) loads without them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from voiced.types import Transcript

Message = dict[str, str]


class VoiceActivity(Protocol):
    def is_speech(self, frame: np.ndarray) -> bool:
        """Whether one 10/20/30 ms frame of 16 kHz int16 audio holds speech."""
        ...


class SpeechToText(Protocol):
    def transcribe(self, audio: np.ndarray) -> Transcript:
        """Recognise 16 kHz mono audio (int16 or float32 in [-1, 1])."""
        ...


class TurnJudge(Protocol):
    def finished(self, audio: np.ndarray) -> float:
        """How likely it is that the speech so far (16 kHz mono) ends the speaker's turn."""
        ...


CUT_SHORT = "\x00"
"""Yielded last by a stream that stopped before the model ended its reply (at its deadline,
or its length in tokens): the words after the last whole sentence are not to be said ("Oh
no, that must be so frustrating. How are")."""


class ChatModel(Protocol):
    def count_tokens(self, text: str) -> int: ...

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        """Yield the reply as text pieces, then CUT_SHORT if it was stopped before its end;
        blocking, so run it in a worker thread."""
        ...


class Reading(Protocol):
    """A prompt being answered in small pieces, so that it can wait between them."""

    text: str
    """The answer so far (all of it once step() has said it is done)."""

    def step(self) -> bool:
        """Do one small piece (a few prompt tokens, or one token of the answer; about
        0.1 s on 2 cores); True when the answer is complete. Blocking."""
        ...


@runtime_checkable
class Completer(Protocol):
    def complete(self, messages: Sequence[Message], max_tokens: int) -> str:
        """The whole reply, greedily decoded; blocking."""
        ...


class Reader(Protocol):
    def reading(self, messages: Sequence[Message], grammar: str, max_tokens: int) -> Reading:
        """The greedy answer to these messages, held to a GBNF grammar, to be made
        step by step."""
        ...


class Embedder(Protocol):
    dimensions: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """One unit-length float32 row per text: near rows, near meanings. Blocking."""
        ...


class TextToSpeech(Protocol):
    sample_rate_hz: int

    def synthesize(self, text: str, pace: float = 1.0) -> Iterator[np.ndarray]:
        """Yield int16 mono audio at sample_rate_hz; blocking, so run it in a worker thread.
        pace above 1 speaks slower (and a little softer), below 1 quicker."""
        ...


@dataclass(frozen=True)
class Wake:
    """A wake word heard."""

    name: str
    """The model that fired ("hey_jarvis")."""
    phrase: str
    """What it listens for ("Hey Jarvis")."""
    at_s: float
    """Stream time of the end of the 10 ms in which it fired."""
    probability: float


class WakeWords(Protocol):
    names: list[str]

    def hear(self, frame: np.ndarray, start_s: float) -> Wake | None:
        """One frame of 16 kHz int16 audio that started at start_s: the wake it completes."""
        ...

    def reset(self) -> None:
        """A new stream: nothing of the last one is carried."""
        ...
