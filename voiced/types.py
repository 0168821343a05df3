"""The data that flows through the pipeline, as small plain dataclasses."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

SAMPLE_RATE_HZ = 16_000
"""The rate of everything that flows from the microphone to speech recognition."""


@dataclass(frozen=True)
class Utterance:
    """One stretch of speech cut out by the segmenter (16 kHz mono int16)."""

    audio: np.ndarray
    speech_start_s: float
    """Stream time of the first voiced frame (the pre-roll starts a little earlier)."""
    speech_end_s: float
    """Stream time of the last voiced frame."""
    endpoint_s: float
    """Stream time at which the trailing silence decided the utterance was over."""
    audio_start_s: float | None = None
    """Stream time of the audio's first sample (None: not known)."""

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE_HZ


@dataclass(frozen=True)
class Transcript:
    text: str
    """Recognised words; empty when the audio held no speech worth answering."""
    no_speech_prob: float = 0.0
    dropped: str = ""
    """Why the recognised text was discarded ("noise", "filler", …), empty when kept."""


@dataclass
class TurnTimings:
    """Stream-time stamps (seconds) of one spoken turn, logged as one structured line."""

    speech_start_s: float | None = None
    speech_end_s: float | None = None
    endpoint_s: float | None = None
    transcript_s: float | None = None
    first_token_s: float | None = None
    first_sentence_s: float | None = None
    first_audio_s: float | None = None
    first_played_s: float | None = None
    reply_done_s: float | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, utterance: Utterance, ended: bool = True) -> TurnTimings:
        """The stamps an utterance already carries (its end point only if it has ended)."""
        return cls(
            speech_start_s=utterance.speech_start_s,
            speech_end_s=utterance.speech_end_s,
            endpoint_s=utterance.endpoint_s if ended else None,
        )

    def mark(self, name: str, value: float) -> None:
        """Set a stamp once; later calls keep the first value."""
        if getattr(self, name) is None:
            setattr(self, name, round(value, 4))

    @property
    def response_latency_s(self) -> float | None:
        """End of speech to the first sound of the reply."""
        if self.speech_end_s is None or self.first_played_s is None:
            return None
        return round(self.first_played_s - self.speech_end_s, 4)

    def as_dict(self) -> dict[str, object]:
        data = {k: v for k, v in asdict(self).items() if k != "extra"}
        data["response_latency_s"] = self.response_latency_s
        data.update(self.extra)
        return data

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=False)
