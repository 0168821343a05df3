"""`voiced run`: the daemon around the pipeline — devices, systemd, signals, reload."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voiced.audio import AudioSink, AudioSource
from voiced.config import Settings, load_settings
from voiced.engines import Wake
from voiced.errors import ConfigError
from voiced.paths import control_socket
from voiced.pipeline import Pipeline
from voiced.service.control import ControlServer, RequestError
from voiced.service.metrics import Metrics, MetricsServer
from voiced.service.systemd import Notifier
from voiced.turn.load import load_runner
from voiced.turn.request import Outcome, TurnResult
from voiced.turn.runner import TurnRunner

log = logging.getLogger("voiced")

COMMANDS = ("status", "mute", "unmute", "ptt", "say", "ask", "cancel", "events")
STATE_POLL_S = 0.1
DEVICE_POLL_S = 2.0
MODEL_LOAD_ALLOWANCE_S = 180
"""EXTEND_TIMEOUT_USEC while loading: a Pi with bigger models can take minutes."""


@dataclass
class RunOptions:
    config: Path | None = None
    input_file: Path | None = None
    output_file: Path | None = None
    echo_gain: float = 0.0
    echo_delay_ms: float = 60.0
    control: Path | None = None
    overrides: list[str] = field(default_factory=list)
    """`--set SECTION.KEY=VALUE` items: the last configuration layer, kept on reload."""
    """The control socket (None: the usual one, except when reading a file)."""


class Daemon:
    def __init__(self, settings: Settings, options: RunOptions) -> None:
        self.settings = settings
        self.options = options
        self.notifier = Notifier()
        self.pipeline: Pipeline | None = None
        self.runner: TurnRunner | None = None
        self.control: ControlServer | None = None
        self.metrics: Metrics | None = None
        self.metrics_server: MetricsServer | None = None
        self.started = time.monotonic()

    def run(self) -> None:
        from voiced.engines.whisper import read_audio_file

        # SIGTERM while the models load stops as cleanly as Ctrl-C (the loop installs its own).
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        options, settings = self.options, self.settings
        # Check what the user named before the slow model loading.
        input_audio = read_audio_file(options.input_file) if options.input_file else None
        kinds = ["input"] if input_audio is None else []
        if options.output_file is None:
            kinds.append("output")
        self._wait_for_devices(kinds)

        self.notifier.extend_timeout(MODEL_LOAD_ALLOWANCE_S)
        self.notifier.status("loading models")
        runner = self.runner = load_runner(settings, with_vad=True)
        runner.warm_up()
        try:
            asyncio.run(self._main(runner, input_audio))
        finally:
            self.notifier.close()

    def _wait_for_devices(self, kinds: list[str]) -> None:
        """The devices named in the configuration must exist. Run by hand, a missing one
        is an error at once (exit 69); as a service, voiced waits for it to be plugged
        in, telling systemd what it waits for, rather than failing in a restart loop."""
        from voiced.audio.devices import find_device, reset_portaudio
        from voiced.errors import AudioDeviceError

        waiting = ""
        while True:
            try:
                for kind in kinds:
                    find_device(getattr(self.settings.audio, f"{kind}_device"), kind)
                break
            except AudioDeviceError as exc:
                if not self.notifier.enabled:
                    raise
                if exc.message != waiting:
                    waiting = exc.message
                    log.warning("waiting: %s", exc.message)
                    name = self.settings.audio.input_device or "default"
                    what = "microphone" if "input" in exc.message else "speaker"
                    if what == "speaker":
                        name = self.settings.audio.output_device or "default"
                    self.notifier.status(f"waiting for {what} '{name}'")
                self.notifier.extend_timeout(DEVICE_POLL_S * 5)
                time.sleep(DEVICE_POLL_S)
                reset_portaudio()
        if waiting:
            log.info("audio devices found")

    def _open(
        self, runner: TurnRunner, input_audio: np.ndarray | None
    ) -> tuple[AudioSource, AudioSink]:
        from voiced.audio import open_audio
        from voiced.audio.devices import MicrophoneSource

        settings = self.settings
        if input_audio is None:
            name = settings.audio.input_device or "default"
            self.notifier.status(f"opening microphone '{name}'")
        rate = runner.engines.tts.sample_rate_hz
        source, sink = open_audio(
            settings, runner.clock, input_audio, self.options.output_file, rate
        )
        if isinstance(source, MicrophoneSource):
            source.open()
            source.on_waiting = lambda why: self.notifier.status(why or "listening")
        return source, sink

    async def _main(self, runner: TurnRunner, input_audio: np.ndarray | None) -> None:
        from voiced.audio.devices import MicrophoneSource, SpeakerSink
        from voiced.audio.echo import PlaybackReference, echo_canceller
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
        if isinstance(sink, SpeakerSink):  # its readings of the device move the reference
            sink.on_moved = runner.reference.move
        if isinstance(source, FileSource) and options.echo_gain > 0:
            source.simulate_echo(runner.reference, options.echo_gain, options.echo_delay_ms)
        echo = echo_canceller(settings.audio)
        assert runner.engines.vad is not None
        pipeline = self.pipeline = Pipeline(
            runner,
            runner.engines.vad,
            source,
            sink,
            on_turn=self._on_turn,
            echo=echo,
            on_wake=self._on_wake,
        )
        self.source, self.sink = source, sink
        control_path = options.control
        if control_path is None and input_audio is None and settings.service.control_socket:
            control_path = control_socket()
        if settings.service.metrics_port:
            self.metrics = Metrics(
                overflows=lambda: getattr(source, "overflows", 0),
                errors=lambda: pipeline.floor.failures,
            )
            self.metrics_server = MetricsServer(self.metrics, settings.service.metrics_port)
            try:
                await self.metrics_server.start()
            except OSError as exc:
                raise ConfigError(
                    f"service.metrics_port: cannot listen on 127.0.0.1:"
                    f"{settings.service.metrics_port}: {exc.strerror}"
                ) from None
        if control_path is not None:
            self.control = ControlServer(
                control_path,
                self._on_request,
                snapshot=lambda: {"event": "state", "state": pipeline.state},
            )
            await self.control.start()
        if isinstance(source, MicrophoneSource) and not await source.first_sound():
            log.warning("no sound from the microphone yet: listening for it")
        log.info("listening")
        self.notifier.send(READY=1, STATUS="listening")
        helpers = [asyncio.create_task(self._publish_states())]
        if self.notifier.watchdog_s:
            helpers.append(asyncio.create_task(self._watchdog()))
        try:
            await pipeline.run()
        except asyncio.CancelledError:
            log.info("stopping")
        finally:
            for helper in helpers:
                helper.cancel()
            if self.control is not None:
                await self.control.close()
            if self.metrics_server is not None:
                await self.metrics_server.close()
            source.close()
            sink.close()
            runner.workers.shutdown()

    def _stop(self, task: asyncio.Task[None]) -> None:
        self.notifier.send(STOPPING=1, STATUS="stopping")
        task.cancel()

    def _on_turn(self, result: TurnResult) -> None:
        if self.metrics is not None:
            self.metrics.turn(result.timings, _outcome(result))
        if self.control is not None:
            self.control.publish(
                {
                    "event": "turn",
                    "heard": result.request or result.transcript.text,
                    "reply": result.reply,
                    "interrupted": result.interrupted,
                    "command": result.answered_by or "",
                    "timings": result.timings.as_dict(),
                }
            )
        latency = result.timings.response_latency_s
        if latency is not None:
            self.notifier.status(f"listening (last reply {latency:.2f} s after you stopped)")

    def _on_wake(self, wake: Wake) -> None:
        if self.metrics is not None:
            self.metrics.wake(wake.name)
        if self.control is not None:
            self.control.publish(_wake_fields(wake) | {"event": "wake"})

    async def _publish_states(self) -> None:
        """An event each time the state changes (polled: the pipeline stays unaware)."""
        last = ""
        while True:
            pipeline = self.pipeline
            state = pipeline.state if pipeline is not None else "starting"
            if state != last and self.control is not None:
                self.control.publish({"event": "state", "state": state})
            last = state
            await asyncio.sleep(STATE_POLL_S)

    def status(self) -> dict[str, Any]:
        settings, pipeline = self.settings, self.pipeline
        last = pipeline.turns[-1].timings.as_dict() if pipeline and pipeline.turns else None
        status: dict[str, Any] = {
            "state": pipeline.state if pipeline is not None else "starting",
            "pid": os.getpid(),
            "uptime_s": round(time.monotonic() - self.started, 1),
            "models": {
                "stt": settings.stt.model,
                "llm": settings.llm.model,
                "tts": settings.tts.voice,
            },
            "devices": {
                "input": str(self.options.input_file or settings.audio.input_device or "default"),
                "output": str(
                    self.options.output_file or settings.audio.output_device or "default"
                ),
            },
            "turns": len(pipeline.turns) if pipeline is not None else 0,
            "overflows": getattr(self.source, "overflows", 0),
            "waiting": getattr(self.source, "waiting", None),
            "microphone_reopened": getattr(self.source, "reopened", 0),
            "replies_dropped": getattr(self.sink, "dropped", 0),
            "last_turn": last,
        }
        gate = pipeline.wake if pipeline is not None else None
        if gate is not None:
            status["wake_words"] = gate.words.names
            status["wakes"] = gate.wakes
            status["last_wake"] = _wake_fields(gate.last) if gate.last is not None else None
        return status

    async def _on_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """One control-socket request (see voiced.service.control); the reply's fields."""
        pipeline, runner = self.pipeline, self.runner
        assert pipeline is not None and runner is not None
        cmd = request["cmd"]
        if cmd == "status":
            return self.status()
        if cmd in ("mute", "unmute"):
            pipeline.muted = cmd == "mute"
            log.info("microphone %sd", cmd)
            return {"muted": pipeline.muted}
        if cmd == "ptt":
            action = request.get("action", "toggle")
            if action not in ("start", "stop", "toggle"):
                raise RequestError("ptt: action must be start, stop or toggle")
            held = not pipeline.talk_held if action == "toggle" else action == "start"
            pipeline.push_to_talk(held)
            return {"talking": held}
        if cmd == "cancel":
            pipeline.cancel()
            return {}
        if cmd in ("say", "ask"):
            text = request.get("text")
            if not isinstance(text, str) or not text.strip():
                raise RequestError(f"{cmd}: a non-empty text is needed")
            if cmd == "say":
                return {"seconds": round(await runner.say(text, pipeline.sink), 2)}
            result = await pipeline.ask(text.strip())
            if result is None:
                raise RequestError("ask: the turn failed (see the log)")
            return {"reply": result.reply, "timings": result.timings.as_dict()}
        raise RequestError(f"unknown command {cmd!r}; known: {', '.join(COMMANDS)}")

    async def _watchdog(self) -> None:
        """WATCHDOG=1 only while audio frames arrive: a stuck audio path gets restarted."""
        assert self.notifier.watchdog_s is not None
        interval = self.notifier.watchdog_s / 2
        while True:
            await asyncio.sleep(interval)
            pipeline = self.pipeline
            waiting = getattr(self.source, "waiting", None)  # the device is looked for
            if waiting or (
                pipeline is not None and time.monotonic() - pipeline.last_frame_at < interval
            ):
                self.notifier.send(WATCHDOG=1)
            else:
                log.warning("no audio for %.1f s: not telling the watchdog we are alive", interval)

    def reload(self) -> None:
        """SIGHUP: read the configuration again and apply what can change while running."""
        self.notifier.send(RELOADING=1, STATUS="reloading configuration")
        try:
            new = load_settings(self.options.config, self.options.overrides)
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
            self.runner.conversation.persona = new.persona
            reconfigure = getattr(self.runner.engines.llm, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(new.llm)
        if self.pipeline is not None:
            self.pipeline.configure(new)
        if needs_restart:
            log.warning(
                "reloaded; %s changes take effect after a restart", ", ".join(needs_restart)
            )
        else:
            log.info("configuration reloaded")
        self.notifier.send(READY=1, STATUS="listening")


def _outcome(result: TurnResult) -> str:
    """answered (by the model, a skill or the memory), interrupted, a command (stop,
    cancel), wake (the phrase alone), ignored (not for it), or dropped (noise, nothing said)."""
    if result.outcome in (Outcome.STOP, Outcome.CANCEL, Outcome.WAKE, Outcome.IGNORED):
        return result.outcome.value
    if result.interrupted:
        return "interrupted"
    return "answered" if result.timings.first_played_s is not None else "dropped"


def _wake_fields(wake: Wake) -> dict[str, Any]:
    """A wake word heard, as status and events tell it."""
    return {"wake_word": wake.name, "phrase": wake.phrase, "at_s": wake.at_s}
