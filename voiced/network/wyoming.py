"""voiced as a Wyoming server (Home Assistant's voice protocol), on the wyoming library.

One server offers four services: speech to text (`transcribe` + audio → `transcript`),
text to speech (`synthesize` → audio), a conversation agent (`transcript` sent to a
handle program → `handled`; `recognize` → `intent` carrying the reply), with the same
models, skills and memory as the voice loop, and wake word detection (`detect` + audio →
`detection` as each wake word is heard, `not-detected` at the end if none was). Each
client has its own handler (and its own wake word models); the models run one request at
a time each (their worker threads), and text turns one at a time (they share one
conversation).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np

from voiced import __version__
from voiced.errors import UsageError
from voiced.models.wake_words import WAKE_WORDS
from voiced.types import SAMPLE_RATE_HZ, Transcript

log = logging.getLogger(__name__)

MAX_AUDIO_S = 120.0
"""A client streaming longer than this is cut off there (its audio is not kept)."""
CHUNK_SAMPLES = 1024
ATTRIBUTION = ("voiced", "https://github.com/voiced")


def check_uri(uri: str, allow_lan: bool, option: str = "--wyoming") -> str:
    """A Wyoming address voiced may listen on (the rules of [wyoming] uri)."""
    from voiced.config import wyoming_address_problems

    for problem in wyoming_address_problems(uri, allow_lan):
        raise UsageError(f"{option}: {uri!r} {problem}")
    return uri


def artifact(name: str, description: str) -> dict[str, Any]:
    """What every program and model in an `info` says of itself."""
    from wyoming.info import Attribution

    return {
        "name": name,
        "description": description,
        "attribution": Attribution(*ATTRIBUTION),
        "installed": True,
        "version": __version__,
    }


def wake_program(names: list[str]) -> Any:
    """The wake words (by model name) as an `info` lists them, with what each listens for."""
    from wyoming.info import WakeModel, WakeProgram

    models = [
        WakeModel(
            **artifact(name, f"{WAKE_WORDS[name]} (microWakeWord)"),
            languages=["en"],
            phrase=WAKE_WORDS[name],
        )
        for name in names
    ]
    described = artifact("voiced-wake", "voiced wake words (microWakeWord)")
    return WakeProgram(**described, models=models)


class Service:
    """What the handlers share: the loaded models, one conversation, a turn lock."""

    def __init__(self, runner: Any, voice_name: str) -> None:
        self.runner = runner
        self.voice_name = voice_name
        self._turn = asyncio.Lock()

    def info(self) -> Any:
        from wyoming.info import (
            AsrModel,
            AsrProgram,
            HandleModel,
            HandleProgram,
            Info,
            IntentModel,
            IntentProgram,
            TtsProgram,
            TtsVoice,
        )

        settings = self.runner.settings
        languages = [settings.stt.language or "en"]
        return Info(
            asr=[
                AsrProgram(
                    **artifact("voiced-stt", "voiced speech to text (faster-whisper)"),
                    models=[
                        AsrModel(**artifact(settings.stt.model, "Whisper"), languages=languages)
                    ],
                )
            ],
            tts=[
                TtsProgram(
                    **artifact("voiced-tts", "voiced text to speech (Piper)"),
                    voices=[
                        TtsVoice(**artifact(self.voice_name, "Piper voice"), languages=languages)
                    ],
                )
            ],
            handle=[
                HandleProgram(
                    **artifact("voiced", "voiced: a private companion (skills, memory, LLM)"),
                    models=[HandleModel(**artifact("voiced", "voiced"), languages=languages)],
                )
            ],
            wake=[wake_program(list(WAKE_WORDS))],
            intent=[
                IntentProgram(
                    **artifact("voiced-intent", "voiced's reply as the intent's text"),
                    models=[IntentModel(**artifact("voiced", "voiced"), languages=languages)],
                )
            ],
        )

    async def transcribe(self, audio: np.ndarray) -> str:
        transcript: Transcript = await self.runner.transcribe(audio)
        return transcript.text

    async def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        from voiced.audio.files import BufferSink

        sink = BufferSink(self.runner.engines.tts.sample_rate_hz, self.runner.clock)
        await self.runner.say(text, sink)
        return sink.audio(), sink.sample_rate_hz

    async def handle(self, text: str) -> str:
        """One text turn, as the voice loop would take it (the router: skills, memory, the
        LLM), answered in words only."""
        from voiced.turn.runner import text_turn
        from voiced.turn.taking import APOLOGY

        async with self._turn:
            try:
                result = await text_turn(self.runner, text)
            except Exception:
                log.exception("text turn failed")
                return APOLOGY
        return result.reply


def listen_for(names: list[str] | None) -> Any:
    """The wake words a client asked for (all there are, if it named none); one it named
    that does not exist is an error for that client (the models' own refusal)."""
    from voiced.engines.wakeword import MicroWakeWords

    return MicroWakeWords(names or list(WAKE_WORDS))


def handler_factory(service: Service) -> Any:
    from wyoming.asr import Transcribe
    from wyoming.asr import Transcript as WyTranscript
    from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
    from wyoming.error import Error
    from wyoming.event import Event
    from wyoming.handle import Handled
    from wyoming.info import Describe
    from wyoming.intent import Intent, Recognize
    from wyoming.ping import Ping, Pong
    from wyoming.server import AsyncEventHandler
    from wyoming.tts import Synthesize
    from wyoming.wake import Detect, Detection, NotDetected

    class Handler(AsyncEventHandler):
        """One client's events, in order."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._wake: Any = None
            """The wake words listened for since a `detect` (None: audio is transcribed)."""
            self._heard = 0
            """Samples the wake words have heard of this stream."""
            self._woke = False
            self._audio: list[bytes] | None = None
            self._samples = 0
            self._converter = AudioChunkConverter(rate=SAMPLE_RATE_HZ, width=2, channels=1)

        async def run(self) -> None:
            try:
                await super().run()
            except ConnectionError as exc:  # gone mid-stream: it costs nothing but a line
                log.info("wyoming: a client went away (%s)", exc.strerror or exc)

        async def handle_event(self, event: Event) -> bool:
            try:
                return await self._handle(event)
            except ConnectionError:
                raise  # the client is gone: nobody to tell
            except Exception as exc:  # a bad event costs this client one error, no more
                log.warning("wyoming: %s event failed: %s", event.type, exc)
                await self.write_event(Error(text=str(exc), code=type(exc).__name__).event())
                return True

        async def _handle(self, event: Event) -> bool:
            if Describe.is_type(event.type):
                await self.write_event(service.info().event())
            elif Ping.is_type(event.type):
                await self.write_event(Pong(text=Ping.from_event(event).text).event())
            elif Detect.is_type(event.type):
                self._wake = listen_for(Detect.from_event(event).names)
                self._heard, self._woke = 0, False
            elif self._wake is not None and AudioStart.is_type(event.type):
                self._wake.reset()
                self._heard, self._woke = 0, False
            elif self._wake is not None and AudioChunk.is_type(event.type):
                await self._detect(self._converter.convert(AudioChunk.from_event(event)))
            elif self._wake is not None and AudioStop.is_type(event.type):
                if not self._woke:
                    await self.write_event(NotDetected().event())
                self._wake = None
            elif Transcribe.is_type(event.type) or AudioStart.is_type(event.type):
                self._wake = None
                self._audio, self._samples = [], 0
            elif AudioChunk.is_type(event.type):
                chunk = self._converter.convert(AudioChunk.from_event(event))
                if self._audio is not None and self._samples < MAX_AUDIO_S * SAMPLE_RATE_HZ:
                    self._audio.append(chunk.audio)
                    self._samples += len(chunk.audio) // 2
            elif AudioStop.is_type(event.type):
                pcm = b"".join(self._audio or [])
                self._audio = None
                text = await service.transcribe(np.frombuffer(pcm, dtype=np.int16))
                await self.write_event(WyTranscript(text=text).event())
            elif Synthesize.is_type(event.type):
                await self._speak(Synthesize.from_event(event).text)
            elif WyTranscript.is_type(event.type):  # to the handle program: a text turn
                reply = await service.handle(WyTranscript.from_event(event).text)
                await self.write_event(Handled(text=reply).event())
            elif Recognize.is_type(event.type):
                reply = await service.handle(Recognize.from_event(event).text)
                await self.write_event(Intent(name="voiced", text=reply).event())
            else:
                log.debug("wyoming: %s event ignored", event.type)
            return True

        async def _detect(self, chunk: Any) -> None:
            samples = np.frombuffer(chunk.audio, dtype=np.int16)
            wake = self._wake.hear(samples, self._heard / SAMPLE_RATE_HZ)
            self._heard += len(samples)
            if wake is not None:
                self._woke = True
                log.info("wyoming: heard %r at %.2f s", wake.phrase, wake.at_s)
                at_ms = round(wake.at_s * 1000)
                await self.write_event(Detection(name=wake.name, timestamp=at_ms).event())

        async def _speak(self, text: str) -> None:
            audio, rate = await service.synthesize(text)
            fmt = {"rate": rate, "width": 2, "channels": 1}
            await self.write_event(AudioStart(**fmt).event())
            data = audio.astype("<i2").tobytes()
            step = CHUNK_SAMPLES * 2
            for start in range(0, len(data), step):
                await self.write_event(AudioChunk(audio=data[start : start + step], **fmt).event())
            await self.write_event(AudioStop().event())

    return Handler


async def serve(runner: Any, uri: str, voice_name: str, ready: asyncio.Event | None = None) -> None:
    """Serve until cancelled."""
    from wyoming.server import AsyncServer

    server = AsyncServer.from_uri(uri)
    service = Service(runner, voice_name)
    await server.start(handler_factory(service))
    log.info("wyoming: serving on %s", uri)
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
