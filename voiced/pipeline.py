"""The loop: audio in → segmenter → speech-to-text → LLM → text-to-speech → audio out.

Only this module knows the order. The event loop routes and decides; every
blocking model call runs in that engine's own single-thread executor, so a slow
model never stalls capture or endpointing. Lazy generators (whisper segments,
llama streams, Piper chunks) are drained inside those workers.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from voiced.audio import AudioSink, AudioSource, StreamClock
from voiced.config import Settings
from voiced.dialogue import Conversation, reply_sentences
from voiced.engines import ChatModel, SpeechToText, TextToSpeech, VoiceActivity
from voiced.segmenter import Segmenter
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
    """What was actually spoken."""
    timings: TurnTimings = field(default_factory=TurnTimings)


class Workers:
    """One single-thread executor per engine: calls to one model never overlap."""

    def __init__(self) -> None:
        self._pools = {
            name: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"voiced-{name}")
            for name in ("stt", "llm", "tts")
        }

    def run(self, name: str, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        return asyncio.get_running_loop().run_in_executor(self._pools[name], fn, *args)

    def shutdown(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)


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

    def warm_up(self) -> None:
        """Run each model once (blocking) so the first real turn pays no start-up costs.

        The LLM warm-up also leaves the persona prefix in its KV cache.
        """
        self.engines.stt.transcribe(np.zeros(8000, dtype=np.int16))
        warm = self.conversation.messages_for("Hello.")
        for _ in itertools.islice(self.engines.llm.stream(warm), 1):
            pass
        for _ in self.engines.tts.synthesize("Hello."):
            pass

    async def respond(self, audio: np.ndarray, sink: AudioSink, timings: TurnTimings) -> TurnResult:
        clock = self.clock
        transcript = await self.workers.run("stt", self.engines.stt.transcribe, audio)
        timings.mark("transcript_s", clock.now())
        result = TurnResult(transcript, timings=timings)
        if not transcript.text:
            timings.extra["dropped"] = transcript.dropped
            return result

        loop = asyncio.get_running_loop()
        sentences: asyncio.Queue[str | None] = asyncio.Queue()
        messages = self.conversation.messages_for(transcript.text)

        def first_token() -> None:
            loop.call_soon_threadsafe(timings.mark, "first_token_s", clock.now())

        def produce() -> None:
            try:
                for sentence in reply_sentences(
                    self.engines.llm,
                    messages,
                    self.settings.llm.max_sentences,
                    on_first_token=first_token,
                    should_stop=self.stopping.is_set,
                ):
                    loop.call_soon_threadsafe(sentences.put_nowait, sentence)
            finally:
                loop.call_soon_threadsafe(sentences.put_nowait, None)

        def synthesize(text: str) -> np.ndarray:
            chunks = list(self.engines.tts.synthesize(text))
            return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

        producing = self.workers.run("llm", produce)
        spoken: list[str] = []
        try:
            while (sentence := await sentences.get()) is not None:
                timings.mark("first_sentence_s", clock.now())
                speech = await self.workers.run("tts", synthesize, sentence)
                timings.mark("first_audio_s", clock.now())
                if len(speech):
                    timings.mark("first_played_s", sink.play(speech))
                    spoken.append(sentence)
            await producing  # re-raises a failure inside the LLM
        finally:
            result.reply = " ".join(spoken)
            self.conversation.add_exchange(transcript.text, result.reply)
        wait_s = sink.busy_until() - clock.now()
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        timings.mark("reply_done_s", max(clock.now(), sink.busy_until()))
        return result


class Pipeline:
    """The spoken loop over one audio source and one sink."""

    def __init__(
        self,
        runner: TurnRunner,
        vad: VoiceActivity,
        source: AudioSource,
        sink: AudioSink,
        on_turn: Callable[[TurnResult], None] | None = None,
    ) -> None:
        self.runner = runner
        self.vad = vad
        self.source = source
        self.sink = sink
        self.on_turn = on_turn
        settings = runner.settings
        self.segmenter = Segmenter(settings.vad, settings.audio.frame_ms)
        self._echo_tail_s = settings.audio.echo_tail_ms / 1000
        self.turns: list[TurnResult] = []

    def _deaf(self, frame_start_s: float) -> bool:
        """Half duplex: the microphone is ignored while the assistant's voice may be in it."""
        return frame_start_s < self.sink.busy_until() + self._echo_tail_s

    async def _capture(self, utterances: asyncio.Queue[Utterance | None]) -> None:
        try:
            async for frame, start_s in self.source.frames():
                if self._deaf(start_s):
                    self.segmenter.reset()
                    continue
                utterance = self.segmenter.push(frame, self.vad.is_speech(frame), start_s)
                if utterance is not None:
                    await utterances.put(utterance)
            final = self.segmenter.flush(self.runner.clock.now())
            if final is not None:
                await utterances.put(final)
        finally:
            await utterances.put(None)

    async def _answer(self, utterances: asyncio.Queue[Utterance | None]) -> None:
        while (utterance := await utterances.get()) is not None:
            timings = TurnTimings(
                speech_start_s=utterance.speech_start_s,
                speech_end_s=utterance.speech_end_s,
                endpoint_s=utterance.endpoint_s,
            )
            try:
                result = await self.runner.respond(utterance.audio, self.sink, timings)
            except Exception as exc:  # one failed turn must not end the loop
                log.error("turn failed: %s: %s", type(exc).__name__, exc)
                log.debug("turn failure", exc_info=True)
                continue
            log.info("turn %s", timings.to_json())
            log.debug("heard %r, said %r", result.transcript.text, result.reply)
            self.turns.append(result)
            if self.on_turn is not None:
                self.on_turn(result)

    async def run(self) -> None:
        """Listen and answer until the source ends (then finish the last reply) or cancelled."""
        utterances: asyncio.Queue[Utterance | None] = asyncio.Queue()
        capture = asyncio.create_task(self._capture(utterances), name="capture")
        answer = asyncio.create_task(self._answer(utterances), name="answer")
        try:
            await asyncio.gather(capture, answer)
        finally:
            self.runner.stopping.set()
            for task in (capture, answer):
                task.cancel()
            await asyncio.gather(capture, answer, return_exceptions=True)
