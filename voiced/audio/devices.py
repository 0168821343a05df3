"""Real audio devices through sounddevice (PortAudio).

The PortAudio callbacks only copy: the input callback hands each block to the
event loop (a bounded queue that counts overflows instead of blocking), the
output callback copies queued samples out or plays silence.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np

from voiced.audio import Resampler, StreamClock, to_int16
from voiced.errors import AudioDeviceError
from voiced.types import SAMPLE_RATE_HZ

log = logging.getLogger(__name__)


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library itself is missing
        raise AudioDeviceError(
            f"PortAudio is not available ({exc}); install Debian's libportaudio2"
        ) from None
    return sounddevice


_generation = 0
"""How many times PortAudio has been started afresh: a stream from an older one is dead."""


def reset_portaudio() -> None:
    """Start PortAudio afresh. It reads the device list once, when it starts: after the
    sound server restarted or a device was plugged back in, only a fresh start finds it.
    Every stream opened before is dead afterwards (the speaker reopens its own)."""
    global _generation
    sd = _sounddevice()
    with contextlib.suppress(Exception):
        sd._terminate()
    sd._initialize()
    _generation += 1


def list_devices() -> list[dict[str, Any]]:
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
    except Exception as exc:
        raise AudioDeviceError(f"cannot list audio devices ({exc})") from None
    return [dict(d, index=i) for i, d in enumerate(devices)]


def rescan() -> None:
    """Forget PortAudio's device list (made once, at start-up) so new devices show up."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


def find_device(name: str, kind: str) -> int | None:
    """Device index for a (part of a) device name; None means the system default.

    kind is "input" or "output". Raises AudioDeviceError naming the devices that exist.
    """
    channels_key = f"max_{kind}_channels"
    candidates = [d for d in list_devices() if d[channels_key] > 0]
    if not candidates:
        raise AudioDeviceError(
            f"no audio {kind} device found (plugged in? is the sound server running?)"
        )
    if not name:
        return None
    exact = [d for d in candidates if d["name"].lower() == name.lower()]
    partial = [d for d in candidates if name.lower() in d["name"].lower()]
    match = exact or partial
    if not match:
        names = ", ".join(repr(d["name"]) for d in candidates)
        raise AudioDeviceError(f"no audio {kind} device named {name!r}; {kind}s: {names}")
    return int(match[0]["index"])


def _pick_rate(sd: Any, device: int | None, kind: str, wanted_hz: int) -> int:
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=device, samplerate=wanted_hz, channels=1, dtype="int16")
        return wanted_hz
    except Exception:
        info = sd.query_devices(device, kind)
        return int(info["default_samplerate"])


STALL_S = 2.0
"""No audio for this long from a stream that should be running: it is reopened."""
REOPEN_EVERY_S = 1.0
"""While a device is missing, how often to look for it again."""


class MicrophoneSource:
    """16 kHz mono int16 frames from a microphone (resampled if it cannot do 16 kHz)."""

    def __init__(self, device: str, frame_ms: int, queue_frames: int, clock: StreamClock) -> None:
        self.frame_samples = SAMPLE_RATE_HZ * frame_ms // 1000
        self.overflows = 0
        self._device_name = device
        self._clock = clock
        self._queue: asyncio.Queue[np.ndarray] = asyncio.Queue(maxsize=queue_frames)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stream: Any = None
        self._resampler: Resampler | None = None
        self.waiting: str | None = None
        """Why no sound comes in ("waiting for microphone 'X'"), None while it does."""
        self.on_waiting: Callable[[str | None], None] | None = None
        self.reopened = 0

    def open(self) -> None:
        sd = _sounddevice()
        device = find_device(self._device_name, "input")
        rate = _pick_rate(sd, device, "input", SAMPLE_RATE_HZ)
        self._resampler = Resampler(rate, SAMPLE_RATE_HZ)
        self._loop = asyncio.get_running_loop()
        try:
            self._stream = sd.InputStream(
                device=device,
                samplerate=rate,
                channels=1,
                dtype="int16",
                blocksize=rate * self.frame_samples // SAMPLE_RATE_HZ,
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:
            raise AudioDeviceError(f"cannot open the microphone ({exc})") from None
        log.info(
            "microphone open: %s at %d Hz", sd.query_devices(self._stream.device)["name"], rate
        )

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.input_overflow:
            self.overflows += 1
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._enqueue, indata[:, 0].copy())

    def _enqueue(self, block: np.ndarray) -> None:
        if self._queue.full():
            self.overflows += 1
            return
        self._queue.put_nowait(block)

    async def frames(self) -> AsyncIterator[tuple[np.ndarray, float]]:
        if self._stream is None:
            self.open()
        assert self._resampler is not None
        pending = np.zeros(0, dtype=np.int16)
        n = self.frame_samples
        first_s: float | None = None
        delivered = 0
        while True:
            try:
                block = await asyncio.wait_for(self._queue.get(), STALL_S)
            except TimeoutError:
                # No blocks, though the stream may still claim to be active (a known
                # PortAudio failure; also a sound server that went away): open it again.
                log.warning("no sound from the microphone for %.0f s: reopening it", STALL_S)
                await self._reopen()
                pending, first_s, delivered = np.zeros(0, dtype=np.int16), None, 0
                continue
            if first_s is None:
                # Frame times come from the sample count, not from arrival times: blocks
                # arrive in bursts, and the echo canceller needs a steady time axis.
                first_s = self._clock.now() - len(block) / self._resampler.from_hz
            pending = np.concatenate([pending, self._resampler.process(block)])
            while len(pending) >= n:
                frame, pending = pending[:n], pending[n:]
                yield frame, first_s + delivered / SAMPLE_RATE_HZ
                delivered += n

    async def _reopen(self) -> None:
        """Close the stream and open it again, waiting (without spinning) for the device."""
        self.close()
        name = self._device_name or "default"
        while True:
            try:
                reset_portaudio()
                self.open()
            except AudioDeviceError as exc:
                if self.waiting is None:
                    self.waiting = f"waiting for microphone '{name}'"
                    log.warning("%s: %s", self.waiting, exc.message)
                    if self.on_waiting is not None:
                        self.on_waiting(self.waiting)
                await asyncio.sleep(REOPEN_EVERY_S)
                continue
            self.reopened += 1
            if self.waiting is not None:
                log.info("microphone '%s' is back", name)
            self.waiting = None
            if self.on_waiting is not None:
                self.on_waiting(None)
            while not self._queue.empty():  # blocks from the old stream, if any
                self._queue.get_nowait()
            return

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close(ignore_errors=True)
            self._stream = None


class SpeakerSink:
    """Plays int16 audio on a speaker.

    The stream runs only while there is something to play (and a moment after):
    an idle output stream costs several percent of a core on PulseAudio.
    """

    IDLE_STOP_S = 1.0

    def __init__(self, device: str, sample_rate_hz: int, clock: StreamClock) -> None:
        self.sample_rate_hz = sample_rate_hz
        self._clock = clock
        self._lock = threading.Lock()
        self._queue: collections.deque[np.ndarray] = collections.deque()
        self._queued = 0
        self._busy_until = 0.0
        self._idle_check: asyncio.TimerHandle | None = None
        self._device_name = device
        self._stream: Any = None
        self.dropped = 0
        """Replies (or parts) dropped because the speaker was gone."""
        self._open_stream()

    def _open_stream(self) -> None:
        sd = _sounddevice()
        index = find_device(self._device_name, "output")
        self._device_hz = _pick_rate(sd, index, "output", self.sample_rate_hz)
        self._resampler = Resampler(self.sample_rate_hz, self._device_hz)
        try:
            self._stream = sd.OutputStream(
                device=index,
                samplerate=self._device_hz,
                channels=1,
                dtype="int16",
                callback=self._callback,
                latency="low",
            )
        except Exception as exc:
            raise AudioDeviceError(f"cannot open the speaker ({exc})") from None
        self._generation = _generation
        name = sd.query_devices(self._stream.device)["name"]
        log.info("speaker open: %s at %d Hz", name, self._device_hz)

    def _start(self) -> bool:
        """Make sure the stream runs, opening it again if PortAudio was restarted or it
        fails; False when the speaker is gone (what was to play is dropped)."""
        for attempt in (1, 2):
            try:
                if attempt == 2 or self._generation != _generation:
                    if attempt == 2:
                        reset_portaudio()
                    with contextlib.suppress(Exception):
                        self._stream.close(ignore_errors=True)
                    self._open_stream()
                if self._stream.stopped:
                    self._stream.start()
                return True
            except Exception as exc:
                error = exc.message if isinstance(exc, AudioDeviceError) else str(exc)
                log.debug("speaker start, attempt %d: %s", attempt, error)
        log.warning("the speaker is gone (%s): what was to be said is dropped", error)
        with self._lock:
            self._queue.clear()
            self._queued = 0
        self.dropped += 1
        return False

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        out = outdata[:, 0]
        filled = 0
        with self._lock:
            while filled < frames and self._queue:
                chunk = self._queue[0]
                take = min(len(chunk), frames - filled)
                out[filled : filled + take] = chunk[:take]
                filled += take
                if take == len(chunk):
                    self._queue.popleft()
                else:
                    self._queue[0] = chunk[take:]
            self._queued -= filled
        out[filled:] = 0

    def play(self, audio: np.ndarray) -> float:
        samples = self._resampler.process(to_int16(audio))
        now = self._clock.now()
        with self._lock:
            ahead_s = self._queued / self._device_hz
            self._queue.append(samples)
            self._queued += len(samples)
        if (self._stream is None or self._stream.stopped or self._generation != _generation) and (
            not self._start()
        ):
            return now  # dropped: nothing plays, the loop goes on
        start = now + ahead_s + float(self._stream.latency)
        self._busy_until = max(self._busy_until, start) + len(samples) / self._device_hz
        self._schedule_idle_stop()
        return start

    def _schedule_idle_stop(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # one-shot use (`voiced say`): close() ends the stream
            return
        if self._idle_check is not None:
            self._idle_check.cancel()
        delay_s = self._busy_until + self.IDLE_STOP_S - self._clock.now()
        self._idle_check = loop.call_later(max(0.25, delay_s), self._stop_if_idle)

    def _stop_if_idle(self) -> None:
        with self._lock:
            idle = self._queued == 0
        now = self._clock.now()
        if idle and now >= self._busy_until + self.IDLE_STOP_S:
            self._stream.abort(ignore_errors=True)  # abort: stop() would wait seconds on PulseAudio
        elif now >= self._busy_until + self.IDLE_STOP_S + STALL_S:
            # Long past its end and still queued: the device stopped taking audio (gone
            # while speaking). Drop the rest; the next reply reopens it.
            log.warning("the speaker stopped playing: the rest of the reply is dropped")
            with self._lock:
                self._queue.clear()
                self._queued = 0
            self.dropped += 1
            with contextlib.suppress(Exception):
                self._stream.abort(ignore_errors=True)
            self._generation = -1  # reopen on the next play
        else:
            self._schedule_idle_stop()

    def busy_until(self) -> float:
        return self._busy_until

    def flush(self) -> float:
        with self._lock:
            self._queue.clear()
            self._queued = 0
        self._busy_until = min(self._busy_until, self._clock.now() + float(self._stream.latency))
        return self._busy_until

    def drain(self) -> None:
        """Block until everything queued has been played out."""
        if not self._stream.stopped:
            self._stream.stop(ignore_errors=True)

    def close(self) -> None:
        if self._idle_check is not None:
            self._idle_check.cancel()
        self._stream.close(ignore_errors=True)
