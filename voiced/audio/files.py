"""Files standing in for the microphone and the speaker."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from voiced.audio import StreamClock, to_int16
from voiced.audio.echo import PlaybackReference
from voiced.errors import AudioFileError
from voiced.types import SAMPLE_RATE_HZ


class FileSource:
    """An audio file played into the loop at real-time pace, as a microphone would."""

    def __init__(self, audio: np.ndarray, frame_ms: int, clock: StreamClock) -> None:
        self.audio = to_int16(audio)
        self.frame_samples = SAMPLE_RATE_HZ * frame_ms // 1000
        self._clock = clock
        self._echo: tuple[PlaybackReference, float, float] | None = None

    def simulate_echo(self, playback: PlaybackReference, gain: float, delay_ms: float) -> None:
        """Mix what the assistant plays back into the input, as a room would."""
        self._echo = (playback, gain, delay_ms / 1000)

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE_HZ

    async def frames(self) -> AsyncIterator[tuple[np.ndarray, float]]:
        n = self.frame_samples
        for start in range(0, len(self.audio), n):
            frame = self.audio[start : start + n]
            if len(frame) < n:
                frame = np.pad(frame, (0, n - len(frame)))
            start_s = start / SAMPLE_RATE_HZ
            # A frame is "captured" once its last sample has been spoken.
            wait_s = start_s + n / SAMPLE_RATE_HZ - self._clock.now()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            if self._echo is not None:
                playback, gain, delay_s = self._echo
                echo = playback.read(start_s - delay_s, n).astype(np.float32) * gain
                frame = np.clip(frame + echo, -32768, 32767).astype(np.int16)
            yield frame, start_s

    def close(self) -> None:
        pass


class FileSink:
    """Writes what would be heard to a WAV file, time-aligned with the input stream.

    Output sample n is what would play at stream time n / rate; silence where
    nothing plays. Audio is written out once it has played (until then a barge-in may
    still cut it), so a long run does not hold its replies in memory; the file takes its
    name on close (a half-written file is never left in place).
    """

    def __init__(self, path: Path, sample_rate_hz: int, clock: StreamClock) -> None:
        self.path = path
        self.sample_rate_hz = sample_rate_hz
        self._clock = clock
        self._chunks: list[tuple[int, np.ndarray]] = []
        """Queued audio that has not played yet, in order: (first sample, audio)."""
        self._end = 0
        self._written = 0
        self.min_duration_s = 0.0
        self._tmp = path.with_name(f".{path.name}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # open for the whole run (closed in close()); fails now, not after the run
            self._wav = _open_wav(self._tmp, sample_rate_hz)
        except OSError as exc:
            raise AudioFileError(f"{path}: cannot write ({exc.strerror})") from None

    def play(self, audio: np.ndarray) -> float:
        now = round(self._clock.now() * self.sample_rate_hz)
        self._write_played(now)
        start = max(now, self._end)
        self._chunks.append((start, to_int16(audio)))
        self._end = start + len(audio)
        return start / self.sample_rate_hz

    def _write_played(self, until: int) -> None:
        """Write out the queued audio that has played by sample `until`."""
        while self._chunks and self._chunks[0][0] + len(self._chunks[0][1]) <= until:
            start, chunk = self._chunks.pop(0)
            self._write_at(start, chunk)

    def _write_at(self, start: int, chunk: np.ndarray) -> None:
        silence = np.zeros(max(0, start - self._written), dtype=np.int16)
        self._wav.writeframes(silence.tobytes() + chunk.tobytes())
        self._written = start + len(chunk)

    def busy_until(self) -> float:
        return self._end / self.sample_rate_hz

    def flush(self) -> float:
        now = round(self._clock.now() * self.sample_rate_hz)
        self._chunks = [(s, c[: max(0, now - s)]) for s, c in self._chunks if s < now]
        self._end = min(self._end, max(now, 0))
        return now / self.sample_rate_hz

    def close(self) -> None:
        try:
            for start, chunk in self._chunks:
                self._write_at(start, chunk)
            self._chunks = []
            total = max(self._end, round(self.min_duration_s * self.sample_rate_hz))
            self._write_at(total, np.zeros(0, dtype=np.int16))
            self._wav.close()
            self._tmp.replace(self.path)
        except OSError as exc:
            raise AudioFileError(f"{self.path}: cannot write ({exc.strerror})") from None


class BufferSink:
    """Collects reply audio back to back, for one-shot commands (`voiced respond`)."""

    def __init__(self, sample_rate_hz: int, clock: StreamClock) -> None:
        self.sample_rate_hz = sample_rate_hz
        self._clock = clock
        self.chunks: list[np.ndarray] = []

    def play(self, audio: np.ndarray) -> float:
        self.chunks.append(to_int16(audio))
        return self._clock.now()

    def busy_until(self) -> float:
        return 0.0

    def flush(self) -> float:
        return self._clock.now()

    def audio(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int16)

    def close(self) -> None:
        pass


def _open_wav(path: Path, sample_rate_hz: int) -> wave.Wave_write:
    """A mono 16-bit WAV open for writing."""
    wav = wave.open(str(path), "wb")  # noqa: SIM115 (the caller closes it)
    wav.setnchannels(1)
    wav.setsampwidth(2)
    wav.setframerate(sample_rate_hz)
    return wav


def write_wav(path: Path, audio: np.ndarray, sample_rate_hz: int) -> None:
    """Write mono int16 audio; a half-written file is never left in place."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with _open_wav(tmp, sample_rate_hz) as wav:
            wav.writeframes(to_int16(audio).tobytes())
        tmp.replace(path)
    except OSError as exc:
        raise AudioFileError(f"{path}: cannot write ({exc.strerror})") from None
