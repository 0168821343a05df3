"""The loop: audio in → segmenter → speech-to-text → LLM → text-to-speech → audio out.

Only this module knows the order. The event loop routes and decides; every
blocking model call runs in that engine's own single-thread executor, so a slow
model never stalls capture or endpointing. Lazy generators (whisper segments,
llama streams, Piper chunks) are drained inside those workers.

Speed comes from overlap: transcription starts on a short pause and a turn that
reads as finished ends right there; the reply is spoken sentence by sentence
(the first clause even sooner) while the model is still writing. Barge-in: when
the user starts speaking over a reply, playback stops, the unspoken rest is
dropped from the history and the new utterance is answered.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import numpy as np

from voiced import heap
from voiced.activation import Activation, Admission
from voiced.affect import AffectEstimator
from voiced.alarms import Alarm, Alarms
from voiced.audio import AudioSink, AudioSource, StreamClock
from voiced.audio.echo import DoubleTalkDetector, EchoCanceller, PlaybackReference
from voiced.config import Settings
from voiced.dialogue import Conversation, reply_sentences
from voiced.engines import ChatModel, SpeechToText, TextToSpeech, VoiceActivity
from voiced.extract import Completer, LlmExtractor
from voiced.memory import Memory, MemoryStore
from voiced.paths import state_dir
from voiced.segmenter import Event, Segment, Segmenter
from voiced.skills import Context as SkillContext
from voiced.skills import Device, Skills, default_skills
from voiced.skills.timers import announcement
from voiced.text import is_stop_command, looks_finished, speakable, split_sentences
from voiced.types import Transcript, TurnTimings, Utterance

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Engines:
    stt: SpeechToText
    llm: ChatModel
    tts: TextToSpeech
    vad: VoiceActivity | None = None


@dataclass
class TurnResult:
    transcript: Transcript
    reply: str = ""
    """What was actually spoken (cut where the user interrupted)."""
    interrupted: bool = False
    command: str = ""
    """"stop" when the user asked it to be quiet."""
    request: str = ""
    """What was answered: the transcript, after any earlier words it continues."""
    timings: TurnTimings = field(default_factory=TurnTimings)


INPUT_ENDED = "the input has ended and its last reply with it"
"""Logged when a file source is done: what follows is shutting down (the soak stops
measuring there)."""


class Workers:
    """One single-thread executor per engine: calls to one model never overlap; and one
    for quick work that needs no model (answers known from skills or memory, handing freed
    memory back), so it never waits behind a busy one."""

    def __init__(self) -> None:
        self._pools = {
            name: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"voiced-{name}")
            for name in ("stt", "llm", "tts", "answers")
        }

    def run(self, name: str, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        return asyncio.get_running_loop().run_in_executor(self._pools[name], fn, *args)

    def shutdown(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class _Said:
    text: str
    start_s: float
    end_s: float


async def _played_out(sink: AudioSink, clock: StreamClock) -> None:
    """Until the sink's queued audio has played: on the stream clock, which may run
    ahead of real time (files), but never longer than that audio lasts in real time
    (the clock stops when the input ends)."""
    wait_s = sink.busy_until() - clock.now()
    deadline = time.monotonic() + wait_s
    while wait_s > 0 and time.monotonic() < deadline:
        await asyncio.sleep(min(wait_s, 0.02))
        wait_s = sink.busy_until() - clock.now()


def _said_before(said: list[_Said], stop_s: float) -> str:
    """The words heard before playback stopped at stop_s (a cut sentence keeps its share)."""
    words: list[str] = []
    for part in said:
        if part.end_s <= stop_s:
            words += part.text.split()
        elif part.start_s < stop_s:
            share = (stop_s - part.start_s) / max(1e-6, part.end_s - part.start_s)
            words += part.text.split()[: int(len(part.text.split()) * share)]
    return " ".join(words)


class TurnRunner:
    """One turn: transcript, reply sentences streamed from the LLM, each spoken as it is ready."""

    def __init__(
        self,
        engines: Engines,
        settings: Settings,
        clock: StreamClock,
        conversation: Conversation,
        workers: Workers,
    ) -> None:
        self.engines = engines
        self.settings = settings
        self.clock = clock
        self.conversation = conversation
        self.workers = workers
        self.stopping = threading.Event()
        self.reference: PlaybackReference | None = None
        self.memory: Memory | None = None
        """What the user has told about themselves (None: remembering is off)."""
        self._reading: set[asyncio.Task[None]] = set()
        self.affect: AffectEstimator | None = None
        """How the user sounds against their own baseline (None: not noticed)."""
        self.skills: Skills | None = None
        """Exact answers before the LLM (time, timers ...), when [activation] skills is on."""
        self.alarms: Alarms | None = None
        """Timers and reminders; its clock is the wall clock every skill reads."""
        self.device: Device | None = None
        """The assistant itself, as skills may change it (volume, microphone)."""
        self.volume = 1.0
        self.last_reply = ""
        self.replied_until: float | None = None
        """Stream time the assistant last finished speaking to the user (follow-ups)."""
        self._interrupt: asyncio.Event | None = None
        self._interrupt_at_s = 0.0

    def warm_up(self) -> None:
        """Run each model once (blocking) so the first real turn pays no start-up costs.

        The LLM warm-up also leaves the persona prefix in its KV cache.
        """
        self.engines.stt.transcribe(np.zeros(8000, dtype=np.int16))
        self.read_history()
        for _ in self.engines.tts.synthesize("Hello."):
            pass

    def read_history(self) -> None:
        """Have the LLM read the persona and the history (blocking), into its KV cache."""
        warm = self.conversation.messages_for("Hello.")
        for _ in itertools.islice(self.engines.llm.stream(warm), 1):
            pass

    def _read_history_ahead(self) -> None:
        """The history's start moved: the model reads it again now, while the user is
        quiet, not at the start of the next reply (2-3 s for a full context)."""

        def done(future: asyncio.Future[None]) -> None:
            if not future.cancelled() and future.exception() is not None:
                log.warning("reading the history ahead failed: %s", future.exception())

        reading = asyncio.ensure_future(self.workers.run("llm", self.read_history))
        reading.add_done_callback(done)

    def transcribe(self, audio: np.ndarray) -> Awaitable[Transcript]:
        return self.workers.run("stt", self.engines.stt.transcribe, audio)

    def interrupt(self, at_s: float) -> None:
        """Stop the turn in progress (barge-in): no more words, playback cut at once."""
        if self._interrupt is not None and not self._interrupt.is_set():
            self._interrupt_at_s = at_s
            self._interrupt.set()

    @property
    def busy(self) -> bool:
        return self._interrupt is not None

    async def say(self, text: str, sink: AudioSink) -> float:
        """Speak a text (not a reply: nothing enters the conversation); returns its length."""
        seconds = 0.0
        for sentence in split_sentences(speakable(text)):
            chunks = await self.workers.run("tts", _synthesize_all, self.engines.tts, sentence)
            if not chunks:
                continue
            speech = self.at_volume(np.concatenate(chunks))
            start = sink.play(speech)
            if self.reference is not None:
                self.reference.add(start, speech, sink.sample_rate_hz)
            seconds += len(speech) / sink.sample_rate_hz
        return seconds

    async def respond(
        self,
        audio: np.ndarray,
        sink: AudioSink,
        timings: TurnTimings,
        transcript: Awaitable[Transcript] | None = None,
        carried: str = "",
        gate: asyncio.Event | None = None,
    ) -> TurnResult:
        """Answer one utterance. `transcript` may come ready (transcribed on a pause);
        `carried` is an earlier unanswered request the user was still continuing; nothing
        is played before `gate` is set (the end of the turn confirmed)."""
        interrupted = self._interrupt = asyncio.Event()
        try:
            return await self._respond(audio, sink, timings, transcript, carried, interrupted, gate)
        finally:
            self._interrupt = None

    async def _respond(
        self,
        audio: np.ndarray,
        sink: AudioSink,
        timings: TurnTimings,
        pending: Awaitable[Transcript] | None,
        carried: str,
        interrupted: asyncio.Event,
        gate: asyncio.Event | None,
    ) -> TurnResult:
        clock = self.clock
        transcript = await (pending if pending is not None else self.transcribe(audio))
        timings.mark("transcript_s", clock.now())
        log.debug("transcript %r", transcript.text)
        result = TurnResult(transcript, timings=timings)
        text = transcript.text
        typed = not len(audio)  # `voiced ask --daemon`: meant for it, whatever the mode
        admission = Admission(True, text) if typed else self.admit(text, timings.speech_start_s)
        if text and not admission.admitted:
            if gate is not None:
                await self._until_interrupted(gate.wait(), interrupted)
            log.info("not for me (no wake phrase): %d words ignored", len(text.split()))
            result.command = "ignored"
            return result
        text = admission.request
        woke_only = admission.woke and not text
        memory = self.memory
        asks_memory = memory is not None and memory.wants(text)
        skills = self.skills if self.settings.activation.skills else None
        skill = skills.match(text) if skills is not None and text else None
        if gate is not None and (
            not looks_finished(text)
            or is_stop_command(text)
            or asks_memory
            or skill is not None
            or woke_only
        ):
            # A mid-sentence pause, noise, or a command: decide nothing, and spend no CPU on
            # a reply (it would slow the transcription that matters), until the end of the
            # turn is confirmed.
            await self._until_interrupted(gate.wait(), interrupted)
        if is_stop_command(text):
            result.command = "stop"
            return result
        user_text = result.request = f"{carried} {text}".strip()
        if not user_text and not woke_only:
            timings.extra["dropped"] = transcript.dropped
            return result
        if interrupted.is_set():
            result.interrupted = True
            return result

        loop = asyncio.get_running_loop()
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        answer = memory.answer(text) if memory is not None and asks_memory else None
        if woke_only:  # the wake phrase alone: the request comes next
            answer = self.settings.activation.acknowledgement
            result.command = "wake"
        elif skill is not None:
            answer = skill(self.skill_context())
            result.command = "skill"
            log.debug("answered by a skill: %r", answer)
        known = memory.context(user_text) if memory is not None and answer is None else ""
        mood = None
        if self.affect is not None and len(audio) and text:
            mood = await self.workers.run("stt", self.affect.estimate, audio, text, False)
            timings.extra.update(arousal=round(mood.arousal, 2), valence=round(mood.valence, 2))
            log.debug("the user sounds %s (%s)", mood.describe() or "as usual", mood.deviations)
        pace = mood.pace if mood is not None else 1.0
        max_sentences = self.settings.llm.max_sentences
        if mood is not None and mood.hurried:
            max_sentences = 1  # in a hurry: one sentence will do
        tone = mood.tone() if mood is not None else ""
        messages = self.conversation.messages_for(user_text, known, tone)
        turn_stop = threading.Event()
        sequential = self.settings.pipeline.sequential

        def first_token() -> None:
            loop.call_soon_threadsafe(timings.mark, "first_token_s", clock.now())

        def produce() -> None:
            pieces: Iterator[str]
            if answer is not None:  # the memory answered: exact, and no model needed
                first_token()
                pieces = iter(split_sentences(answer))
            else:
                pieces = reply_sentences(
                    self.engines.llm,
                    messages,
                    max_sentences,
                    on_first_token=first_token,
                    should_stop=lambda: turn_stop.is_set() or self.stopping.is_set(),
                    first_clause_words=0
                    if sequential
                    else self.settings.pipeline.first_clause_words,
                )
            try:
                if sequential:  # the baseline: the whole reply, then the voice
                    pieces = iter([" ".join(pieces)])
                for sentence in pieces:
                    if sentence:
                        loop.call_soon_threadsafe(sentences.put_nowait, sentence)
            finally:
                loop.call_soon_threadsafe(sentences.put_nowait, None)

        speaks = getattr(sink, "speaks", True)  # a text-only turn (a Wyoming "handle")

        def synthesize(text: str) -> np.ndarray:
            if not speaks:
                return np.zeros(0, dtype=np.int16)
            chunks = list(self.engines.tts.synthesize(text, pace))
            return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

        # A known answer needs no model: it does not wait for one still busy.
        producing = self.workers.run("llm" if answer is None else "answers", produce)
        said: list[_Said] = []
        stop_s: float | None = None
        rate = sink.sample_rate_hz
        try:
            while (
                sentence := await self._until_interrupted(sentences.get(), interrupted)
            ) is not None:
                log.debug("sentence %r", sentence)
                timings.mark("first_sentence_s", clock.now())
                speech = await self._until_interrupted(
                    self.workers.run("tts", synthesize, sentence), interrupted
                )
                if speech is None:
                    break
                speech = self.at_volume(speech)
                timings.mark("first_audio_s", clock.now())
                if (
                    gate is not None
                    and not gate.is_set()
                    and await self._until_interrupted(gate.wait(), interrupted) is None
                ):
                    break
                if len(speech):
                    start = sink.play(speech)
                    if self.reference is not None:
                        self.reference.add(start, speech, rate)
                    timings.mark("first_played_s", start)
                    log.debug("playing %.2f s of speech from %.2f s", len(speech) / rate, start)
                    said.append(_Said(sentence, start, start + len(speech) / rate))
                elif not speaks:
                    said.append(_Said(sentence, clock.now(), clock.now()))
            if not interrupted.is_set():
                await producing  # re-raises a failure inside the LLM
                if not said and not turn_stop.is_set():
                    # nothing by the deadline, or nothing speakable: a failed turn, not silence
                    raise RuntimeError("the language model gave no words to say")
                await self._until_interrupted(_played_out(sink, clock), interrupted)
            if interrupted.is_set():
                turn_stop.set()
                planned_end_s = sink.busy_until()
                stop_s = sink.flush()
                timings.extra["cut_s"] = round(max(0.0, planned_end_s - stop_s), 4)
                if self.reference is not None:
                    # Keep a little of the reference past the stop: what the device had
                    # buffered still reaches the room, and the canceller must remove it.
                    self.reference.cut(stop_s + 0.15)
                result.interrupted = True
                timings.extra["stopped_s"] = round(stop_s, 4)
                timings.extra["interrupt_s"] = round(self._interrupt_at_s, 4)
        finally:
            turn_stop.set()
            result.reply = _said_before(said, stop_s if stop_s is not None else float("inf"))
            if result.reply:
                self.last_reply = result.reply
                self.replied_until = max(clock.now(), sink.busy_until())
            if not woke_only:
                self.conversation.add_exchange(user_text, result.reply)
                if self.conversation.start_moved:
                    self._read_history_ahead()
            if gate is None or gate.is_set():  # a turn that really ended, not a guess on a pause
                if memory is not None and answer is None and not memory.learn(text):
                    self._read_later(memory, text)
                if mood is not None and self.affect is not None and mood.features is not None:
                    self.affect.baseline.update(mood.features)
        timings.mark("reply_done_s", max(clock.now(), sink.busy_until()))
        return result

    def admit(self, text: str, started_s: float | None) -> Admission:
        """Whether the utterance is for the assistant (wake phrase, follow-up, mode)."""
        activation = Activation(self.settings.activation)
        return activation.admit(text, started_s or 0.0, self.replied_until)

    def wake_only(self, text: str) -> bool:
        """The wake phrase and nothing else (so far): the request is still to come."""
        if self.settings.activation.mode != "wake":
            return False
        admission = Activation(self.settings.activation).admit(text, 0.0, None)
        return admission.woke and not admission.request

    def skill_context(self) -> SkillContext:
        wall = self.alarms.clock() if self.alarms is not None else time.time()
        alarms = self.alarms if self.alarms is not None else Alarms(None)
        device = self.device if self.device is not None else _NoDevice(self)
        return SkillContext(datetime.fromtimestamp(wall), alarms, self.last_reply, device)

    def at_volume(self, speech: np.ndarray) -> np.ndarray:
        if self.volume == 1.0 or not len(speech):
            return speech
        louder = speech.astype(np.float32) * self.volume
        return np.clip(louder, -32768, 32767).astype(np.int16)

    async def settle(self) -> None:
        """Let facts still being read be stored (a short wait, at the end)."""
        await asyncio.gather(*self._reading, return_exceptions=True)

    def _read_later(self, memory: Memory, text: str) -> None:
        """Facts the patterns missed, read by the model once it is free (off the turn)."""
        extractor = memory.extractor
        if extractor is None or text.rstrip().endswith("?"):
            return

        async def read() -> None:
            try:
                memory.keep_read(await self.workers.run("llm", extractor.extract, text))
            except Exception as exc:  # a misreading model must not harm the loop
                log.warning("reading facts failed: %s: %s", type(exc).__name__, exc)

        task = asyncio.ensure_future(read())
        self._reading.add(task)
        task.add_done_callback(self._reading.discard)

    @staticmethod
    async def _until_interrupted(work: Awaitable[T], interrupted: asyncio.Event) -> T | None:
        """Await work unless the turn is interrupted first (then None; the work is dropped)."""
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(interrupted.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if task.done():
            return task.result()
        task.cancel()
        return None


def conversation_for(settings: Settings, llm: ChatModel) -> Conversation:
    """The persona and a history budget that leaves room for the reply."""
    budget = settings.llm.context_tokens - settings.llm.max_tokens - 32
    return Conversation(settings.llm.persona, llm.count_tokens, budget)


def carry_on(conversation: Conversation, store: MemoryStore, keep_days: float) -> None:
    """The conversation of the last days goes on where it stopped, and is kept."""
    for user, reply in store.exchanges(keep_days):
        conversation.add_exchange(user, reply)

    def keep(user: str, reply: str) -> None:
        try:
            store.add_exchange(user, reply)
        except sqlite3.Error as exc:  # a full disk: the conversation goes on, unkept
            log.error("could not save the conversation history (%s)", exc)

    conversation.on_exchange = keep
    log.info(
        "conversation history: %d turn(s) of the last %g days",
        len(conversation.history) // 2,
        keep_days,
    )


def load_runner(settings: Settings, with_vad: bool = False, rings: bool = True) -> TurnRunner:
    """Load the configured models (blocking) behind a TurnRunner. rings False: nothing
    here can say a timer when it is due (`voiced serve`): timers and reminders are
    declined, and the voice loop's alarms.json is left alone."""
    from voiced.engines.loader import make_llm, make_stt, make_tts, make_vad

    started = time.monotonic()
    llm = make_llm(settings)
    engines = Engines(
        stt=make_stt(settings),
        llm=llm,
        tts=make_tts(settings),
        vad=make_vad(settings) if with_vad else None,
    )
    runner = TurnRunner(
        engines, settings, StreamClock(), conversation_for(settings, llm), Workers()
    )
    if settings.affect.enabled:
        runner.affect = AffectEstimator()
    runner.skills = default_skills()
    runner.alarms = Alarms(state_dir() / "alarms.json") if rings else Alarms(None, rings=False)
    if settings.memory.facts or settings.memory.history_days:
        store = MemoryStore(state_dir() / "memory.db")
        if settings.memory.facts:
            runner.memory = Memory(store, llm.count_tokens, settings.memory.budget_tokens)
            if settings.memory.llm_facts and isinstance(llm, Completer):
                runner.memory.extractor = LlmExtractor(llm)
        if settings.memory.history_days:
            carry_on(runner.conversation, store, settings.memory.history_days)
    log.info("models loaded in %.2f s", time.monotonic() - started)
    return runner


APOLOGY = "Sorry, something went wrong there. Could you ask me again?"
VOLUME_RANGE = (0.25, 2.0)
RING_EVERY_S = 6.0
"""A due timer is said again this long after it was last said ..."""
RING_FOR_S = 60.0
"""... until the user answers, or this long has passed."""


def change_volume(runner: TurnRunner, step: float) -> float:
    low, high = VOLUME_RANGE
    runner.volume = round(min(high, max(low, runner.volume + step)), 2)
    log.info("volume %.0f%%", runner.volume * 100)
    return runner.volume


class _NoDevice:
    """A runner without a microphone loop (typed requests): the volume still changes."""

    def __init__(self, runner: TurnRunner) -> None:
        self._runner = runner

    def change_volume(self, step: float) -> float:
        return change_volume(self._runner, step)

    def mute_microphone(self) -> None:
        log.info("no microphone to mute")


ECHO_TAIL_S = 0.2
"""How long after the assistant's sound a room still echoes it."""
ONSET_MARGIN_FRAMES = 2
"""Frames kept before the first one in which the user's voice stood out of the echo."""


def _synthesize_all(tts: TextToSpeech, text: str) -> list[np.ndarray]:
    return list(tts.synthesize(text))


def _open_gate() -> asyncio.Event:
    gate = asyncio.Event()
    gate.set()
    return gate


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


class Pipeline:
    """The spoken loop over one audio source and one sink."""

    def __init__(
        self,
        runner: TurnRunner,
        vad: VoiceActivity,
        source: AudioSource,
        sink: AudioSink,
        on_turn: Callable[[TurnResult], None] | None = None,
        echo: EchoCanceller | None = None,
    ) -> None:
        self.runner = runner
        self.vad = vad
        self.source = source
        self.sink = sink
        self.on_turn = on_turn
        self.echo = echo
        settings = runner.settings
        self.settings = settings
        self.segmenter = Segmenter(settings.vad, settings.audio.frame_ms)
        if settings.pipeline.sequential:
            self.segmenter.endpointer.pause_frames = 0
        self._echo_tail_s = settings.audio.echo_tail_ms / 1000
        self._speculation: _Speculation | None = None
        self._turn: asyncio.Task[TurnResult | None] | None = None
        self._carried = ""
        self._carried_from: Utterance | None = None
        """The utterance whose request is carried (unanswered: the user seemed to go on)."""
        self.turns: collections.deque[TurnResult] = collections.deque(maxlen=100)
        """The latest turns (a daemon runs for months: only the recent ones are kept)."""
        self.reference = runner.reference
        self.double_talk = DoubleTalkDetector()
        self.muted = False
        """A hard mute: the microphone's frames are dropped unheard."""
        self.talk_held = False
        """Push-to-talk held: everything heard is the user's turn until it is let go."""
        self._cancelled = False
        self._ringing: list[Alarm] = []
        """Due timers and reminders being announced, until the user answers."""
        self._answered = asyncio.Event()
        self.ring_poll_s = 0.2
        runner.device = self
        self.failures = 0
        """Turns that failed inside an engine (logged; the loop went on)."""
        self.last_frame_at = time.monotonic()
        """When the last audio frame arrived (monotonic): the audio path is alive."""

    def _deaf(self, frame_start_s: float) -> bool:
        """Half duplex: the microphone is ignored while the assistant's voice may be in it."""
        if not self.settings.audio.half_duplex:
            return False
        return frame_start_s < self.sink.busy_until() + self._echo_tail_s

    def _hears_user(self, frame: np.ndarray, start_s: float) -> bool:
        """Whether the user is speaking in this frame, with the assistant's own voice
        cancelled out of the decision. The recogniser still gets the frame as it is: the
        canceller's suppressor chops the start of words in double talk, and whisper copes
        better with a little echo than with chopped words."""
        if self.echo is None or self.reference is None:
            return self.vad.is_speech(frame)
        n = len(frame)
        far = self.reference.read(start_s - ECHO_TAIL_S, n + round(ECHO_TAIL_S * 16000))
        clean = self.echo.process(frame, far[-n:])  # always, so the canceller stays adapted
        if not far.any():  # nothing of ours can be in the room
            self.double_talk.reset()
            return self.vad.is_speech(frame)
        if self.segmenter.in_speech:  # the user is talking: double talk must not chop them
            return self.vad.is_speech(clean)
        return self.double_talk.user_speaks(clean, frame, self.vad.is_speech(frame), far[-n:])

    def change_volume(self, step: float) -> float:
        return change_volume(self.runner, step)

    def mute_microphone(self) -> None:
        self.muted = True
        log.info("microphone muted by voice")

    async def run(self) -> None:
        """Listen and answer until the source ends (then finish the last reply) or cancelled."""
        ringer = asyncio.create_task(self._ring()) if self.runner.alarms is not None else None
        try:
            async for frame, start_s in self.source.frames():
                self.last_frame_at = time.monotonic()
                if self.muted or self._deaf(start_s):
                    self.segmenter.reset()
                    self._drop_speculation()
                    continue
                hears = self._hears_user(frame, start_s)
                if self.settings.activation.mode == "ptt":
                    hears = False  # only what is said while the button is held
                segment = self.segmenter.push(frame, hears or self.talk_held, start_s)
                if segment is not None:
                    self._on_segment(segment)
                self._maybe_end_early(start_s + len(frame) / 16000)
            final = self.segmenter.flush(self.runner.clock.now())
            if final is not None:
                self._commit(final)
            while self._turn is not None and not self._turn.done():
                await self._turn
            log.info("%s", INPUT_ENDED)
        finally:
            if ringer is not None:
                ringer.cancel()
                await asyncio.gather(ringer, return_exceptions=True)
            self.runner.stopping.set()
            self.runner.interrupt(self.runner.clock.now())
            if self._turn is not None:
                self._turn.cancel()
                await asyncio.gather(self._turn, return_exceptions=True)
            await self.runner.settle()

    def ask(self, text: str) -> asyncio.Task[TurnResult | None]:
        """A typed request, answered aloud in turn like a spoken one."""
        now = round(self.runner.clock.now(), 4)
        utterance = Utterance(np.zeros(0, dtype=np.int16), now, now, now)
        typed = asyncio.get_running_loop().create_future()
        typed.set_result(Transcript(text))
        return self._chain(utterance, typed, TurnTimings.of(utterance), _open_gate())

    def cancel(self) -> None:
        """Stop speaking now; the request being answered is dropped, not carried."""
        now = self.runner.clock.now()
        if self.runner.busy:
            self._cancelled = True
            self.runner.interrupt(now)
        elif self.sink.busy_until() > now:  # something said with `say`
            self._silence()

    def _silence(self) -> None:
        """Stop what is playing outside a turn (`say`, an alarm): the canceller's reference
        is cut where the sound stops."""
        stop_s = self.sink.flush()
        if self.reference is not None:
            self.reference.cut(stop_s + 0.15)

    def push_to_talk(self, held: bool) -> None:
        """Pressed: the assistant stops speaking and everything heard is the user's turn;
        let go: the turn ends there."""
        if held and not self.talk_held:
            self.cancel()
        elif not held and self.talk_held:
            final = self.segmenter.flush(self.runner.clock.now())
            if final is not None:
                self._commit(final)
        self.talk_held = held

    @property
    def state(self) -> str:
        """muted, waiting (for the microphone), speaking, thinking, hearing or listening."""
        if self.muted:
            return "muted"
        if getattr(self.source, "waiting", None):
            return "waiting"
        if self.sink.busy_until() > self.runner.clock.now():
            return "speaking"
        if self.runner.busy:
            return "thinking"
        if self.segmenter.in_speech:
            return "hearing"
        return "listening"

    async def _ring(self) -> None:
        """Say due timers and reminders, even when idle, in a gap in the conversation; again
        every RING_EVERY_S until the user speaks, for at most RING_FOR_S."""
        alarms, clock = self.runner.alarms, self.runner.clock
        assert alarms is not None
        while True:
            await asyncio.sleep(self.ring_poll_s)
            due = alarms.due()
            if not due:
                continue
            self._ringing, self._answered = due, asyncio.Event()
            text = announcement(due, alarms.clock())
            log.info("due: %s", ", ".join(f"{a.kind} {a.id}" for a in due))
            first_s, next_s = clock.now(), clock.now()
            while not self._answered.is_set() and clock.now() - first_s < RING_FOR_S:
                now = clock.now()
                talking = self.segmenter.in_speech or self.runner.busy
                if not talking and self.sink.busy_until() <= now and now >= next_s:
                    seconds = await self.runner.say(text, self.sink)
                    next_s = clock.now() + seconds + RING_EVERY_S
                    # spoken to the user: an answer ("thanks", "stop") needs no wake phrase
                    self.runner.replied_until = clock.now() + seconds
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._answered.wait(), self.ring_poll_s)
            for alarm in due:
                alarms.remove(alarm.id)
            self._ringing = []

    def _on_segment(self, segment: Segment) -> None:
        log.debug("%s at %.2f s", segment.event.value, segment.at_s)
        if segment.event is Event.START and self._ringing and not self._answered.is_set():
            log.info("the user answered the alarm at %.2f s", segment.at_s)
            self._answered.set()
            if self.sink.busy_until() > segment.at_s and not self.runner.busy:
                self._silence()
        if segment.event is Event.START:
            if self.runner.busy:
                if self.sink.busy_until() > segment.at_s:
                    log.info("barge-in at %.2f s", segment.at_s)
                    onset = self.double_talk.onset_frames
                    if onset:  # what came before the user's voice was the assistant's
                        self.segmenter.keep_last(onset + ONSET_MARGIN_FRAMES)
                else:
                    log.debug(
                        "the user goes on at %.2f s: the reply being prepared waits", segment.at_s
                    )
                self.runner.interrupt(segment.at_s)
        elif segment.event is Event.PAUSE:
            assert segment.utterance is not None
            self._drop_speculation()
            self._speculate(segment.utterance)
        elif segment.event is Event.RESUME:
            self._drop_speculation()
        elif segment.event is Event.END:
            if segment.utterance is None:
                self._drop_speculation()
                self._resume_carried()
            else:
                self._commit(segment.utterance)

    def _speculate(self, utterance: Utterance) -> None:
        transcript = asyncio.ensure_future(self.runner.transcribe(utterance.audio))
        timings = TurnTimings.of(utterance, ended=False)
        gate = asyncio.Event()
        turn = self._chain(utterance, transcript, timings, gate)
        self._speculation = _Speculation(utterance, transcript, timings, gate, turn)

    def _drop_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation.turn.cancel()
            self._speculation = None

    def _maybe_end_early(self, now_s: float) -> None:
        """A pause after words that read as a finished turn ends the turn now."""
        speculation = self._speculation
        if speculation is None or not speculation.transcript.done():
            return
        if speculation.transcript.cancelled() or speculation.transcript.exception() is not None:
            return
        text = speculation.transcript.result().text
        if looks_finished(text) and not self.runner.wake_only(text):
            final = self.segmenter.flush(now_s)
            if final is not None:
                self._commit(final)

    def _commit(self, utterance: Utterance) -> None:
        """The turn is over: release the speculative reply, or start one now."""
        speculation, self._speculation = self._speculation, None
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
        self._chain(utterance, None, TurnTimings.of(utterance), _open_gate())

    async def _apologise(self) -> None:
        """Say that something went wrong, rather than nothing at all (if the voice works)."""
        try:
            await self.runner.say(APOLOGY, self.sink)
        except Exception as exc:
            log.error("could not say sorry either: %s: %s", type(exc).__name__, exc)

    def _resume_carried(self) -> None:
        """What seemed the user going on was too short to be words (a click, a cough):
        answer the request it held back after all."""

        async def resume(
            previous: asyncio.Task[TurnResult | None] | None,
        ) -> TurnResult | None:
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
        carried = self._carried
        self._cancelled = False
        try:
            result = await self.runner.respond(
                utterance.audio, self.sink, timings, transcript, carried, gate
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one failed turn must not end the loop
            self.failures += 1
            log.error("turn failed: %s: %s", type(exc).__name__, exc)
            log.debug("turn failure", exc_info=True)
            await self._apologise()
            return None
        self._carried = ""
        if result.interrupted and self._cancelled:
            result.command = "cancel"
        elif result.interrupted and not result.reply and result.request:
            # Cut off before a word was said: the user was still going; keep their words.
            # Not a turn of its own: it is answered, with what follows, by the next one.
            self._carried = result.request
            self._carried_from = utterance
            log.debug("held back %r: the user goes on", result.request)
            return result
        timings.extra.update(interrupted=result.interrupted, command=result.command or None)
        log.info("turn %s", timings.to_json())
        log.debug("heard %r, said %r", result.request or result.transcript.text, result.reply)
        self.turns.append(result)
        if self.on_turn is not None:
            self.on_turn(result)
        self.runner.workers.run("answers", heap.give_back)  # a turn's garbage goes back
        return result
