"""Audio in and out: real devices through sounddevice, or files standing in for them.

Sources yield (frame, stream time) pairs of 16 kHz mono int16; sinks take int16
audio at their own rate and say at which stream time it starts to play. Both
share one StreamClock, so the output file can be time-aligned with the input.
Uses config and the leaves only.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

import numpy as np

SPEAKER_IDLE_S = 3.0
"""How long the speaker's stream runs on after its last sound. The pauses within a reply
(the model writing its next sentence) keep one stream, and so one delay from the speaker
to the microphone; a stream that has just started plays sooner than its latency says.
Idle longer, it is stopped: an idle output stream costs several percent of a core."""


class StreamClock:
    """Seconds since the stream started: the time axis of every turn timestamp."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def restart(self) -> None:
        """Make now the stream's time zero."""
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0


class AudioSource(Protocol):
    frame_samples: int

    def frames(self) -> AsyncIterator[tuple[np.ndarray, float]]:
        """Yield (int16 frame, stream time of its first sample) until the input ends."""
        ...

    def close(self) -> None: ...


class AudioSink(Protocol):
    sample_rate_hz: int

    def play(self, audio: np.ndarray) -> float | None:
        """Queue int16 audio behind whatever is playing; return the stream time it starts,
        or None when the device could not take it (gone, restarting): nothing plays."""
        ...

    def busy_until(self) -> float:
        """Stream time at which everything queued so far has been heard."""
        ...

    def flush(self) -> float:
        """Stop playing at once and drop what is queued; return when the sound stops."""
        ...

    def close(self) -> None: ...


class Resampler:
    """Streaming band-limited resampling (mono), continuous across chunks: FFmpeg's
    swresample through PyAV, which faster-whisper already brings. Content above the new
    Nyquist frequency is filtered out, not folded back (a 10 kHz tone at 48 kHz leaves
    about -60 dB at 16 kHz, where linear interpolation left a full-level 6 kHz alias).
    It holds back a few samples of filter delay: `flush` gives them at the end."""

    def __init__(self, from_hz: int, to_hz: int) -> None:
        self.from_hz = from_hz
        self.to_hz = to_hz
        self._resampler: Any = None
        self._format = ""

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """int16 in, int16 out; any float in, float32 out."""
        if self.from_hz == self.to_hz or not len(chunk):
            return chunk
        import av

        fmt = "s16" if chunk.dtype == np.int16 else "flt"
        if self._resampler is None:
            self._resampler = av.AudioResampler(format=fmt, layout="mono", rate=self.to_hz)
            self._format = fmt
        if fmt != self._format:
            raise ValueError(f"a resampler of {self._format} audio was given {chunk.dtype}")
        samples = chunk if fmt == "s16" else chunk.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format=fmt, layout="mono")
        frame.sample_rate = self.from_hz
        return self._gather(self._resampler.resample(frame), fmt)

    def flush(self) -> np.ndarray:
        """What the filter still holds, at the end of the stream (then it is spent)."""
        if self._resampler is None:
            return np.zeros(0, dtype=np.int16)
        resampler, self._resampler = self._resampler, None
        return self._gather(resampler.resample(None), self._format)

    @staticmethod
    def _gather(frames: list[Any], fmt: str) -> np.ndarray:
        dtype = np.int16 if fmt == "s16" else np.float32
        if not frames:
            return np.zeros(0, dtype=dtype)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(dtype)


def resample(audio: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """One whole piece of audio at another rate (its last samples included)."""
    if from_hz == to_hz or not len(audio):
        return audio
    resampler = Resampler(from_hz, to_hz)
    return np.concatenate([resampler.process(audio), resampler.flush()])


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] (or int16 already) as int16 samples."""
    if audio.dtype == np.int16:
        return audio
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


def open_audio(
    settings: Any,
    clock: StreamClock,
    input_audio: np.ndarray | None,
    output_file: Any,
    rate: int,
) -> tuple[AudioSource, AudioSink]:
    """What the loop (and the satellite) listens and speaks through: the configured
    microphone and speaker, or a recording played in at real time and a file written,
    time-aligned with it. The microphone is opened by its caller."""
    from voiced.audio.devices import MicrophoneSource, SpeakerSink
    from voiced.audio.files import FileSink, FileSource

    source: AudioSource
    if input_audio is not None:
        source = FileSource(input_audio, settings.audio.frame_ms, clock)
    else:
        source = MicrophoneSource(
            settings.audio.input_device, settings.audio.frame_ms, settings.audio.queue_frames, clock
        )
    sink: AudioSink
    if output_file:
        sink = FileSink(output_file, rate, clock)
        if isinstance(source, FileSource):
            sink.min_duration_s = source.duration_s
    else:
        sink = SpeakerSink(settings.audio.output_device, rate, clock)
    return source, sink
