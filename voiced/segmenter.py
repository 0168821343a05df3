"""Endpointing: cutting utterances out of a stream of VAD-labelled frames. No I/O here."""

from __future__ import annotations

import collections
import enum
from dataclasses import dataclass

import numpy as np

from voiced.config import VadSettings
from voiced.types import SAMPLE_RATE_HZ, Utterance


class Event(enum.Enum):
    START = "start"
    END = "end"


@dataclass
class Endpointer:
    """A pure state machine over frames: `process(is_speech)` returns START, END or None.

    Speech starts after `start_frames` voiced frames in a row and ends after
    `end_silence_frames` unvoiced ones, or when it has lasted `max_frames`.
    """

    start_frames: int
    end_silence_frames: int
    max_frames: int
    in_speech: bool = False
    voiced_run: int = 0
    silent_run: int = 0
    speech_frames: int = 0
    voiced_frames: int = 0

    @classmethod
    def from_settings(cls, vad: VadSettings, frame_ms: int) -> Endpointer:
        return cls(
            start_frames=vad.start_frames,
            end_silence_frames=max(1, round(vad.end_silence_ms / frame_ms)),
            max_frames=max(1, int(vad.max_utterance_s * 1000 / frame_ms)),
        )

    def process(self, is_speech: bool) -> Event | None:
        if not self.in_speech:
            self.voiced_run = self.voiced_run + 1 if is_speech else 0
            if self.voiced_run >= self.start_frames:
                self.in_speech = True
                self.speech_frames = self.voiced_frames = self.voiced_run
                self.silent_run = 0
                return Event.START
            return None
        self.speech_frames += 1
        if is_speech:
            self.voiced_frames += 1
            self.silent_run = 0
        else:
            self.silent_run += 1
        if self.silent_run >= self.end_silence_frames or self.speech_frames >= self.max_frames:
            self.in_speech = False
            self.voiced_run = 0
            return Event.END
        return None

    def reset(self) -> None:
        self.in_speech = False
        self.voiced_run = self.silent_run = self.speech_frames = self.voiced_frames = 0


class Segmenter:
    """Feeds frames through the endpointer and assembles the audio of each utterance.

    A pre-roll ring buffer keeps the frames before speech was confirmed, so the
    first syllable reaches the recogniser.
    """

    _TRAILING_KEEP_MS = 200

    def __init__(self, vad: VadSettings, frame_ms: int) -> None:
        self.frame_ms = frame_ms
        self.endpointer = Endpointer.from_settings(vad, frame_ms)
        self._min_voiced_frames = vad.min_speech_ms // frame_ms
        preroll_frames = vad.preroll_ms // frame_ms + vad.start_frames - 1
        self._preroll: collections.deque[np.ndarray] = collections.deque(maxlen=preroll_frames)
        self._frames: list[np.ndarray] = []
        self._speech_start_s = 0.0
        self._last_voiced_end_s = 0.0
        self._trailing: list[np.ndarray] = []

    @property
    def in_speech(self) -> bool:
        return self.endpointer.in_speech

    def push(self, frame: np.ndarray, is_speech: bool, frame_start_s: float) -> Utterance | None:
        """Add one frame (int16) labelled by the VAD; return an utterance when one ends."""
        frame_s = len(frame) / SAMPLE_RATE_HZ
        event = self.endpointer.process(is_speech)
        if event is Event.START:
            started_frames = self.endpointer.start_frames
            self._speech_start_s = frame_start_s + frame_s - started_frames * frame_s
            self._frames = list(self._preroll) + [frame]
            self._preroll.clear()
            self._trailing = []
            self._last_voiced_end_s = frame_start_s + frame_s
            return None
        if self.endpointer.in_speech or event is Event.END:
            if is_speech:
                self._frames.extend(self._trailing)
                self._trailing = []
                self._frames.append(frame)
                self._last_voiced_end_s = frame_start_s + frame_s
            else:
                self._trailing.append(frame)
            if event is Event.END:
                return self._finish(endpoint_s=frame_start_s + frame_s)
            return None
        self._preroll.append(frame)
        return None

    def flush(self, now_s: float) -> Utterance | None:
        """End of input: close the utterance in progress, if any."""
        if not self.endpointer.in_speech:
            return None
        utterance = self._finish(endpoint_s=now_s)
        self.endpointer.reset()
        return utterance

    def reset(self) -> None:
        """Forget everything (used while the assistant itself is speaking)."""
        self.endpointer.reset()
        self._preroll.clear()
        self._frames = []
        self._trailing = []

    def _finish(self, endpoint_s: float) -> Utterance | None:
        keep = self._TRAILING_KEEP_MS // self.frame_ms
        frames = self._frames + self._trailing[:keep]
        voiced = self.endpointer.voiced_frames
        self._frames, self._trailing = [], []
        if voiced < self._min_voiced_frames or not frames:
            return None
        return Utterance(
            audio=np.concatenate(frames),
            speech_start_s=round(self._speech_start_s, 4),
            speech_end_s=round(self._last_voiced_end_s, 4),
            endpoint_s=round(endpoint_s, 4),
        )
