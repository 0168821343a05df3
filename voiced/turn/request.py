"""What a turn carries: the request as it came in, and what became of it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from voiced.types import Transcript, TurnTimings

NO_AUDIO = np.zeros(0, dtype=np.int16)


class Origin(enum.Enum):
    """Where a request came from, which says how it is answered."""

    VOICE = "voice"
    """Heard through the microphone (or a file standing in for it): it must be addressed
    to the assistant (wake phrase, follow-up), and it is answered aloud."""
    TYPED = "typed"
    """Typed to the running assistant (`voiced ask --daemon`): meant for it, answered aloud."""
    TEXT = "text"
    """A text-only client (`voiced ask`, a Wyoming conversation): meant for it, answered in
    words that nobody hears, so nothing here can ring a timer when it is due."""
    WOKEN = "woken"
    """The wake word alone, no request after it: acknowledged aloud."""

    @property
    def addressed(self) -> bool:
        """Meant for the assistant whatever the activation mode."""
        return self is not Origin.VOICE

    @property
    def speaks(self) -> bool:
        return self is not Origin.TEXT


@dataclass(frozen=True)
class Request:
    """One thing the user said or typed, whole: any held-back words already joined."""

    text: str
    """Everything the user said for this turn, as heard (the wake phrase not yet cut)."""
    origin: Origin
    latest: str = ""
    """The newest words alone (a stop command is a stop whatever came before)."""
    audio: np.ndarray = field(default_factory=lambda: NO_AUDIO, repr=False)
    """The newest utterance's audio (how the user sounds), empty when typed."""
    started_s: float = 0.0
    """Stream time the user started saying it (a follow-up is one started soon enough)."""
    transcript: Transcript = field(default_factory=lambda: Transcript(""))
    """What speech recognition made of the newest words (why they were dropped, if so)."""

    @classmethod
    def heard(
        cls, transcript: Transcript, audio: np.ndarray, started_s: float, carried: str = ""
    ) -> Request:
        return cls(
            f"{carried} {transcript.text}".strip(),
            Origin.VOICE,
            transcript.text,
            audio,
            started_s,
            transcript,
        )

    @classmethod
    def woken(cls) -> Request:
        return cls("", Origin.WOKEN)

    @classmethod
    def typed(cls, text: str, origin: Origin = Origin.TYPED) -> Request:
        text = text.strip()
        return cls(text, origin, text, transcript=Transcript(text))


class Outcome(enum.Enum):
    """What the router decided for a request (and, after it, what became of the turn)."""

    IGNORED = "ignored"
    """Not addressed to the assistant (no wake phrase, outside the follow-up window)."""
    NOTHING = "dropped"
    """No words: noise, a cough, a filler."""
    STOP = "stop"
    """"Stop", "be quiet": the reply being spoken is over, and nothing new is said."""
    WAKE = "wake"
    """The wake phrase alone: acknowledged, the request comes next."""
    SKILL = "skill"
    """An exact answer from a skill (the clock, timers, the volume, what it cannot do)."""
    MEMORY = "memory"
    """An exact answer from the memory (what it knows of the user, forgetting)."""
    CARE = "care"
    """Someone who said they want to die or to hurt someone: a serious, kind reply that
    points to a person (never left to the model)."""
    GENERATE = "llm"
    """The language model writes the reply."""
    HOME = "home_assistant"
    """Home Assistant's conversation API: it did something in the house, or knew it."""
    HOME_DOWN = "home_unreachable"
    """A device command while Home Assistant cannot be reached: one clear sentence."""
    CANCEL = "cancel"
    """Cancelled from outside (`voiced cancel`, push-to-talk) while it was answering."""

    @property
    def exact(self) -> bool:
        """Answered with known words, no model needed (Home Assistant's, once asked)."""
        return self in (
            Outcome.WAKE,
            Outcome.SKILL,
            Outcome.MEMORY,
            Outcome.CARE,
            Outcome.HOME,
            Outcome.HOME_DOWN,
        )


@dataclass
class TurnResult:
    transcript: Transcript
    outcome: Outcome = Outcome.NOTHING
    reply: str = ""
    """What was actually said (cut where the user interrupted)."""
    interrupted: bool = False
    played: str = ""
    """The sentences that began to sound, whole (what its echo may say)."""
    request: str = ""
    """What was answered: the whole request, wake phrase cut off."""
    heard: str = ""
    """The whole request as heard (what a held-back turn carries into the next one)."""
    timings: TurnTimings = field(default_factory=TurnTimings)

    @property
    def answered_by(self) -> str | None:
        """What answered the turn when it was not the model (the turn line's and the
        event's "command"): "skill", "memory", "stop", "ignored" ...; None for the model."""
        return None if self.outcome is Outcome.GENERATE else self.outcome.value

    @property
    def by(self) -> str:
        """Who answered (the turn line's "by"): home_assistant, llm, or voiced itself."""
        return {Outcome.HOME: "home_assistant", Outcome.GENERATE: "llm"}.get(self.outcome, "voiced")

    @property
    def held_back(self) -> bool:
        """Cut off before a word was said: the user was still going (not a turn of its own)."""
        return self.interrupted and not self.reply and bool(self.request)


class StageError(RuntimeError):
    """A turn failed inside one engine: the apology, the log and the metrics name it."""

    stage = "turn"

    def __init__(self, cause: BaseException | str) -> None:
        text = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}"
        super().__init__(text)


class SttError(StageError):
    stage = "stt"


class LlmError(StageError):
    stage = "llm"


class TtsError(StageError):
    stage = "tts"
