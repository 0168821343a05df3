"""A private sound server with a virtual room in it, to run voiced on real devices without a
sound card: PulseAudio, or PipeWire with its PulseAudio server and WirePlumber.

The microphone is a null sink `vmic` (16 kHz mono; its monitor is the default source), the
speaker a null sink `vspk` (the default sink). A leak plays the speaker back into the
microphone, late and quieter, as open speakers near a microphone. What goes into the room
(the user's voice) and what comes out of the speaker are recorded with small latencies,
each sample stamped on this process's monotonic clock, so that the user's onset and the
moment the reply stops are on one time axis.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from voiced.audio.devices import CaptureTimes
from voiced.errors import AudioDeviceError
from voiced.types import SAMPLE_RATE_HZ

SERVERS = ("pulseaudio", "pipewire")
TOOLS = {
    "pulseaudio": ("pulseaudio", "pactl", "pacat"),
    "pipewire": ("pipewire", "pipewire-pulse", "wireplumber", "dbus-daemon", "pactl", "pacat"),
}
RECORD_LATENCY_MS = 10
PLAY_LATENCY_MS = 20


class RoomError(AudioDeviceError):
    """The sound server could not be started or set up."""


def missing_tools(server: str) -> list[str]:
    return [tool for tool in TOOLS[server] if not shutil.which(tool)]


def _wait(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() >= deadline:
            raise RoomError(f"timed out waiting for {what}")
        time.sleep(0.05)


class SoundRoom:
    """The server and its room; `env` is what a client (voiced, pactl) runs with."""

    def __init__(self, server: str, runtime: Path) -> None:
        if server not in SERVERS:
            raise RoomError(f"unknown sound server {server!r}; choose from {', '.join(SERVERS)}")
        self.server = server
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        runtime.chmod(0o700)
        self.env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(runtime)}
        self.env["XDG_STATE_HOME"] = str(runtime / "state")
        self.env["XDG_CONFIG_HOME"] = str(runtime / "config")
        for name in ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE", "PIPEWIRE_REMOTE"):
            self.env.pop(name, None)
        self._runtime = runtime
        self._processes: list[subprocess.Popen[bytes]] = []
        self.process: subprocess.Popen[bytes] | None = None
        """The server that clients talk to (pulseaudio, or pipewire-pulse)."""
        self._bus_pid: int | None = None
        self._leak_module: str | None = None

    def __enter__(self) -> SoundRoom:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the server ------------------------------------------------------------------

    def start(self) -> None:
        missing = missing_tools(self.server)
        if missing:
            raise RoomError(f"{self.server} is not installed (missing {', '.join(missing)})")
        if self.server == "pulseaudio":
            self._start_pulseaudio()
        else:
            self._start_pipewire()

    def _spawn(self, *command: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._processes.append(process)
        return process

    def _answers(self) -> bool:
        for process in self._processes:
            if process.poll() is not None:
                raise RoomError(f"{process.args!r} exited at start (code {process.returncode})")
        return self.pactl("info", check=False).returncode == 0

    def _start_pulseaudio(self) -> None:
        # The devices are made before the server takes clients (as a real server comes back
        # with its devices): a daemon waiting for it never sees it half set up.
        script = self._runtime / "voiced-room.pa"
        script.write_text(
            "load-module module-null-sink sink_name=vmic rate=16000 channels=1\n"
            "load-module module-null-sink sink_name=vspk channels=1\n"
            "set-default-source vmic.monitor\n"
            "set-default-sink vspk\n"
            "load-module module-native-protocol-unix\n"
        )
        self.process = self._spawn(
            "pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit", "-n",
            "-F", str(script),
        )  # fmt: skip
        _wait(self._answers, 20, "pulseaudio")

    def _start_pipewire(self) -> None:
        bus = self._runtime / "bus"
        started = subprocess.run(
            ["dbus-daemon", "--session", "--fork", "--print-pid", f"--address=unix:path={bus}"],
            env=self.env,
            capture_output=True,
            text=True,
        )
        if started.returncode != 0:
            raise RoomError(f"dbus-daemon did not start: {started.stderr.strip()}")
        self._bus_pid = int(started.stdout.split()[0])
        self.env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={bus}"
        self._spawn("pipewire")
        _wait(lambda: (self._runtime / "pipewire-0").exists(), 20, "pipewire")
        self._spawn("wireplumber")
        for attempt in range(3):
            # it may exit at once (code 239, EEXIST) while pipewire is still setting up
            self.process = self._spawn("pipewire-pulse")
            try:
                _wait(self._answers, 20, "pipewire-pulse")
                break
            except RoomError:
                self._processes.remove(self.process)
                if self.process.poll() is None:
                    self.process.kill()
                    self.process.wait()
                if attempt == 2:
                    raise
                time.sleep(0.5)
        self.pactl("load-module", "module-null-sink", "sink_name=vmic", "rate=16000", "channels=1")
        self.pactl("load-module", "module-null-sink", "sink_name=vspk", "channels=1")
        _wait(lambda: "vmic.monitor" in self.pactl("list", "short", "sources").stdout, 20, "vmic")
        for default in (("set-default-source", "vmic.monitor"), ("set-default-sink", "vspk")):
            # "Not supported" until WirePlumber has taken the new devices in
            _wait(lambda d=default: self.pactl(*d, check=False).returncode == 0, 20, default[0])
        for key, value in (("clock.force-rate", "48000"), ("clock.force-quantum", "512")):
            subprocess.run(["pw-metadata", "-n", "settings", "0", key, value], env=self.env,
                           capture_output=True)  # fmt: skip
        # Silence into both, for ever: PipeWire pauses a device nobody plays to, and a leak
        # from a paused speaker comes back later every time (100 ms a sentence).
        for sink in ("vmic", "vspk"):
            self._spawn(
                "pacat", "-d", sink, "--raw", "--format=s16le", "--rate=16000", "--channels=1",
                "--latency-msec=20", "/dev/zero",
            )  # fmt: skip

    def pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise RoomError(f"pactl {' '.join(args)}: {done.stderr.strip()}")
        return done

    def stop(self) -> None:
        for process in reversed(self._processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._processes.clear()
        if self._bus_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._bus_pid, signal.SIGTERM)
            self._bus_pid = None

    # -- the room --------------------------------------------------------------------

    def leak(self, volume: float = 0.5, delay_ms: int = 60) -> None:
        """The speaker plays back into the microphone, delay_ms late, at volume (linear:
        0.5 is -6 dB)."""
        if self._leak_module is not None:
            self.unleak()
        self._leak_module = self.pactl(
            "load-module", "module-loopback", "source=vspk.monitor", "sink=vmic", "channels=1",
            f"latency_msec={delay_ms}", "source_dont_move=true", "sink_dont_move=true",
        ).stdout.strip()  # fmt: skip
        module = self._leak_module

        def stream() -> str | None:
            listing = self.pactl("list", "sink-inputs").stdout
            for block in listing.split("Sink Input #")[1:]:
                if f"Owner Module: {module}\n" in block or f'pulse.module.id = "{module}"' in block:
                    return block.split()[0]
            return None

        _wait(lambda: stream() is not None, 10, "the leak's stream")
        index = stream()
        assert index is not None
        # PulseAudio's volume is cubic (its 50 % is about -18 dB): 65536 is 0 dB
        self.pactl("set-sink-input-volume", index, str(round(volume ** (1 / 3) * 65536)))

    def unleak(self) -> None:
        if self._leak_module is not None:
            self.pactl("unload-module", self._leak_module, check=False)
            self._leak_module = None

    def say(self, wav: Path) -> None:
        """Play a recording into the microphone (returns when it has played)."""
        subprocess.run(
            ["paplay", "-d", "vmic", f"--latency-msec={PLAY_LATENCY_MS}", str(wav)],
            env=self.env,
            check=True,
        )

    def record(self, source: str) -> Recording:
        """Start recording a source (vmic.monitor: what the microphone hears; vspk.monitor:
        what the speaker plays)."""
        recording = Recording(self.env, source)
        # A null sink with nobody listening renders in blocks of up to 2 s (PulseAudio): its
        # first sound comes that late, and then it keeps to the recorder's small latency.
        _wait(lambda: recording.start_s is not None, 10, f"the first sound from {source}")
        return recording


class Recording:
    """A source recorded at 16 kHz mono, each sample stamped on the monotonic clock."""

    def __init__(self, env: dict[str, str], source: str) -> None:
        self._process = subprocess.Popen(
            ["parec", "-d", source, "--raw", "--format=s16le", f"--rate={SAMPLE_RATE_HZ}",
             "--channels=1", f"--latency-msec={RECORD_LATENCY_MS}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._chunks: list[bytes] = []
        self._times = CaptureTimes(SAMPLE_RATE_HZ)
        self._samples = 0
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        fd, odd = self._process.stdout.fileno(), b""
        while chunk := os.read(fd, 4096):
            arrived_s = time.monotonic()
            chunk, odd = (odd + chunk), b""
            if len(chunk) % 2:
                chunk, odd = chunk[:-1], chunk[-1:]
            with self._lock:
                self._chunks.append(chunk)
                self._times.arrived(len(chunk) // 2, arrived_s)
                self._samples += len(chunk) // 2

    @property
    def start_s(self) -> float | None:
        """The monotonic time of the first sample (None before any came)."""
        with self._lock:
            return self._times.start_s if self._samples else None

    def audio(self) -> np.ndarray:
        with self._lock:
            data = b"".join(self._chunks)
        return np.frombuffer(data, dtype=np.int16)

    def tail(self, seconds: float) -> np.ndarray:
        """The last seconds recorded (to watch a source live, without joining it all)."""
        wanted, parts = 2 * round(seconds * SAMPLE_RATE_HZ), []
        with self._lock:
            for chunk in reversed(self._chunks):
                parts.append(chunk)
                wanted -= len(chunk)
                if wanted <= 0:
                    break
        data = b"".join(reversed(parts))
        return np.frombuffer(data[max(0, -wanted) :], dtype=np.int16)

    def stop(self) -> np.ndarray:
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=10)
        return self.audio()


def find(clip: np.ndarray, recording: np.ndarray, rate: int = SAMPLE_RATE_HZ) -> float:
    """Where a clip begins in a recording of it (seconds): the best match of its first
    seconds, by cross-correlation normalised by the recording's local energy (a loud
    stretch of something else does not win)."""
    a = recording.astype(np.float64)
    b = clip.astype(np.float64)[: min(len(clip), 3 * rate)]
    if len(a) < len(b) or not b.any():
        raise ValueError("the clip is silent, or the recording is shorter than it")
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    score = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    score = score[: len(a) - len(b) + 1]
    energy = np.concatenate([[0.0], np.cumsum(a * a)])
    local = np.sqrt(np.maximum(energy[len(b) :] - energy[: len(a) - len(b) + 1], 1e-9))
    return float(np.argmax(score / local)) / rate
