"""voiced as a Wyoming satellite: its microphone and speaker, Home Assistant's pipeline.

Home Assistant's wyoming integration, given this address, connects, asks what this is
(`describe` → a satellite, with its wake words) and says `run-satellite`. From then on:

    microphone ─ wake word (here: nothing leaves before it) ─ run-pipeline + detection
               └ its audio, streamed until Home Assistant has the transcript (or an error)
    Home Assistant's spoken reply (audio-start, chunks, audio-stop) ─ speaker ─ `played`

The wake word said over a reply stops it (barge-in) and starts the next request; while a
reply may be in the microphone, the wake words hear it with the reply's echo taken out
([audio] echo_cancel), so its own voice does not wake it. One Home Assistant at a time:
the last to say `run-satellite` (a reconnect replaces the old connection). Home Assistant
pings every few seconds; the handler answers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np

from voiced.audio import AudioSink, AudioSource, Resampler, StreamClock
from voiced.audio.echo import EchoCanceller, PlaybackReference, echo_canceller
from voiced.engines import Wake, WakeWords
from voiced.turn.speaker import played_out
from voiced.types import SAMPLE_RATE_HZ

log = logging.getLogger(__name__)

MAX_REQUEST_S = 15.0
"""A request streamed this long without a transcript is ended here (Home Assistant's own
voice activity detection normally ends it within a second of the words)."""
ECHO_S = 0.5
"""How long after a reply's last sound the room may still echo it: the canceller runs
until then (and not at all while nothing plays: it costs CPU and has nothing to take out)."""


class Satellite:
    """The microphone's side (wake word, streaming) and the speaker's (the replies)."""

    def __init__(
        self,
        source: AudioSource,
        sink: AudioSink,
        words: WakeWords,
        clock: StreamClock,
        echo: EchoCanceller | None = None,
        name: str = "voiced",
    ) -> None:
        self.source, self.sink, self.words, self.clock = source, sink, words, clock
        self.echo = echo
        self.reference = PlaybackReference()
        """What the speaker plays, for the canceller (and a file source's simulated room)."""
        self.name = name
        self.link: Any = None
        """The connection of the Home Assistant that said `run-satellite`, if any."""
        self.linked = asyncio.Event()
        self.streaming_since: float | None = None
        """Stream time the current request began streaming (None: not streaming)."""
        self._resampler: Resampler | None = None
        self.requests = 0
        self.replies = 0

    # -- Home Assistant's side ---------------------------------------------------------

    def attach(self, link: Any) -> None:
        if self.link is not None and self.link is not link:
            log.info("satellite: a new connection from Home Assistant replaces the last")
        self.link = link
        self.linked.set()
        log.info("satellite: Home Assistant is running this satellite")

    def detach(self, link: Any) -> None:
        if self.link is link:
            self.link = None
            self.streaming_since = None
            log.info("satellite: Home Assistant paused or left this satellite")

    def end_request(self, why: str) -> None:
        if self.streaming_since is not None:
            log.info("satellite: request ended (%s)", why)
        self.streaming_since = None

    def reply_start(self, rate: int) -> None:
        to_hz = self.sink.sample_rate_hz
        self._resampler = Resampler(rate, to_hz) if rate != to_hz else None

    def reply_chunk(self, audio: np.ndarray) -> None:
        """16-bit mono audio of the reply, at the rate its audio-start gave."""
        self._play(self._resampler.process(audio) if self._resampler else audio)

    def _play(self, audio: np.ndarray) -> None:
        start_s = self.sink.play(audio)
        if start_s is not None:
            self.reference.add(start_s, audio, self.sink.sample_rate_hz)

    async def reply_end(self) -> None:
        """The reply is all here: wait until it has been heard."""
        if self._resampler is not None:
            self._play(self._resampler.flush())
            self._resampler = None
        await played_out(self.sink, self.clock)
        self.replies += 1

    # -- the microphone's side ---------------------------------------------------------

    async def run(self) -> None:
        """Listen until the input ends (a file) or this is cancelled. The stream starts
        once Home Assistant first runs the satellite: a file is played into it then."""
        await self.linked.wait()
        self.clock.restart()
        log.info("satellite: listening for %s", ", ".join(self.words.names))
        async for frame, start_s in self.source.frames():
            # the wake words hear every frame (a model that skipped the request would wake
            # on the wake word still in its window), but a request is not interrupted
            wake = self.words.hear(self._without_echo(frame, start_s), start_s)
            if self.streaming_since is None:
                if wake is not None:
                    await self._woken(wake)
                continue
            await self._send_audio(frame, start_s)
            if start_s - self.streaming_since > MAX_REQUEST_S:
                await self._send_stop()
                self.end_request(f"no transcript after {MAX_REQUEST_S:.0f} s")
        if self.streaming_since is not None:  # the input ended mid-request
            await self._send_stop()
            self.end_request("the input ended")
        await played_out(self.sink, self.clock)  # a reply still playing is heard out

    def _without_echo(self, frame: np.ndarray, start_s: float) -> np.ndarray:
        """The frame with what the speaker played taken out, while a reply may echo."""
        if self.echo is None or start_s > self.sink.busy_until() + ECHO_S:
            return frame
        return self.echo.process(frame, self.reference.read(start_s, len(frame)))

    async def _woken(self, wake: Wake) -> None:
        from wyoming.pipeline import PipelineStage, RunPipeline
        from wyoming.wake import Detection

        if self.link is None:
            log.info("satellite: heard %r, but Home Assistant is not running it", wake.phrase)
            return
        if self.sink.busy_until() > self.clock.now():
            # said over a reply: the reply stops, the new request starts
            self.reference.cut(self.sink.flush())
            log.info("satellite: %r over the reply: stopped it", wake.phrase)
        phrase, at_s = wake.phrase, wake.at_s
        log.info("satellite: heard %r at %.2f s: streaming to Home Assistant", phrase, at_s)
        run = RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS)
        self.requests += 1
        self.streaming_since = wake.at_s
        await self._write(run.event())
        await self._write(Detection(name=wake.name, timestamp=round(wake.at_s * 1000)).event())

    async def _send_audio(self, frame: np.ndarray, start_s: float) -> None:
        from wyoming.audio import AudioChunk

        chunk = AudioChunk(
            rate=SAMPLE_RATE_HZ,
            width=2,
            channels=1,
            audio=frame.astype("<i2").tobytes(),
            timestamp=round(start_s * 1000),
        )
        await self._write(chunk.event())

    async def _send_stop(self) -> None:
        from wyoming.audio import AudioStop

        await self._write(AudioStop().event())

    async def _write(self, event: Any) -> None:
        link = self.link
        if link is None:
            self.end_request("Home Assistant left")
            return
        try:
            await link.write_event(event)
        except ConnectionError:
            self.detach(link)


def satellite_info(satellite: Satellite) -> Any:
    """What Home Assistant's `describe` gets: a satellite, and the wake words it hears."""
    from wyoming.info import Info
    from wyoming.info import Satellite as SatelliteInfo

    from voiced.network.wyoming import artifact, wake_program

    names = satellite.words.names
    described = artifact(satellite.name, "voiced: its microphone and speaker, its wake word")
    return Info(
        satellite=SatelliteInfo(
            **described,
            has_vad=False,
            active_wake_words=names,
            max_active_wake_words=len(names),
            supports_trigger=False,
        ),
        wake=[wake_program(names)],
    )


def satellite_handler(satellite: Satellite) -> Any:
    from wyoming.asr import Transcript
    from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
    from wyoming.error import Error
    from wyoming.event import Event
    from wyoming.info import Describe
    from wyoming.ping import Ping, Pong
    from wyoming.satellite import PauseSatellite, RunSatellite
    from wyoming.server import AsyncEventHandler
    from wyoming.snd import Played

    class Handler(AsyncEventHandler):
        """One Home Assistant connection's events, in order."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._converter: Any = None
            self._playing: asyncio.Task[None] | None = None
            """Waits out a reply, then says `played` (events, pings too, go on meanwhile)."""

        async def run(self) -> None:
            try:
                await super().run()
            except ConnectionError as exc:
                log.info("satellite: Home Assistant went away (%s)", exc.strerror or exc)
            finally:
                satellite.detach(self)

        async def handle_event(self, event: Event) -> bool:
            if Describe.is_type(event.type):
                await self.write_event(satellite_info(satellite).event())
            elif Ping.is_type(event.type):
                await self.write_event(Pong(text=Ping.from_event(event).text).event())
            elif RunSatellite.is_type(event.type):
                satellite.attach(self)
            elif PauseSatellite.is_type(event.type):
                satellite.detach(self)
            elif Transcript.is_type(event.type):
                log.info("satellite: Home Assistant heard %r", Transcript.from_event(event).text)
                satellite.end_request("transcribed")
            elif Error.is_type(event.type):
                log.warning("satellite: Home Assistant: %s", Error.from_event(event).text)
                satellite.end_request("an error")
            elif AudioStart.is_type(event.type):
                start = AudioStart.from_event(event)
                self._converter = AudioChunkConverter(rate=start.rate, width=2, channels=1)
                satellite.reply_start(start.rate)
            elif AudioChunk.is_type(event.type) and self._converter is not None:
                chunk = self._converter.convert(AudioChunk.from_event(event))
                satellite.reply_chunk(np.frombuffer(chunk.audio, dtype="<i2"))
            elif AudioStop.is_type(event.type):
                self._converter = None
                self._playing = asyncio.create_task(self._played())
            else:
                log.debug("satellite: %s event", event.type)
            return True

        async def _played(self) -> None:
            await satellite.reply_end()
            log.info("satellite: reply played")
            try:
                await self.write_event(Played().event())
            except ConnectionError:
                satellite.detach(self)

    return Handler


async def serve_satellite(
    settings: Any, rate: int, uri: str, input_audio: np.ndarray | None, output_file: Any
) -> None:
    """voiced's microphone and speaker (or a recording and a file), its wake words from
    [activation], for Home Assistant's pipeline at uri; the speaker plays at rate."""
    from voiced.audio import open_audio
    from voiced.audio.devices import MicrophoneSource, SpeakerSink
    from voiced.engines.wakeword import MicroWakeWords

    clock = StreamClock()
    source, sink = open_audio(settings, clock, input_audio, output_file, rate)
    words = MicroWakeWords(settings.activation.wake_words)
    satellite = Satellite(source, sink, words, clock, echo_canceller(settings.audio))
    if isinstance(sink, SpeakerSink):  # its readings of the device move the reference
        sink.on_moved = satellite.reference.move
    try:
        if isinstance(source, MicrophoneSource):
            source.open()
        await run_satellite(satellite, uri)
    finally:
        source.close()
        sink.close()


async def run_satellite(satellite: Satellite, uri: str) -> None:
    """Serve Home Assistant and listen, until the input ends or this is cancelled."""
    from wyoming.server import AsyncServer

    server = AsyncServer.from_uri(uri)
    await server.start(satellite_handler(satellite))
    log.info("satellite: waiting for Home Assistant on %s", uri)
    try:
        await satellite.run()
    finally:
        await server.stop()
