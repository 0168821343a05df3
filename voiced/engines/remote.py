"""Engines on another machine, each with the local engine as its fallback.

A remote engine raises RemoteError when its server cannot be reached or fails; the
Fallback in front of it then uses the local engine, says so once (not on every turn),
and tries the remote again after a while.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import numpy as np

from voiced.audio import resample, to_int16
from voiced.config import LlmSettings
from voiced.engines import CUT_SHORT, ChatModel, Message, SpeechToText, TextToSpeech
from voiced.types import SAMPLE_RATE_HZ, Transcript

log = logging.getLogger(__name__)


class RemoteError(Exception):
    """The remote engine is unreachable or failed; the local one should answer."""


class Fallback:
    """Whether to try the remote engine now: not while it is marked down (for retry_s
    after a failure). Each change is logged once."""

    def __init__(
        self, what: str, retry_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.what = what
        self.retry_s = retry_s
        self._clock = clock
        self._down_until: float | None = None
        self.failures = 0

    @property
    def down(self) -> bool:
        return self._down_until is not None

    def use_remote(self) -> bool:
        return self._down_until is None or self._clock() >= self._down_until

    def failed(self, exc: Exception) -> None:
        self.failures += 1
        if self._down_until is None:
            log.warning("%s is unreachable (%s): the local one answers meanwhile", self.what, exc)
        self._down_until = self._clock() + self.retry_s

    def worked(self) -> None:
        if self._down_until is not None:
            log.info("%s answers again", self.what)
        self._down_until = None


class OpenAiChat:
    """An OpenAI-compatible chat-completions server (llama.cpp's server, Ollama, vLLM),
    streamed, through the openai client library."""

    def __init__(self, settings: LlmSettings) -> None:
        import openai

        self._settings = settings
        self._errors: tuple[type[Exception], ...] = (openai.APIError,)
        self._client = openai.OpenAI(
            base_url=settings.url,
            api_key=settings.api_key or os.environ.get("VOICED_LLM_API_KEY") or "none",
            timeout=openai.Timeout(settings.deadline_s, connect=settings.connect_timeout_s),
            max_retries=0,  # the local model answers at once instead
        )

    def reconfigure(self, settings: LlmSettings) -> None:
        self._settings = settings

    def _create(self, messages: Sequence[Message], **options: Any) -> Any:
        s = self._settings
        try:
            return self._client.chat.completions.create(
                model=s.remote_model,
                messages=list(messages),  # type: ignore[arg-type]
                top_p=s.top_p,
                stop=s.stop[:4],  # the API takes at most four
                **options,
            )
        except self._errors as exc:
            raise RemoteError(_why(exc)) from None

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        s = self._settings
        deadline = time.monotonic() + s.deadline_s
        chunks = self._create(
            messages, stream=True, max_tokens=s.max_tokens, temperature=s.temperature
        )
        try:
            for chunk in chunks:
                text = chunk.choices[0].delta.content if chunk.choices else None
                if text:
                    yield str(text)
                length = bool(chunk.choices) and chunk.choices[0].finish_reason == "length"
                if length or time.monotonic() > deadline:
                    yield CUT_SHORT
                    break
        except self._errors as exc:
            raise RemoteError(_why(exc)) from None
        finally:
            chunks.close()

    def complete(self, messages: Sequence[Message], max_tokens: int) -> str:
        reply = self._create(messages, max_tokens=max_tokens, temperature=0.0)
        return str(reply.choices[0].message.content or "")


def _why(exc: Exception) -> str:
    cause = exc.__cause__ or exc.__context__
    return f"{exc}: {cause}" if cause is not None and str(cause) not in str(exc) else str(exc)


class FallbackChat:
    """The remote model while it answers, the local one when it does not. A reply the
    remote breaks off in the middle ends there (what was said stands)."""

    def __init__(self, remote: OpenAiChat, local: Any, retry_s: float) -> None:
        self.remote = remote
        self.local = local
        self.fallback = Fallback("the remote language model", retry_s)

    def reconfigure(self, settings: LlmSettings) -> None:
        self.remote.reconfigure(settings)
        self.local.reconfigure(settings)

    def count_tokens(self, text: str) -> int:
        return int(self.local.count_tokens(text))

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        if self.fallback.use_remote():
            said = False
            try:
                for piece in self.remote.stream(messages):
                    said = True
                    yield piece
                self.fallback.worked()
                return
            except RemoteError as exc:
                self.fallback.failed(exc)
                if said:
                    return
        yield from self.local.stream(messages)

    def complete(self, messages: Sequence[Message], max_tokens: int) -> str:
        if self.fallback.use_remote():
            try:
                reply = self.remote.complete(messages, max_tokens)
            except RemoteError as exc:
                self.fallback.failed(exc)
            else:
                self.fallback.worked()
                return reply
        return str(self.local.complete(messages, max_tokens))


def remote_llm(settings: LlmSettings, local: ChatModel) -> FallbackChat:
    return FallbackChat(OpenAiChat(settings), local, settings.retry_s)


# -- Wyoming: speech to text and text to speech on another machine --------------------


def _run(coroutine: Any, timeout_s: float) -> Any:
    """Run one Wyoming exchange from a worker thread (it has no event loop of its own);
    any failure is a RemoteError."""

    async def bounded() -> Any:
        return await asyncio.wait_for(coroutine, timeout_s)

    try:
        return asyncio.run(bounded())
    except RemoteError:
        raise
    except (OSError, asyncio.TimeoutError, TimeoutError, EOFError) as exc:
        raise RemoteError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None


CONNECT_TIMEOUT_S = 2.0
"""A Wyoming server that does not even accept the connection by then is down: a host that
is off would otherwise hold the turn for the whole exchange's timeout."""


@contextlib.asynccontextmanager
async def _connected(uri: str) -> AsyncIterator[Any]:
    from wyoming.client import AsyncClient

    client = AsyncClient.from_uri(uri)
    try:
        await asyncio.wait_for(client.connect(), CONNECT_TIMEOUT_S)
    except (asyncio.TimeoutError, TimeoutError):  # one and the same from Python 3.11
        raise RemoteError(f"no answer from {uri} within {CONNECT_TIMEOUT_S:g} s") from None
    try:
        yield client
    finally:
        await client.disconnect()


async def _until(client: Any, wanted: str) -> list[Any]:
    """Events read up to and including the first of type `wanted`."""
    got = []
    while True:
        event = await client.read_event()
        if event is None:
            raise RemoteError(f"the server hung up before sending {wanted}")
        if event.type == "error":
            raise RemoteError(f"the server says: {event.data.get('text', '')}")
        got.append(event)
        if event.type == wanted:
            return got


class WyomingStt:
    """A Wyoming speech-to-text server (e.g. wyoming-faster-whisper)."""

    def __init__(self, uri: str, language: str, timeout_s: float) -> None:
        self.uri = uri
        self.language = language
        self.timeout_s = timeout_s

    def transcribe(self, audio: np.ndarray) -> Transcript:
        text = _run(self._transcribe(audio), self.timeout_s)
        return Transcript(text, dropped="" if text else "noise")

    async def _transcribe(self, audio: np.ndarray) -> str:
        from wyoming.asr import Transcribe
        from wyoming.asr import Transcript as WyTranscript
        from wyoming.audio import AudioChunk, AudioStart, AudioStop

        if audio.dtype != np.int16:
            audio = to_int16(audio)
        fmt = {"rate": SAMPLE_RATE_HZ, "width": 2, "channels": 1}
        data = audio.astype("<i2").tobytes()
        async with _connected(self.uri) as client:
            await client.write_event(Transcribe(language=self.language or None).event())
            await client.write_event(AudioStart(**fmt).event())
            for start in range(0, len(data), CHUNK_BYTES):
                chunk = AudioChunk(audio=data[start : start + CHUNK_BYTES], **fmt)
                await client.write_event(chunk.event())
            await client.write_event(AudioStop().event())
            (*_, event) = await _until(client, "transcript")
        return str(WyTranscript.from_event(event).text).strip()


class WyomingTts:
    """A Wyoming text-to-speech server (e.g. wyoming-piper); its audio is brought to
    sample_rate_hz (the local voice's rate, which the speaker was opened at)."""

    def __init__(self, uri: str, voice: str, sample_rate_hz: int, timeout_s: float) -> None:
        self.uri = uri
        self.voice = voice
        self.sample_rate_hz = sample_rate_hz
        self.timeout_s = timeout_s

    def synthesize(self, text: str, pace: float = 1.0) -> Iterator[np.ndarray]:
        """The remote voice speaks at its own pace (Wyoming has no pace setting)."""
        audio, rate = _run(self._synthesize(text), self.timeout_s)
        if len(audio):
            yield to_int16(resample(audio, rate, self.sample_rate_hz))

    async def _synthesize(self, text: str) -> tuple[np.ndarray, int]:
        from wyoming.audio import AudioChunk, AudioStart
        from wyoming.tts import Synthesize, SynthesizeVoice

        voice = SynthesizeVoice(name=self.voice) if self.voice else None
        async with _connected(self.uri) as client:
            await client.write_event(Synthesize(text=text, voice=voice).event())
            events = await _until(client, "audio-stop")
        starts = [AudioStart.from_event(e) for e in events if e.type == "audio-start"]
        if not starts or starts[0].width != 2 or starts[0].channels != 1:
            raise RemoteError("the server sent no 16-bit mono audio")
        chunks = [AudioChunk.from_event(e).audio for e in events if e.type == "audio-chunk"]
        return np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.int16), starts[0].rate


class FallbackStt:
    def __init__(self, remote: WyomingStt, local: SpeechToText, retry_s: float) -> None:
        self.remote = remote
        self.local = local
        self.fallback = Fallback("the remote speech recogniser", retry_s)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        if self.fallback.use_remote():
            try:
                transcript = self.remote.transcribe(audio)
            except RemoteError as exc:
                self.fallback.failed(exc)
            else:
                self.fallback.worked()
                return transcript
        return self.local.transcribe(audio)


class FallbackTts:
    def __init__(self, remote: WyomingTts, local: TextToSpeech, retry_s: float) -> None:
        self.remote = remote
        self.local = local
        self.sample_rate_hz = local.sample_rate_hz
        self.fallback = Fallback("the remote voice", retry_s)

    def synthesize(self, text: str, pace: float = 1.0) -> Iterator[np.ndarray]:
        if self.fallback.use_remote():
            try:
                chunks = list(self.remote.synthesize(text, pace))
            except RemoteError as exc:
                self.fallback.failed(exc)
            else:
                self.fallback.worked()
                yield from chunks
                return
        yield from self.local.synthesize(text, pace)


CHUNK_BYTES = 2048
