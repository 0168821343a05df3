"""`voiced run`: the daemon around the pipeline — devices, systemd, signals, reload."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voiced.audio import AudioSink, AudioSource
from voiced.config import Settings, load_settings
from voiced.errors import ConfigError
from voiced.pipeline import Pipeline, TurnResult, TurnRunner, load_runner
from voiced.segmenter import Segmenter
from voiced.systemd import Notifier

log = logging.getLogger("voiced")

MODEL_LOAD_ALLOWANCE_S = 180
"""EXTEND_TIMEOUT_USEC while loading: a Pi with bigger models can take minutes."""


@dataclass
class RunOptions:
    config: Path | None = None
    input_file: Path | None = None
    output_file: Path | None = None
    echo_gain: float = 0.0
    echo_delay_ms: float = 60.0


class Daemon:
    def __init__(self, settings: Settings, options: RunOptions) -> None:
        self.settings = settings
        self.options = options
        self.notifier = Notifier()
        self.pipeline: Pipeline | None = None
        self.runner: TurnRunner | None = None

    def run(self) -> None:
        from voiced.audio.devices import find_device
        from voiced.engines.whisper import read_audio_file

        # SIGTERM while the models load stops as cleanly as Ctrl-C (the loop installs its own).
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        options, settings = self.options, self.settings
        # Check what the user named before the slow model loading.
        input_audio = read_audio_file(options.input_file) if options.input_file else None
        if input_audio is None:
            find_device(settings.audio.input_device, "input")
        if options.output_file is None:
            find_device(settings.audio.output_device, "output")

        self.notifier.extend_timeout(MODEL_LOAD_ALLOWANCE_S)
        self.notifier.status("loading models")
        runner = self.runner = load_runner(settings, with_vad=True)
        runner.warm_up()
        try:
            asyncio.run(self._main(runner, input_audio))
        finally:
            self.notifier.close()

    def _open(
        self, runner: TurnRunner, input_audio: np.ndarray | None
    ) -> tuple[AudioSource, AudioSink]:
        from voiced.audio.devices import MicrophoneSource, SpeakerSink
        from voiced.audio.files import FileSink, FileSource

        settings, options, clock = self.settings, self.options, runner.clock
        rate = runner.engines.tts.sample_rate_hz
        source: AudioSource
        if input_audio is not None:
            source = FileSource(input_audio, settings.audio.frame_ms, clock)
        else:
            name = settings.audio.input_device or "default"
            self.notifier.status(f"opening microphone '{name}'")
            source = MicrophoneSource(
                settings.audio.input_device,
                settings.audio.frame_ms,
                settings.audio.queue_frames,
                clock,
            )
        sink: AudioSink
        if options.output_file:
            sink = FileSink(options.output_file, rate, clock)
            if isinstance(source, FileSource):
                sink.min_duration_s = source.duration_s
        else:
            sink = SpeakerSink(settings.audio.output_device, rate, clock)
        if isinstance(source, MicrophoneSource):
            source.open()
        return source, sink

    async def _main(self, runner: TurnRunner, input_audio: np.ndarray | None) -> None:
        from voiced.audio.echo import EchoCanceller, PlaybackReference
        from voiced.audio.files import FileSource

        settings, options = self.settings, self.options
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop, task)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        runner.clock.restart()
        source, sink = self._open(runner, input_audio)
        runner.reference = PlaybackReference()
        if isinstance(source, FileSource) and options.echo_gain > 0:
            source.simulate_echo(runner.reference, options.echo_gain, options.echo_delay_ms)
        echo = None
        if not settings.audio.half_duplex and settings.audio.echo_cancel:
            echo = EchoCanceller(settings.audio.echo_delay_ms)
        assert runner.engines.vad is not None
        pipeline = self.pipeline = Pipeline(
            runner, runner.engines.vad, source, sink, on_turn=self._on_turn, echo=echo
        )
        log.info("listening")
        self.notifier.send(READY=1, STATUS="listening")
        watchdog = asyncio.create_task(self._watchdog()) if self.notifier.watchdog_s else None
        try:
            await pipeline.run()
        except asyncio.CancelledError:
            log.info("stopping")
        finally:
            if watchdog is not None:
                watchdog.cancel()
            source.close()
            sink.close()
            runner.workers.shutdown()

    def _stop(self, task: asyncio.Task[None]) -> None:
        self.notifier.send(STOPPING=1, STATUS="stopping")
        task.cancel()

    def _on_turn(self, result: TurnResult) -> None:
        latency = result.timings.response_latency_s
        if latency is not None:
            self.notifier.status(f"listening (last reply {latency:.2f} s after you stopped)")

    async def _watchdog(self) -> None:
        """WATCHDOG=1 only while audio frames arrive: a stuck audio path gets restarted."""
        assert self.notifier.watchdog_s is not None
        interval = self.notifier.watchdog_s / 2
        while True:
            await asyncio.sleep(interval)
            pipeline = self.pipeline
            if pipeline is not None and time.monotonic() - pipeline.last_frame_at < interval:
                self.notifier.send(WATCHDOG=1)
            else:
                log.warning("no audio for %.1f s: not telling the watchdog we are alive", interval)

    def reload(self) -> None:
        """SIGHUP: read the configuration again and apply what can change while running."""
        self.notifier.send(RELOADING=1, STATUS="reloading configuration")
        try:
            new = load_settings(self.options.config)
        except ConfigError as exc:
            for line in exc.message.splitlines():
                log.error("reload refused, keeping the running configuration: %s", line)
            self.notifier.send(READY=1, STATUS="listening (reload refused: configuration invalid)")
            return
        old = self.settings
        needs_restart = [
            name for name in ("audio", "stt", "tts") if getattr(new, name) != getattr(old, name)
        ]
        if (new.llm.model, new.llm.context_tokens, new.llm.threads) != (
            old.llm.model,
            old.llm.context_tokens,
            old.llm.threads,
        ):
            needs_restart.append("llm model")
        self.settings = new
        if self.runner is not None:
            self.runner.settings = new
            self.runner.conversation.persona = new.llm.persona
            reconfigure = getattr(self.runner.engines.llm, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(new.llm)
        if self.pipeline is not None:
            self.pipeline.settings = new
            self.pipeline.segmenter = Segmenter(new.vad, self.pipeline.segmenter.frame_ms)
        if needs_restart:
            log.warning(
                "reloaded; %s changes take effect after a restart", ", ".join(needs_restart)
            )
        else:
            log.info("configuration reloaded")
        self.notifier.send(READY=1, STATUS="listening")
