"""The sentences of one reply: written by the language model, or known exactly.

They are produced on a worker thread (the model's, or the quick one for a known answer,
so it never waits behind a busy model) and read one by one on the event loop, each as
soon as it is complete, so the first can be spoken while the model writes the rest.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

from voiced.audio import StreamClock
from voiced.engines import ChatModel
from voiced.mind.conversation import reply_sentences
from voiced.text import split_sentences
from voiced.turn.request import LlmError
from voiced.turn.router import Prompt
from voiced.turn.workers import Workers
from voiced.types import TurnTimings

VOICE_FIRST_S = 1.0
"""How long the model may wait, after the first piece, for its voice (at most)."""


class Reply:
    def __init__(
        self, workers: Workers, clock: StreamClock, timings: TurnTimings, halted: threading.Event
    ) -> None:
        self._workers = workers
        self._clock = clock
        self._timings = timings
        self._halted = halted
        self.stop = threading.Event()
        """Set when the turn is over (interrupted, cancelled): the model stops writing."""
        self.voiced_first = threading.Event()
        """Set when the first piece has its voice: until then the model, which would slow
        the voice on a small machine, waits (the rest is needed only when that has played)."""
        self._sentences: asyncio.Queue[str | None] = asyncio.Queue()
        self._producing: asyncio.Future[None] | None = None

    def exact(self, answer: str) -> None:
        """Say known words: no model needed."""
        self._start("answers", lambda: iter(split_sentences(answer)))

    def generate(
        self, llm: ChatModel, prompt: Prompt, first_clause_words: int, whole: bool
    ) -> None:
        """Let the model write; whole: the baseline, the full reply as one piece."""

        def pieces() -> Iterator[str]:
            sentences = reply_sentences(
                llm,
                prompt.messages,
                prompt.max_sentences,
                on_first_token=self._first_token,
                should_stop=lambda: self.stop.is_set() or self._halted.is_set(),
                first_clause_words=0 if whole else first_clause_words,
            )
            return iter([" ".join(sentences)]) if whole else sentences

        self._start("llm", pieces)

    async def next(self) -> str | None:
        """The next sentence, or None when the reply is complete."""
        return await self._sentences.get()

    async def finished(self) -> None:
        """Until the producer is done; a failure in the model is raised here."""
        assert self._producing is not None
        try:
            await self._producing
        except Exception as exc:
            raise LlmError(exc) from exc

    def _first_token(self) -> None:
        loop = self._loop
        loop.call_soon_threadsafe(self._timings.mark, "first_token_s", self._clock.now())

    def _start(self, worker: str, pieces: Callable[[], Iterator[str]]) -> None:
        self._loop = loop = asyncio.get_running_loop()
        put = self._sentences.put_nowait

        def produce() -> None:
            try:
                source = pieces()
                if worker == "answers":
                    self._first_token()
                first = True
                for sentence in source:
                    if sentence:
                        loop.call_soon_threadsafe(put, sentence)
                        if first:
                            self.voiced_first.wait(VOICE_FIRST_S)
                            first = False
            finally:
                loop.call_soon_threadsafe(put, None)

        self._producing = asyncio.ensure_future(self._workers.run(worker, produce))
