"""Taking turns: when the user's turn is over, and what happens to the reply meanwhile.

A reply is prepared on a pause (transcript, reply, voice) and released when the end of
the turn is confirmed, or dropped if the user goes on. A reply cut off before a word of
it was heard means the user was still talking: their words are held back and answered,
joined to what follows, by the next turn. Turns run one after another. A turn that fails
gets a short apology that names no internals, and the loop goes on.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from voiced import heap
from voiced.audio import AudioSink
from voiced.listen.endpoint import QUIET_MS
from voiced.text import looks_finished
from voiced.turn.request import Outcome, Request, StageError, TurnResult
from voiced.turn.runner import TurnRunner
from voiced.types import Transcript, TurnTimings, Utterance

log = logging.getLogger("voiced.pipeline")
"""The turn lines keep the logger name they always had: the README and log readers use it."""

READ_AHEAD_S = 1.0
"""How often the words of an utterance in progress are read ahead into the model."""
APOLOGY = "Sorry, something went wrong there. Could you ask me again?"
APOLOGIES = {"stt": "Sorry, I could not make out what you said. Could you say it again?"}
"""What is said when a turn fails, by the stage that failed (APOLOGY for the others)."""


@dataclass
class _Speculation:
    """A turn started on a pause, before the end of the turn was certain.

    Its transcript, reply and voice are prepared at once; nothing is played until
    the end of the turn is confirmed (the gate opens). If the user goes on
    speaking, it is dropped.
    """

    utterance: Utterance
    transcript: asyncio.Future[Transcript]
    timings: TurnTimings
    gate: asyncio.Event
    turn: asyncio.Task[TurnResult | None]


class Turns:
    def __init__(
        self,
        runner: TurnRunner,
        sink: AudioSink,
        on_turn: Callable[[TurnResult], None] | None = None,
    ) -> None:
        self.runner = runner
        self.sink = sink
        self.on_turn = on_turn
        self.done: collections.deque[TurnResult] = collections.deque(maxlen=100)
        """The latest turns (a daemon runs for months: only the recent ones are kept)."""
        self.failures: collections.Counter[str] = collections.Counter()
        """Turns that failed, by the stage that failed (logged; the loop went on)."""
        self._speculation: _Speculation | None = None
        self._turn: asyncio.Task[TurnResult | None] | None = None
        self._carried = ""
        """A request held back: the user seemed to go on (answered with what follows)."""
        self._carried_from: Utterance | None = None
        self._cancelled = False
        self._ahead: asyncio.Future[None] | None = None
        self._ahead_at_s = 0.0
        self._quiet: tuple[float, asyncio.Future[Transcript | None]] | None = None
        """The words up to the speaker's latest quiet, being looked at: (when their voice
        ended, the transcript if it was quick and sure)."""

    # -- what the segmenter reports ---------------------------------------------------

    def speculate(self, utterance: Utterance) -> None:
        """A pause: transcribe and prepare the reply now, in case the turn is over."""
        self.drop_speculation()
        self._stop_reading_ahead()
        transcript = self._transcript(utterance) or asyncio.ensure_future(
            self.runner.transcribe(utterance.audio)
        )
        timings = TurnTimings.of(utterance, ended=False)
        gate = asyncio.Event()
        turn = self._chain(utterance, transcript, timings, gate)
        self._speculation = _Speculation(utterance, transcript, timings, gate, turn)

    def hearing(
        self,
        speech_s: float,
        started_s: float,
        audio: Callable[[], np.ndarray],
        quiet_ms: int = 0,
        voice_ended_s: float = 0.0,
    ) -> None:
        """The user is speaking (speech_s into the utterance; quiet for the last quiet_ms,
        since their voice ended at voice_ended_s): about every READ_AHEAD_S, the words so
        far are read ahead into the model (see TurnRunner.read_ahead), one reading at a
        time, and never while a reply is being made. Once they are quiet for QUIET_MS it
        stops (at its next few tokens: a step of reading, 4 tokens in about 100 ms on both
        cores, would slow the transcription) and what they said is looked at (the pause, if
        it comes, takes that transcript); when they go on, it starts again at once."""
        if speech_s < self._ahead_at_s:
            self._ahead_at_s = 0.0  # a new utterance
        if self.runner.settings.pipeline.sequential or self.runner.busy:
            return
        if quiet_ms >= QUIET_MS:
            if self._ahead is not None and not self._ahead.done():
                self._stop_reading_ahead()
                self._ahead_at_s = speech_s - READ_AHEAD_S  # again as soon as words come
            self._look_at_quiet(voice_ended_s, audio)
        if quiet_ms:
            return  # (a reading starts on words, not as they may be ending)
        if speech_s - self._ahead_at_s < READ_AHEAD_S:
            return
        if self._ahead is not None and not self._ahead.done():
            return
        self._ahead_at_s = speech_s
        self._ahead = asyncio.ensure_future(
            self.runner.read_ahead(audio(), started_s, self._carried)
        )
        self._ahead.add_done_callback(_quietly)

    def _look_at_quiet(self, voice_ended_s: float, audio: Callable[[], np.ndarray]) -> None:
        """Look at the words up to this quiet (once): if it turns into a pause, their
        transcript is 90 ms further on; if the speaker goes on, it is not used."""
        if self._quiet is not None and self._quiet[0] == voice_ended_s:
            return
        transcript = asyncio.ensure_future(self.runner.glance(audio()))
        self._quiet = (voice_ended_s, transcript)

    def _transcript(self, utterance: Utterance) -> asyncio.Future[Transcript] | None:
        """The utterance's words as looked at on the quiet its voice ended with (transcribed
        after all if that look was unsure); None: there was no such look."""
        quiet, self._quiet = self._quiet, None
        if quiet is None or quiet[0] != utterance.speech_end_s:  # (both rounded alike)
            return None
        looked = quiet[1]

        async def transcript() -> Transcript:
            heard = await looked
            return heard if heard is not None else await self.runner.transcribe(utterance.audio)

        return asyncio.ensure_future(transcript())

    def _stop_reading_ahead(self) -> None:
        """A turn's transcript is being made: reading ahead, a head start, must not delay
        it (what it has handed to a model finishes; nothing more is handed on)."""
        if self._ahead is not None and not self._ahead.done():
            self._ahead.cancel()
            self.runner.stop_reading_ahead()

    def drop_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation.turn.cancel()
            self._speculation = None

    def reads_finished(self) -> bool | None:
        """Whether the words before the pause read as a finished turn (None: not known yet)."""
        speculation = self._speculation
        if speculation is None or not speculation.transcript.done():
            return None
        if speculation.transcript.cancelled() or speculation.transcript.exception() is not None:
            return False
        # a sound after a held-back request (a breath, a click) says nothing: the held-back
        # words decide
        text = " ".join(t for t in (self._carried, speculation.transcript.result().text) if t)
        return looks_finished(text) and not self.runner.router.wake_only(text)

    def commit(self, utterance: Utterance) -> None:
        """The turn is over: release the speculative reply, or start one now."""
        speculation, self._speculation = self._speculation, None
        self._stop_reading_ahead()
        log.debug(
            "end of turn at %.2f s (speech ending %.2f s; prepared on a pause: %s)",
            utterance.endpoint_s,
            utterance.speech_end_s,
            speculation.utterance.speech_end_s if speculation else None,
        )
        if speculation is not None and speculation.utterance.speech_end_s == utterance.speech_end_s:
            speculation.timings.endpoint_s = utterance.endpoint_s
            speculation.gate.set()
            return
        if speculation is not None:
            speculation.turn.cancel()
        self._chain(utterance, self._transcript(utterance), TurnTimings.of(utterance), _open_gate())

    def resume_carried(self) -> None:
        """What seemed the user going on was too short to be words (a click, a cough):
        answer the request it held back after all."""
        self.drop_speculation()

        async def resume(previous: asyncio.Task[TurnResult | None] | None) -> TurnResult | None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            origin = self._carried_from
            if not self._carried or origin is None:
                return None
            nothing_more = asyncio.get_running_loop().create_future()
            nothing_more.set_result(Transcript(""))
            return await self._answer(
                origin, nothing_more, TurnTimings.of(origin), _open_gate(), None
            )

        self._turn = asyncio.create_task(resume(self._turn))

    # -- from outside -----------------------------------------------------------------

    def ask(self, request: Request) -> asyncio.Task[TurnResult | None]:
        """A typed request, answered in turn like a spoken one."""
        now = round(self.runner.clock.now(), 4)
        timings = TurnTimings(speech_start_s=now, speech_end_s=now, endpoint_s=now)
        previous = self._turn
        typed = self._run(request, timings, _open_gate(), previous, spoken=False)
        self._turn = asyncio.create_task(typed)
        return self._turn

    def cancel(self) -> bool:
        """Stop the reply being answered; its request is dropped, not carried. False:
        no turn was in progress."""
        if not self.runner.busy:
            return False
        self._cancelled = True
        self.runner.interrupt(self.runner.clock.now())
        return True

    async def finish(self) -> None:
        """Until the last turn has ended."""
        while self._turn is not None and not self._turn.done():
            await self._turn

    async def close(self) -> None:
        if self._ahead is not None:
            self._ahead.cancel()
        if self._turn is not None:
            self._turn.cancel()
            await asyncio.gather(self._turn, return_exceptions=True)

    # -- one after another ------------------------------------------------------------

    def _chain(
        self,
        utterance: Utterance,
        transcript: asyncio.Future[Transcript] | None,
        timings: TurnTimings,
        gate: asyncio.Event,
    ) -> asyncio.Task[TurnResult | None]:
        """Turns run one after another, each starting once the one before has ended."""
        previous = self._turn
        self._turn = asyncio.create_task(
            self._answer(utterance, transcript, timings, gate, previous)
        )
        return self._turn

    async def _answer(
        self,
        utterance: Utterance,
        transcript: asyncio.Future[Transcript] | None,
        timings: TurnTimings,
        gate: asyncio.Event,
        previous: asyncio.Task[TurnResult | None] | None,
    ) -> TurnResult | None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        carried, origin = self._carried, self._carried_from
        started_s = origin.speech_start_s if carried and origin else utterance.speech_start_s
        request = self.runner.hear(
            utterance.audio, started_s, carried, transcript, utterance.audio_start_s
        )
        result = await self._run(request, timings, gate, None)
        if result is not None and result.held_back:
            # Cut off before a word was said: the user was still going; keep their words.
            # Not a turn of its own: it is answered, with what follows, by the next one.
            self._carried, self._carried_from = result.heard, utterance
            log.debug("held back %r: the user goes on", result.heard)
        elif result is not None:
            self._carried, self._carried_from = "", None
        return result

    async def _run(
        self,
        request: Request | Awaitable[Request],
        timings: TurnTimings,
        gate: asyncio.Event,
        previous: asyncio.Task[TurnResult | None] | None,
        spoken: bool = True,
    ) -> TurnResult | None:
        """One request answered and logged; spoken: one the user may still be saying
        (a held-back one is not a turn of its own)."""
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        self._cancelled = False
        try:
            result = await self.runner.respond(request, self.sink, timings, gate)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one failed turn must not end the loop
            stage = exc.stage if isinstance(exc, StageError) else "turn"
            self.failures[stage] += 1
            log.error("turn failed in the %s: %s", stage, exc)
            log.debug("turn failure", exc_info=True)
            await self._apologise(APOLOGIES.get(stage, APOLOGY))
            return None
        if result.interrupted and self._cancelled:
            result.outcome = Outcome.CANCEL
        elif result.held_back and spoken:
            return result
        timings.extra.update(
            interrupted=result.interrupted, command=result.answered_by, by=result.by
        )
        log.info("turn %s", timings.to_json())
        log.debug("heard %r, said %r", result.request or result.transcript.text, result.reply)
        self.done.append(result)
        if self.on_turn is not None:
            self.on_turn(result)
        self.runner.workers.run("answers", heap.give_back)  # a turn's garbage goes back
        return result

    async def _apologise(self, apology: str) -> None:
        """Say that something went wrong, rather than nothing at all (if the voice works)."""
        try:
            await self.runner.say(apology, self.sink)
        except Exception as exc:
            log.error("could not say sorry either: %s: %s", type(exc).__name__, exc)


def _quietly(future: asyncio.Future[None]) -> None:
    """Reading ahead is only a head start: a failure costs the time it would have saved."""
    if not future.cancelled() and future.exception() is not None:
        log.debug("reading ahead failed: %s", future.exception())


def _open_gate() -> asyncio.Event:
    gate = asyncio.Event()
    gate.set()
    return gate
