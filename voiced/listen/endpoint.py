"""When a pause ends the user's turn: how they sound (the judge) and how their words read.

A quiet of QUIET_MS starts transcription (the turns module) and, here, the judge: a model
that hears whether the speaker sounds finished. It is asked again as the silence grows (a
word's soft end is often still heard as silence at first). The decision, in one place:

- sounds finished and the words read finished: the turn is over now;
- sounds finished, the words unsure (no end mark, "and ..."): after unsure_silence_ms;
- sounds unfinished (someone thinking): only after unfinished_silence_ms;
- no judge: the words decide at once, else end_silence_ms.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import numpy as np

from voiced.config import VadSettings
from voiced.engines import TurnJudge

log = logging.getLogger(__name__)

QUIET_MS = 60
"""Once the speaker has been quiet this long the turn may be over: the judge is asked and
the words so far are looked at (the turns module), 90 ms before the pause (150 ms) would
start them: what they say is ready sooner, and they run beside each other, not beside the
model that writes the reply."""

Run = Callable[[Callable[[np.ndarray], float], np.ndarray], Awaitable[float]]
"""Runs the judge off the event loop (a worker)."""


def turn_over(
    silence_ms: int,
    sounds_finished: bool | None,
    reads_finished: bool | None,
    vad: VadSettings,
) -> bool:
    """Whether this much silence ends the turn. sounds_finished: the judge's latest verdict
    (None: there is no judge, or it failed); reads_finished: the words' (None: not
    transcribed yet)."""
    if silence_ms >= vad.unfinished_silence_ms:
        return True
    if sounds_finished is False:
        return False
    if reads_finished:
        return True
    if sounds_finished is None:
        return silence_ms >= vad.end_silence_ms
    return silence_ms >= max(vad.end_silence_ms, vad.unsure_silence_ms)


class EndOfTurn:
    """The judge's verdicts for the pause in progress, asked at each step of silence."""

    def __init__(self, vad: VadSettings, judge: TurnJudge | None, run: Run) -> None:
        self.vad = vad
        self.judge = judge
        self._run = run
        self._asked: set[int] = set()
        self._latest: asyncio.Future[float] | None = None
        self._verdict: float | None = None
        self._failed = False

    def configure(self, vad: VadSettings) -> None:
        self.vad = vad

    @property
    def judging(self) -> bool:
        return self.judge is not None and bool(self.vad.turn_model)

    def reset(self) -> None:
        """Speech again (or a new utterance): the verdicts were about another pause."""
        if self._latest is not None:
            self._latest.cancel()
        self._asked.clear()
        self._latest, self._verdict, self._failed = None, None, False

    def hear(self, quiet_ms: int, audio: Callable[[], np.ndarray]) -> None:
        """Ask the judge once the speaker is quiet for QUIET_MS and at each pause_ms of
        silence (until end_silence_ms, and until it hears the speaker finished), on what
        has been heard so far; a step that comes while the judge is still hearing the last
        one is skipped. quiet_ms 0: they speak again (the verdicts were about another
        quiet)."""
        if not quiet_ms:
            if self._asked:
                self.reset()
            return
        step = self.vad.pause_ms
        if not self.judging or not step or not QUIET_MS <= quiet_ms < self.vad.end_silence_ms:
            return
        mark = quiet_ms // step
        if mark in self._asked:
            return
        self._take_verdict(quiet_ms)
        if self._failed:
            return
        if self._verdict is not None and self._verdict > self.vad.finished_above:
            # It sounds finished: asked again only while it hears the speaker unfinished (a
            # call on one core beside the transcription and the model on two slows them).
            return
        self._asked.add(mark)
        if self._latest is not None and not self._latest.done():
            # Still hearing the last step (slow beside the transcription and the model):
            # its verdict comes soon; a new call would throw it away, and on two cores
            # every call would be thrown away until the end silence.
            return
        assert self.judge is not None
        self._latest = asyncio.ensure_future(self._run(self.judge.finished, audio()))

    def over(self, silence_ms: int, reads_finished: bool | None) -> bool:
        """Whether the turn is over after this much silence."""
        self._take_verdict(silence_ms)
        if not self.judging or self._failed:
            sounds = None
        elif self._verdict is None:
            return silence_ms >= self.vad.unfinished_silence_ms  # not heard yet
        else:
            sounds = self._verdict > self.vad.finished_above
        return turn_over(silence_ms, sounds, reads_finished, self.vad)

    def _take_verdict(self, silence_ms: int) -> None:
        """The judge's answer, once it has come."""
        latest = self._latest
        if latest is None or not latest.done():
            return
        self._latest = None
        if not latest.cancelled() and latest.exception() is None:
            self._verdict = latest.result()
            log.debug("sounds finished at %d ms of silence: %.2f", silence_ms, self._verdict)
        else:  # this pause is decided as if there were no judge
            self._failed = True
            if not latest.cancelled():
                log.warning("the end-of-turn judge failed: %s", latest.exception())
