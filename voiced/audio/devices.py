"""Real audio devices through sounddevice (PortAudio).

The PortAudio callbacks only copy: the input callback hands each block to the
event loop (a bounded queue that counts overflows instead of blocking), the
output callback copies queued samples out or plays silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np

from voiced.aio import within
from voiced.audio import SPEAKER_IDLE_S, Resampler, StreamClock, resample, to_int16
from voiced.audio.playback import PlaybackQueue
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
_portaudio = threading.RLock()
"""Held while PortAudio is restarted (and a stream opened after it) off the event loop.
The loop never waits for it: a frozen sound server can hold it for as long as it is frozen."""


def reset_portaudio() -> None:
    """Start PortAudio afresh. It reads the device list once, when it starts: after the
    sound server restarted or a device was plugged back in, only a fresh start finds it.
    Every stream opened before is dead afterwards (the speaker reopens its own)."""
    global _generation
    sd = _sounddevice()
    with _portaudio:
        _generation += 1  # before the old streams die, so nobody touches them after
        with contextlib.suppress(Exception):
            sd._terminate()
        sd._initialize()


def list_devices() -> list[dict[str, Any]]:
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
    except Exception as exc:
        raise AudioDeviceError(f"cannot list audio devices ({exc})") from None
    return [dict(d, index=i) for i, d in enumerate(devices)]


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
FIRST_SOUND_S = 5.0
"""How long a freshly opened stream may take to give its first block. PortAudio's ALSA
streams through PulseAudio take 1.5-2 s (and lose what is said meanwhile): the
microphone counts as listening only once sound arrives."""
REOPEN_EVERY_S = 1.0
"""While a device is missing, how often to look for it again."""
STARVED_STALL_S = 10.0
"""While every core is saturated, sound may come late rather than never: the watchdog
gives it this long before reopening (a reopen loses whatever is said meanwhile)."""
SATURATED = 0.9
"""The share of all cores' time in use above which the CPU counts as saturated."""


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all cores since boot; None where /proc/stat is unreadable."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(f) for f in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return total - idle, total


async def cpu_saturated(window_s: float = 0.25) -> bool:
    """Whether all cores are busy right now (measured over window_s)."""
    before = _cpu_times()
    await asyncio.sleep(window_s)
    after = _cpu_times()
    if before is None or after is None or after[1] <= before[1]:
        return False
    return (after[0] - before[0]) / (after[1] - before[1]) >= SATURATED


def _in_thread(work: Callable[[], None]) -> asyncio.Future[None]:
    """Run blocking work on a daemon thread (one that may never return must not hold up
    the exit, as the loop's own executor would); its outcome as a future of the loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def settle(exc: BaseException | None) -> None:
        if future.done():
            return
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the loop, which re-raises it
            outcome: BaseException | None = exc
        else:
            outcome = None
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name="voiced-audio-open", daemon=True).start()
    return future


class CaptureTimes:
    """When a microphone's samples were captured, on the stream clock: from the count of
    samples, not from arrival times (blocks arrive in bursts, and the echo canceller needs
    a steady time axis), anchored so that no sample is stamped after it arrived.

    A block cannot arrive before its last sample was captured, so the stream started at
    most (arrival - samples so far / rate) ago; the lowest of these bounds, from the block
    that came soonest, is the best estimate. The first block alone may have come late (the
    stream starting up), which would stamp every frame after it too late, in the future of
    the clock (a user heard before they spoke). The bound slowly lets go (RELAX, s per s) to
    follow a sound card whose clock runs slower than ours; the start moves towards it at
    most STEP_S a frame, so frame times keep increasing."""

    RELAX = 0.001
    STEP_S = 0.004

    def __init__(self, rate_hz: int) -> None:
        self._rate_hz = rate_hz
        self._received = 0
        self._bound: float | None = None
        self._arrived_s = 0.0
        self._start_s: float | None = None

    def arrived(self, samples: int, now_s: float) -> None:
        """A block of samples (at the device's rate) arrived at now_s."""
        self._received += samples
        bound = now_s - self._received / self._rate_hz
        if self._bound is not None:
            bound = min(bound, self._bound + (now_s - self._arrived_s) * self.RELAX)
        self._bound, self._arrived_s = bound, now_s
        if self._start_s is None:
            self._start_s = bound

    @property
    def samples(self) -> int:
        """How many samples have arrived."""
        return self._received

    @property
    def start_s(self) -> float:
        """The best estimate of when the first sample was captured."""
        assert self._bound is not None, "nothing arrived yet"
        return self._bound

    def at(self, offset_s: float) -> float:
        """The capture time of the sample offset_s into the stream."""
        assert self._start_s is not None and self._bound is not None, "nothing arrived yet"
        step = min(self.STEP_S, abs(self._bound - self._start_s))
        self._start_s += step if self._bound > self._start_s else -step
        return self._start_s + offset_s


class MicrophoneSource:
    """16 kHz mono int16 frames from a microphone (resampled if it cannot do 16 kHz)."""

    def __init__(self, device: str, frame_ms: int, queue_frames: int, clock: StreamClock) -> None:
        self.frame_samples = SAMPLE_RATE_HZ * frame_ms // 1000
        self.overflows = 0
        self._device_name = device
        self._clock = clock
        self._queue: asyncio.Queue[tuple[np.ndarray, float]] = asyncio.Queue(maxsize=queue_frames)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stream: Any = None
        self._resampler: Resampler | None = None
        self.waiting: str | None = None
        """Why no sound comes in ("waiting for microphone 'X'"), None while it does."""
        self.on_waiting: Callable[[str | None], None] | None = None
        self.reopened = 0
        self._sounding = asyncio.Event()

    async def first_sound(self, timeout_s: float = FIRST_SOUND_S) -> bool:
        """Wait until the stream gives its first block (it is listening); False if it
        gives none in time."""
        return await within(self._sounding.wait(), timeout_s) is not None

    def open(self) -> None:
        sd = _sounddevice()
        device = find_device(self._device_name, "input")
        rate = _pick_rate(sd, device, "input", SAMPLE_RATE_HZ)
        self._resampler = Resampler(rate, SAMPLE_RATE_HZ)
        if self._loop is None:  # a reopen runs in a thread; the loop is the first open's
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
        with contextlib.suppress(RuntimeError):  # the loop closed before the stream did
            arrived_s = self._clock.now()  # here: the loop may take its time to look
            self._loop.call_soon_threadsafe(self._enqueue, indata[:, 0].copy(), arrived_s)

    def _enqueue(self, block: np.ndarray, arrived_s: float) -> None:
        self._sounding.set()
        if self._queue.full():
            self.overflows += 1
            return
        self._queue.put_nowait((block, arrived_s))

    async def frames(self) -> AsyncIterator[tuple[np.ndarray, float]]:
        if self._stream is None:
            self.open()
        assert self._resampler is not None
        pending = np.zeros(0, dtype=np.int16)
        n = self.frame_samples
        times = CaptureTimes(self._resampler.from_hz)
        delivered = 0
        stalled_s = 0.0
        while True:
            got = await within(self._queue.get(), STALL_S)
            if got is None:
                # No blocks, though the stream may still claim to be active (a known
                # PortAudio failure; also a sound server that went away): open it again,
                # unless the CPU is saturated (then the sound is more likely late).
                stalled_s += STALL_S
                if stalled_s < STARVED_STALL_S and await cpu_saturated():
                    if stalled_s == STALL_S:
                        log.info(
                            "no sound from the microphone for %.0f s, but the CPU is "
                            "saturated: giving it longer",
                            stalled_s,
                        )
                    continue
                log.warning("no sound from the microphone for %.0f s: reopening it", stalled_s)
                await self._reopen()
                pending, delivered, stalled_s = np.zeros(0, dtype=np.int16), 0, 0.0
                times = CaptureTimes(self._resampler.from_hz)
                continue
            stalled_s = 0.0
            block, arrived_s = got
            times.arrived(len(block), arrived_s)
            pending = np.concatenate([pending, self._resampler.process(block)])
            while len(pending) >= n:
                frame, pending = pending[:n], pending[n:]
                yield frame, times.at(delivered / SAMPLE_RATE_HZ)
                delivered += n

    async def _reopen(self) -> None:
        """Close the stream and open it again, waiting (without spinning) for the device
        and for its first sound.

        PortAudio is called from a thread of its own: a sound server that is frozen
        rather than gone blocks those calls, and the event loop (control socket,
        timers) must go on meanwhile."""
        name = self._device_name or "default"
        while True:
            while not self._queue.empty():  # blocks from the old stream, if any
                self._queue.get_nowait()
            self._sounding.clear()
            attempt = _in_thread(self._open_again)
            while not (await asyncio.wait({attempt}, timeout=STALL_S))[0]:
                self._wait_for(name, "the sound server does not answer")
            try:
                attempt.result()
            except AudioDeviceError as exc:
                self._wait_for(name, exc.message)
                await asyncio.sleep(REOPEN_EVERY_S)
                continue
            self.reopened += 1
            if not await self.first_sound():
                self._wait_for(name, "it opens but gives no sound")
                continue
            if self.waiting is not None:
                log.info("microphone '%s' is back", name)
            self.waiting = None
            if self.on_waiting is not None:
                self.on_waiting(None)
            return

    def _open_again(self) -> None:
        with _portaudio:
            self.close()
            reset_portaudio()
            self.open()

    def _wait_for(self, name: str, why: str) -> None:
        if self.waiting is None:
            self.waiting = f"waiting for microphone '{name}'"
            log.warning("%s: %s", self.waiting, why)
            if self.on_waiting is not None:
                self.on_waiting(self.waiting)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close(ignore_errors=True)
            self._stream = None


class SpeakerSink:
    """Plays int16 audio on a speaker.

    The stream runs only while there is something to play (and SPEAKER_IDLE_S after):
    an idle output stream costs several percent of a core on PulseAudio.
    """

    IDLE_STOP_S = SPEAKER_IDLE_S
    PREFILL_S = 0.6
    """How long a started stream's first buffer lasts on the sound server."""

    def __init__(self, device: str, sample_rate_hz: int, clock: StreamClock) -> None:
        self.sample_rate_hz = sample_rate_hz
        self._clock = clock
        self._lock = threading.Lock()
        self._queue = PlaybackQueue(sample_rate_hz)  # at the device's rate, once open
        self._loop: asyncio.AbstractEventLoop | None = None
        self.on_moved: Callable[[float, float], None] | None = None
        """Told (on the event loop) when what plays from a stream time on was found to
        sound that much later (below zero: sooner) than play() said."""
        self._busy_until = 0.0
        self._idle_check: asyncio.TimerHandle | None = None
        self._device_name = device
        self._stream: Any = None
        self._started_s = -1.0
        self.dropped = 0
        """Replies (or parts) dropped because the speaker was gone."""
        self._open_stream()

    def _open_stream(self) -> None:
        sd = _sounddevice()
        index = find_device(self._device_name, "output")
        self._device_hz = _pick_rate(sd, index, "output", self.sample_rate_hz)
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
        with self._lock:
            if self._device_hz != self._queue.rate_hz:
                self._queue = PlaybackQueue(self._device_hz)
        self._latency_s = float(self._stream.latency)
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
                    self._started_s = self._clock.now()
                return True
            except Exception as exc:
                error = exc.message if isinstance(exc, AudioDeviceError) else str(exc)
                log.debug("speaker start, attempt %d: %s", attempt, error)
        self._drop(f"the speaker is gone ({error}): what was to be said is dropped")
        return False

    def _drop(self, why: str) -> None:
        log.warning("%s", why)
        with self._lock:
            self._queue.clear()
        self.dropped += 1
        self._busy_until = min(self._busy_until, self._clock.now())  # nothing more plays

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        sounds_s = self._sounds_s(time_info)
        with self._lock:
            found = self._queue.take(outdata[:, 0], sounds_s)
            if found is not None and self._loop is None:  # one-shot use: no reference
                self._queue.move(found[1])
        if found is not None and self._loop is not None:
            # moved on the loop, where pieces are queued and the reference is kept: both
            # then move together
            with contextlib.suppress(RuntimeError):  # the loop closed before the stream
                self._loop.call_soon_threadsafe(self._moved, *found)

    def _sounds_s(self, time_info: Any) -> float | None:
        """The stream time at which this callback's first sample sounds, from PortAudio's
        reading of the device (None where it gives none). Its clock is the wall clock on
        Linux: the two clocks are read together, so a callback run late (waiting for the
        interpreter) is not read late."""
        dac_s, now_s = float(time_info.outputBufferDacTime), float(time_info.currentTime)
        if dac_s <= 0.0 or dac_s < now_s:
            return None
        wall, stream = time.time(), self._clock.now()
        return stream + dac_s - (wall if abs(now_s - wall) < 60.0 else now_s)

    def _moved(self, from_s: float, by_s: float) -> None:
        log.debug("playback from %.3f s sounds %+.3f s from when it was said to", from_s, by_s)
        with self._lock:
            self._queue.move(by_s)
        if self._busy_until > from_s:
            self._busy_until += by_s
        if self.on_moved is not None:
            self.on_moved(from_s, by_s)

    def play(self, audio: np.ndarray) -> float | None:
        # each piece whole (a sentence ends in silence): nothing of it is held back for
        # the next, which a barge-in might drop
        samples = resample(to_int16(audio), self.sample_rate_hz, self._device_hz)
        with contextlib.suppress(RuntimeError):  # one-shot use has no loop
            self._loop = asyncio.get_running_loop()
        now = self._clock.now()
        with self._lock:
            start = self._queue.push(samples, now + self._latency_s)
        if not _portaudio.acquire(blocking=False):
            self._drop("the sound system is being restarted: what was to be said is dropped")
            return None
        try:
            ready = self._running() or self._start()
        finally:
            _portaudio.release()
        if not ready:
            return None  # dropped: nothing plays, the loop goes on
        self._busy_until = max(self._busy_until, start) + len(samples) / self._device_hz
        self._schedule_idle_stop()
        return start

    def _running(self) -> bool:
        return (
            self._stream is not None
            and self._generation == _generation  # checked first: an old stream is dead
            and not self._stream.stopped
        )

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
            idle = self._queue.samples == 0
        now = self._clock.now()
        if not _portaudio.acquire(blocking=False):
            self._schedule_idle_stop()  # PortAudio is being restarted: look again later
            return
        try:
            if self._generation != _generation:  # its stream died with the old PortAudio
                if not idle:
                    self._drop("the sound system restarted: the rest of the reply is dropped")
                return  # the next play reopens it
            if idle and now >= self._busy_until + self.IDLE_STOP_S:
                self._stream.abort(ignore_errors=True)  # stop() would wait seconds on Pulse
            elif now >= self._busy_until + self.IDLE_STOP_S + STALL_S:
                # Long past its end and still queued: the device stopped taking audio
                # (gone while speaking). Drop the rest; the next reply reopens it.
                self._drop("the speaker stopped playing: the rest of the reply is dropped")
                with contextlib.suppress(Exception):
                    self._stream.abort(ignore_errors=True)
                self._generation = -1  # reopen on the next play
            else:
                self._schedule_idle_stop()
        finally:
            _portaudio.release()

    def busy_until(self) -> float:
        return self._busy_until

    def flush(self) -> float:
        """Stop now: what is queued here is dropped. A stream that started moments ago
        has also handed a whole buffer to the sound server (half a second on PulseAudio),
        which would play on after the user spoke: it is aborted, not drained. Later its
        buffer is small, and an abort (which can take half a second) would only hold the
        stop up."""
        with self._lock:
            self._queue.clear()
        now = self._clock.now()
        young = now - self._started_s < self.PREFILL_S
        if young and self._busy_until > now and _portaudio.acquire(blocking=False):
            try:
                if self._running():
                    self._stream.abort(ignore_errors=True)
                    self._busy_until = now
            finally:
                _portaudio.release()
        self._busy_until = min(self._busy_until, now + self._latency_s)
        return self._busy_until

    def drain(self) -> None:
        """Block until everything queued has been played out."""
        if not self._stream.stopped:
            self._stream.stop(ignore_errors=True)

    def close(self) -> None:
        if self._idle_check is not None:
            self._idle_check.cancel()
        if self._generation == _generation:  # else it died with the old PortAudio
            self._stream.close(ignore_errors=True)
