"""One turn, the same for every way in: request → router → reply → speaker → finish.

The runner owns the loaded engines and their workers. `respond` takes a request (or the
transcription that will become one), has the router decide, then carries the route out:
an exact answer or the model's sentences, each spoken as soon as it is ready. Barge-in
cancels the carrying out; what was heard until then is what the history keeps.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from voiced.audio import AudioSink, StreamClock
from voiced.audio.echo import PlaybackReference
from voiced.config import Settings
from voiced.device import NoMicrophone, Volume
from voiced.engines import (
    ChatModel,
    SpeechToText,
    TextToSpeech,
    TurnJudge,
    VoiceActivity,
    WakeWords,
)
from voiced.mind.affect import Affect
from voiced.mind.conversation import Conversation
from voiced.mind.extract import worth_reading
from voiced.mind.memory import Memory
from voiced.text import settled_words
from voiced.turn.reply import Reply
from voiced.turn.request import Origin, Outcome, Request, SttError, TurnResult
from voiced.turn.router import Route, Router
from voiced.turn.speaker import Speaker, Spoken
from voiced.turn.workers import Workers
from voiced.types import SAMPLE_RATE_HZ, Transcript, TurnTimings

log = logging.getLogger(__name__)

MIN_WORDS_S = 0.3
"""The shortest audio worth transcribing for words after the assistant's echo."""


@dataclass
class Engines:
    stt: SpeechToText
    llm: ChatModel
    tts: TextToSpeech
    vad: VoiceActivity | None = None
    judge: TurnJudge | None = None
    """The end-of-turn judge (the voice loop only)."""
    wake: WakeWords | None = None
    """The wake word models (the voice loop in wake mode, acoustic)."""


class TurnRunner:
    def __init__(
        self,
        engines: Engines,
        settings: Settings,
        clock: StreamClock,
        conversation: Conversation,
        workers: Workers,
    ) -> None:
        self.engines = engines
        self.clock = clock
        self.workers = workers
        self.volume = Volume()
        self.router = Router(settings, conversation, device=NoMicrophone(self.volume))
        self.router.read_later = self._read_later
        self.speaker = Speaker(engines.tts, workers, clock, self.volume)
        self.stopping = threading.Event()
        """Set when the whole loop stops: the model stops writing at once."""
        self._reading: set[asyncio.Future[None]] = set()
        self._responding = False
        self._work: asyncio.Future[tuple[Affect | None, Route]] | None = None
        self._interrupt_at_s: float | None = None
        self._ahead_stop = threading.Event()
        self._noted: tuple[float, Affect | None] | None = None
        self._voice_at = float("-inf")
        self._one_reading: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        """The mood read ahead with an utterance's words: (when it started, the mood)."""

    @property
    def settings(self) -> Settings:
        return self.router.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self.router.settings = settings

    @property
    def conversation(self) -> Conversation:
        return self.router.conversation

    @property
    def reference(self) -> PlaybackReference | None:
        return self.speaker.reference

    @reference.setter
    def reference(self, reference: PlaybackReference | None) -> None:
        self.speaker.reference = reference

    # -- the models -------------------------------------------------------------------

    @property
    def reads_ahead(self) -> bool:
        """Whether the language model can read a prompt's start into its cache ahead of
        the turn (LlamaChat.prefill); remote models cannot."""
        return hasattr(self.engines.llm, "prefill")

    def warm_up(self) -> None:
        """Run each model once (blocking), on the thread that will run it, so the first real
        turn pays no start-up costs. The LLM warm-up also leaves the persona prefix in its
        KV cache."""
        self.workers.call("stt", self.engines.stt.transcribe, np.zeros(8000, dtype=np.int16))
        self.workers.call("llm", self.read_history)
        self.workers.call("tts", lambda: list(self.engines.tts.synthesize("Hello.")))

    def read_history(self) -> None:
        """Have the LLM read the persona and the history (blocking), into its KV cache: up
        to where the user's next words go, when it can read a prompt's start alone."""
        prefill = getattr(self.engines.llm, "prefill", None)
        if prefill is not None:
            prefill(self.conversation.messages_for(""))
            return
        warm = self.conversation.messages_for("Hello.")
        for _ in itertools.islice(self.engines.llm.stream(warm), 1):
            pass

    async def read_ahead(self, audio: np.ndarray, started_s: float, carried: str = "") -> None:
        """While the user is still speaking: transcribe what they said so far and have the
        model read the prompt it would make, but for its last word (which may still change),
        so that when the turn ends only the last words are left to read."""
        prefill = getattr(self.engines.llm, "prefill", None)
        draft = getattr(self.engines.stt, "draft", None)
        if prefill is None or draft is None:
            return
        self._ahead_stop.clear()
        heard = await self.workers.run("stt", draft, audio)
        words = settled_words(heard.text) if heard is not None else ""
        if not words or self.busy:
            return
        request = Request.heard(Transcript(words), audio, started_s, carried)
        route = self.router.decide(request, on_pause=True)
        if route.outcome is not Outcome.GENERATE:
            return
        noted = self._noted_for(request)
        mood = noted[1] if noted is not None else await self._mood(request, route)
        messages = self.router.prompt(route, mood, await self._meaning(route)).messages
        read = 0
        if noted is None:
            # The note first, on its own: the turn's prompt carries it only once the model
            # has read it (a note read at the end would cost more than the words).
            head = [*messages[:-1], {**messages[-1], "content": ""}]
            read = await self.workers.run("llm", prefill, head, self._ahead_stop.is_set)
            if self._ahead_stop.is_set():
                log.debug("read ahead: %d tokens, stopped before the note was read", read)
                return
            self._noted = (request.started_s, mood)
        read += await self.workers.run("llm", prefill, messages, self._ahead_stop.is_set)
        log.debug("read ahead: %d tokens of %r", read, route.request)

    def stop_reading_ahead(self) -> None:
        """A turn is coming: the reading ahead in progress stops at its next few tokens."""
        self._ahead_stop.set()

    async def glance(self, audio: np.ndarray) -> Transcript | None:
        """The words of a speaker gone quiet, if they can be made out quickly and surely
        (the recogniser's quick look, as sure as a transcript); None: not quickly."""
        draft = getattr(self.engines.stt, "draft", None)
        if draft is None:
            return None
        try:
            heard: Transcript | None = await self.workers.run("stt", draft, audio, True)
        except Exception as exc:  # the transcription proper, if needed, meets it too
            log.debug("a quick look at the words failed: %s", exc)
            return None
        return heard

    async def transcribe(self, audio: np.ndarray) -> Transcript:
        try:
            return await self.workers.run("stt", self.engines.stt.transcribe, audio)
        except Exception as exc:
            raise SttError(exc) from exc

    async def hear(
        self,
        audio: np.ndarray,
        started_s: float,
        carried: str = "",
        transcript: Awaitable[Transcript] | None = None,
        audio_start_s: float | None = None,
    ) -> Request:
        """The request an utterance makes, once transcribed (it may have been already, on
        a pause), joined to the words held back before it. audio_start_s: when its audio
        began (started_s is when the held-back words did)."""
        heard = await (transcript if transcript is not None else self.transcribe(audio))
        at_s = started_s if audio_start_s is None else audio_start_s
        if self.router.own_voice(heard.text, at_s):
            heard = await self._after_own_voice(heard, audio, at_s)
        return Request.heard(heard, audio, started_s, carried)

    async def _after_own_voice(
        self, heard: Transcript, audio: np.ndarray, audio_start_s: float
    ) -> Transcript:
        """The words were the assistant's own reply, heard while it played: its echo. The
        user's, if they went on after it ended (a louder echo can drown them for Whisper),
        are in what came after; else nothing was said."""
        after = round((self.router.echo_ends_s - audio_start_s) * SAMPLE_RATE_HZ)
        rest = audio[max(0, after) :]
        if len(rest) >= MIN_WORDS_S * SAMPLE_RATE_HZ:
            again = await self.transcribe(rest)
            if again.text and not self.router.own_voice(again.text, audio_start_s):
                log.info("heard its own voice (%r), then the user", heard.text)
                return again
        log.info("heard its own voice, not the user: %r", heard.text)
        return Transcript("", heard.no_speech_prob, dropped="own voice")

    async def say(self, text: str, sink: AudioSink) -> float:
        """Speak a text (not a reply: nothing enters the conversation); returns its length."""
        return await self.speaker.say(text, sink)

    # -- one turn ---------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._responding

    def interrupt(self, at_s: float) -> None:
        """Stop the turn in progress (barge-in): no more words, playback cut at once."""
        if self._responding and self._interrupt_at_s is None:
            self._interrupt_at_s = at_s
            if self._work is not None:
                self._work.cancel()

    async def respond(
        self,
        request: Request | Awaitable[Request],
        sink: AudioSink,
        timings: TurnTimings,
        gate: asyncio.Event | None = None,
    ) -> TurnResult:
        """Answer one request; nothing is played before `gate` is set (the end of the turn
        confirmed: a reply prepared on a pause waits for it)."""
        self._responding, self._interrupt_at_s = True, None
        try:
            return await self._respond(request, sink, timings, gate)
        finally:
            self._responding, self._work = False, None

    async def _respond(
        self,
        incoming: Request | Awaitable[Request],
        sink: AudioSink,
        timings: TurnTimings,
        gate: asyncio.Event | None,
    ) -> TurnResult:
        request = incoming if isinstance(incoming, Request) else await incoming
        timings.mark("transcript_s", self.clock.now())
        log.debug("transcript %r", request.transcript.text)
        route = self.router.decide(request, on_pause=gate is not None)
        result = TurnResult(request.transcript, route.outcome, heard=request.text, timings=timings)
        result.request = route.request
        spoken, mood = Spoken(), None
        try:
            if self._interrupt_at_s is None:
                self._work = asyncio.ensure_future(
                    self._carry_out(request, route, sink, timings, gate, spoken)
                )
                try:
                    mood, route = await self._work
                    result.outcome = route.outcome
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise  # dropped from outside (the user went on after a pause)
            if self._interrupt_at_s is not None and route.outcome not in _UNANSWERED:
                result.interrupted = True
                timings.extra["interrupt_s"] = round(self._interrupt_at_s, 4)
        finally:
            if route.outcome not in _UNANSWERED:
                result.reply, result.played = spoken.heard(), spoken.played()
                spoke_until = max(self.clock.now(), sink.busy_until())
                self.router.finish(route, result, gate is None or gate.is_set(), spoke_until, mood)
                if self.conversation.start_moved or self.reads_ahead:
                    self._read_history_ahead()
        if route.outcome is Outcome.IGNORED:
            log.info("not for me (no wake phrase): %d words ignored", len(request.text.split()))
        elif route.outcome is Outcome.NOTHING:
            timings.extra["dropped"] = request.transcript.dropped
        timings.mark("reply_done_s", max(self.clock.now(), sink.busy_until()))
        return result

    async def _carry_out(
        self,
        request: Request,
        route: Route,
        sink: AudioSink,
        timings: TurnTimings,
        gate: asyncio.Event | None,
        spoken: Spoken,
    ) -> tuple[Affect | None, Route]:
        """What the route says to do (cancelled by a barge-in); how the user sounded, and
        the route taken (Home Assistant's, or the one without it)."""
        if route.waits and gate is not None:
            # A mid-sentence pause, noise, or a command: decide nothing, and spend no CPU on
            # a reply (it would slow the transcription that matters), until the end of the
            # turn is confirmed.
            await gate.wait()
        if route.outcome in _UNANSWERED:
            return None, route
        reply = Reply(self.workers, self.clock, timings, self.stopping)
        mood = None
        if route.outcome is Outcome.HOME:
            route = await self._ask_home(request, route)
        if route.outcome.exact:
            reply.exact(self.router.answer(route))
        else:
            # How the whole turn sounds (about 7 ms), heard before the model starts: beside
            # it, on two cores, it slowed the model's reading by more than that.
            mood = await self._mood(request, route)
            if mood is not None:
                timings.extra.update(arousal=round(mood.arousal, 2), valence=round(mood.valence, 2))
                log.debug("the user sounds %s (%s)", mood.describe() or "as usual", mood.deviations)
            # a model that reads ahead follows only a note it has read; the voice follows
            # how the whole turn sounds either way (its pace)
            noted = self._noted_mood(request) if self.reads_ahead else mood
            prompt = self.router.prompt(route, noted, await self._meaning(route))
            if prompt.memories:
                timings.extra["memories"] = list(prompt.memories)
            pipeline = self.settings.pipeline
            first_clause = pipeline.first_clause_words
            reply.generate(self.engines.llm, prompt, first_clause, whole=pipeline.sequential)
        pace = mood.pace if mood is not None else 1.0
        voiced = request.origin.speaks
        await self.speaker.speak(reply, sink, timings, spoken, gate, pace, voiced)
        return mood, route

    async def _meaning(self, route: Route) -> np.ndarray | None:
        """What the request means, to recall memories by, found off the event loop."""
        memory = self.router.memory
        if memory is None or memory.embedder is None:
            return None
        return await self.workers.run("answers", memory.meaning, route.request)

    async def _ask_home(self, request: Request, route: Route) -> Route:
        """Home Assistant asked (off the loop), and the route its answer leads to."""
        home = self.router.home
        assert home is not None
        answer = await self.workers.run("home", home.ask, route.request)
        return self.router.after_home(request, route, answer)

    async def _mood(self, request: Request, route: Route) -> Affect | None:
        """How the user sounds (None: no affect, or nothing heard); it is learnt from only
        once the turn is confirmed (router.finish)."""
        affect = self.router.affect
        if affect is None or not len(request.audio) or not route.request:
            return None
        return await self.workers.run("stt", affect.estimate, request.audio, route.request, False)

    def _noted_mood(self, request: Request) -> Affect | None:
        """The mood the prompt of a model that reads ahead follows: the one read ahead for
        this utterance, if it was (the model has read its note); else none. A note read at
        the end of the turn would cost more than the rest of the prompt (about 0.4 s on 2
        cores), and the voice still follows the mood (its pace)."""
        noted = self._noted_for(request)
        return noted[1] if noted is not None else None

    def _noted_for(self, request: Request) -> tuple[float, Affect | None] | None:
        """The mood whose note the model has read ahead for the utterance this request
        starts with (None: none was read). It is how the user sounded at the first reading
        ahead, kept for the rest of the utterance, so the note does not change under the
        words already read."""
        noted = self._noted
        return noted if noted is not None and abs(noted[0] - request.started_s) < 0.01 else None

    # -- after the turn ---------------------------------------------------------------

    async def settle(self) -> None:
        """Let facts still being read be stored, and the history being read ahead be read
        (a short wait, at the end: the model is free for use from outside after it)."""
        while self._reading:  # (reading facts ends with reading the history again)
            await asyncio.gather(*self._reading, return_exceptions=True)

    def _read_history_ahead(self) -> None:
        """The model reads the history with the last exchange now, while the user is
        quiet, not at the start of the next reply (2-3 s for a full context when its start
        moved)."""

        def done(future: asyncio.Future[None]) -> None:
            if not future.cancelled() and future.exception() is not None:
                log.warning("reading the history ahead failed: %s", future.exception())

        reading = asyncio.ensure_future(self.workers.run("llm", self.read_history))
        reading.add_done_callback(done)
        self._reading.add(reading)
        reading.add_done_callback(self._reading.discard)

    def heard_voice(self) -> None:
        """The user is speaking, or pausing within their turn (called for every frame of
        it): what the model reads after a turn waits until the turn is answered."""
        self._voice_at = time.monotonic()

    def model_wanted(self) -> bool:
        """Whether a turn needs the language model now or soon: one is being answered, or
        the user spoke within the last VOICE_HOLD_S (their words will be read ahead and
        transcribed)."""
        return self._responding or time.monotonic() - self._voice_at < VOICE_HOLD_S

    def _reading_lock(self) -> asyncio.Lock:
        """One reading of facts at a time (a lock of this event loop: `voiced memory check`
        and the tests run one runner under several)."""
        loop = asyncio.get_running_loop()
        if self._one_reading is None or self._one_reading[0] is not loop:
            self._one_reading = (loop, asyncio.Lock())
        return self._one_reading[1]

    async def _model_free(self) -> None:
        while self.model_wanted() and not self.stopping.is_set():
            await asyncio.sleep(FREE_POLL_S)

    def _read_later(self, memory: Memory, text: str) -> None:
        """The facts in what the user said, read by the model after the turn, in pieces of
        about 0.1 s on the model's worker, each one only while no turn wants the model: a
        turn that starts waits at most one piece."""
        reader = memory.reader
        if reader is None or not worth_reading(text):
            return
        said_at = datetime.datetime.fromtimestamp(self.router.alarms.clock())
        ticket = memory.ticket()

        async def read() -> None:
            cpu = 0.0
            try:
                async with self._reading_lock():  # its context holds one reading at a time
                    await self._model_free()
                    reading = await self.workers.run("llm", reader.reading, text)
                    while True:
                        await self._model_free()
                        if self.stopping.is_set():  # a stopping loop does not wait for it
                            log.info("a reading of facts was left unfinished: voiced stops")
                            return
                        done, spent = await self.workers.run("llm", _timed, reading.step)
                        cpu += spent
                        if done:
                            break
                kept = memory.keep_read(reader.facts(reading, text, said_at), text, ticket)
            except Exception as exc:  # a misreading model must not harm the loop
                log.warning("reading facts failed: %s: %s", type(exc).__name__, exc)
                return
            log.info("facts read: %d kept, %.2f s of CPU", len(kept), cpu)

        task = asyncio.ensure_future(read())
        self._reading.add(task)
        task.add_done_callback(self._reading.discard)


def _timed(step: Callable[[], bool]) -> tuple[bool, float]:
    """A step's result and the CPU time its thread spent on it."""
    started = time.thread_time()
    done = step()
    return done, time.thread_time() - started


VOICE_HOLD_S = 0.6
"""After the user's voice, the model's reading of facts waits this long for their turn."""
FREE_POLL_S = 0.05


_UNANSWERED = (Outcome.IGNORED, Outcome.NOTHING, Outcome.STOP)
"""Routes that say nothing: no reply, nothing to keep."""


async def text_turn(runner: TurnRunner, text: str, origin: Origin = Origin.TEXT) -> TurnResult:
    """One typed turn answered in words (`voiced ask`, a Wyoming conversation), through the
    same router as the voice loop."""
    from voiced.audio.files import BufferSink

    sink = BufferSink(runner.engines.tts.sample_rate_hz, runner.clock)
    now = runner.clock.now()
    timings = TurnTimings(speech_end_s=now, endpoint_s=now)
    return await runner.respond(Request.typed(text, origin), sink, timings)
