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
    """Speech began (enough voiced frames in a row)."""
    PAUSE = "pause"
    """A short silence inside speech: the turn may be over, worth transcribing already."""
    RESUME = "resume"
    """Speech again after a PAUSE: whatever was started on the pause is stale."""
    END = "end"
    """The trailing silence (or the length limit) ended the utterance."""


@dataclass
class Endpointer:
    """A pure state machine over frames: `process(is_speech)` returns an Event or None.

    Speech starts after `start_frames` voiced frames in a row. Inside speech,
    `pause_frames` unvoiced frames are a PAUSE (once), a voiced frame after it a
    RESUME, and `end_silence_frames` unvoiced frames, or `max_frames` in all, the END.
    """

    start_frames: int
    end_silence_frames: int
    max_frames: int
    pause_frames: int = 0
    """0: never report pauses."""
    in_speech: bool = False
    paused: bool = False
    voiced_run: int = 0
    silent_run: int = 0
    speech_frames: int = 0
    voiced_frames: int = 0

    @classmethod
    def from_settings(
        cls, vad: VadSettings, frame_ms: int, end_silence_ms: int | None = None
    ) -> Endpointer:
        """end_silence_ms: the silence that always ends an utterance (the settings' unless
        a judge decides earlier ends)."""
        end_frames = max(1, round((end_silence_ms or vad.end_silence_ms) / frame_ms))
        pause_frames = round(vad.pause_ms / frame_ms)
        return cls(
            start_frames=vad.start_frames,
            end_silence_frames=end_frames,
            max_frames=max(1, int(vad.max_utterance_s * 1000 / frame_ms)),
            pause_frames=pause_frames if 0 < pause_frames < end_frames else 0,
        )

    def process(self, is_speech: bool, confirmed: bool = False) -> Event | None:
        """One frame's word (confirmed: its voice was already weighed over several frames,
        as the double-talk detector does: speech starts with it)."""
        if not self.in_speech:
            self.voiced_run = self.voiced_run + 1 if is_speech else 0
            if is_speech and confirmed:
                self.voiced_run = max(self.voiced_run, self.start_frames)
            if self.voiced_run >= self.start_frames:
                self.in_speech = True
                self.paused = False
                self.speech_frames = self.voiced_frames = self.voiced_run
                self.silent_run = 0
                return Event.START
            return None
        self.speech_frames += 1
        event = None
        if is_speech:
            self.voiced_frames += 1
            self.silent_run = 0
            if self.paused:
                self.paused = False
                event = Event.RESUME
        else:
            self.silent_run += 1
            if self.silent_run == self.pause_frames:
                self.paused = True
                event = Event.PAUSE
        if self.silent_run >= self.end_silence_frames or self.speech_frames >= self.max_frames:
            self.in_speech = self.paused = False
            self.voiced_run = 0
            return Event.END
        return event

    def reset(self) -> None:
        self.in_speech = self.paused = False
        self.voiced_run = self.silent_run = self.speech_frames = self.voiced_frames = 0


@dataclass(frozen=True)
class Segment:
    """What the segmenter noticed at one frame."""

    event: Event
    at_s: float
    """Stream time at which it was decided (the end of the frame)."""
    utterance: Utterance | None = None
    """PAUSE: the speech so far; END: the whole utterance (None if too short to count)."""


class Segmenter:
    """Feeds frames through the endpointer and assembles the audio of each utterance.

    A pre-roll ring buffer keeps the frames before speech was confirmed, so the
    first syllable reaches the recogniser.
    """

    _TRAILING_KEEP_MS = 200

    def __init__(self, vad: VadSettings, frame_ms: int, end_silence_ms: int | None = None) -> None:
        self.frame_ms = frame_ms
        self.endpointer = Endpointer.from_settings(vad, frame_ms, end_silence_ms)
        self._min_voiced_frames = vad.min_speech_ms // frame_ms
        preroll_frames = vad.preroll_ms // frame_ms + vad.start_frames - 1
        self._preroll: collections.deque[np.ndarray] = collections.deque(maxlen=preroll_frames)
        self._frames: list[np.ndarray] = []
        self._speech_start_s = 0.0
        self._audio_start_s = 0.0
        self._last_voiced_end_s = 0.0
        self._trailing: list[np.ndarray] = []

    @property
    def in_speech(self) -> bool:
        return self.endpointer.in_speech

    def push(
        self, frame: np.ndarray, is_speech: bool, frame_start_s: float, confirmed: bool = False
    ) -> Segment | None:
        """Add one frame (int16) labelled by the VAD; return what it changed, if anything."""
        frame_s = len(frame) / SAMPLE_RATE_HZ
        frame_end_s = frame_start_s + frame_s
        event = self.endpointer.process(is_speech, confirmed)
        if event is Event.START:
            started_frames = self.endpointer.start_frames
            self._speech_start_s = frame_end_s - started_frames * frame_s
            self._frames = list(self._preroll) + [frame]
            self._audio_start_s = frame_start_s - len(self._preroll) * frame_s
            self._preroll.clear()
            self._trailing = []
            self._last_voiced_end_s = frame_end_s
            return Segment(Event.START, frame_end_s)
        if not self.endpointer.in_speech and event is not Event.END:
            self._preroll.append(frame)
            return None
        if is_speech:
            self._frames.extend(self._trailing)
            self._trailing = []
            self._frames.append(frame)
            self._last_voiced_end_s = frame_end_s
        else:
            self._trailing.append(frame)
        if event is Event.END:
            return Segment(Event.END, frame_end_s, self._finish(endpoint_s=frame_end_s))
        if event is Event.PAUSE:
            if not self.long_enough:
                return None
            return Segment(Event.PAUSE, frame_end_s, self._utterance(frame_end_s))
        if event is Event.RESUME:
            return Segment(Event.RESUME, frame_end_s)
        return None

    @property
    def quiet_ms(self) -> int:
        """How long the speaker has been quiet in the utterance in progress, before a pause
        as well (0: speaking, or no utterance)."""
        endpointer = self.endpointer
        return endpointer.silent_run * self.frame_ms if endpointer.in_speech else 0

    @property
    def silence_ms(self) -> int:
        """How long the speaker has been quiet in a pause of the utterance in progress
        (0: speaking, no utterance, or pauses are not reported)."""
        return self.quiet_ms if self.endpointer.paused else 0

    @property
    def speech_s(self) -> float:
        """How long the utterance in progress has gone on."""
        return self.endpointer.speech_frames * self.frame_ms / 1000 if self.in_speech else 0.0

    @property
    def long_enough(self) -> bool:
        """Whether the utterance in progress has min_speech_ms of voice: enough to be words
        (less is a click or a cough, never transcribed)."""
        return self.endpointer.voiced_frames >= self._min_voiced_frames

    @property
    def voice_ended_s(self) -> float:
        """When the latest voiced frame of the utterance in progress ended (stream time;
        an utterance's speech_end_s)."""
        return round(self._last_voiced_end_s, 4)

    @property
    def started_s(self) -> float:
        """When the utterance in progress started (stream time)."""
        return self._speech_start_s

    def heard_so_far(self) -> np.ndarray:
        """The utterance in progress with all its trailing silence (for the judge)."""
        return np.concatenate(self._frames + self._trailing)

    def keep_last(self, frames: int) -> None:
        """Start the utterance in progress `frames` frames back instead (its pre-roll was
        the assistant's voice, not the user's)."""
        if self.endpointer.in_speech and 0 < frames < len(self._frames):
            dropped = len(self._frames) - frames
            self._frames = self._frames[dropped:]
            self._audio_start_s += dropped * self.frame_ms / 1000
            self._speech_start_s = max(
                self._speech_start_s, self._last_voiced_end_s - frames * self.frame_ms / 1000
            )

    def flush(self, now_s: float) -> Utterance | None:
        """End the utterance in progress now (end of input, or an early end of turn)."""
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

    def _utterance(self, endpoint_s: float) -> Utterance:
        keep = self._TRAILING_KEEP_MS // self.frame_ms
        return Utterance(
            audio=np.concatenate(self._frames + self._trailing[:keep]),
            speech_start_s=round(self._speech_start_s, 4),
            speech_end_s=round(self._last_voiced_end_s, 4),
            endpoint_s=round(endpoint_s, 4),
            audio_start_s=round(self._audio_start_s, 4),
        )

    def _finish(self, endpoint_s: float) -> Utterance | None:
        enough = self.long_enough and self._frames
        utterance = self._utterance(endpoint_s) if enough else None
        self._frames, self._trailing = [], []
        return utterance
