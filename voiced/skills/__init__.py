"""Skills: what people ask a voice assistant most, answered exactly and at once, before
(and instead of) the language model.

Each skill module offers `match(text) -> Handler | None`: a cheap look at the transcript
that decides, and a handler that does the work (set a timer, change the volume) and
returns what to say. The pipeline runs the handler only once the user's turn has really
ended, so a pause in "set a timer for five ... minutes" sets nothing early.
alarms.py keeps the timers and reminders; numbers.py reads and says numbers, times and
durations; sums, units and dates answer what has one right answer. Uses only the leaves
(and Pint, for units).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from voiced.skills.alarms import Alarms
from voiced.text import normalize_words


class Device(Protocol):
    """What skills may change about the assistant itself."""

    def change_volume(self, step: float) -> float:
        """Louder (step > 0) or quieter; returns the new volume (1.0 as configured)."""
        ...

    def mute_microphone(self) -> None: ...


@dataclass
class Context:
    now: datetime
    """Local wall time."""
    alarms: Alarms
    last_reply: str
    device: Device


Handler = Callable[[Context], str]
Matcher = Callable[[str], Handler | None]


def needs_ringer(handler: Handler) -> bool:
    """Whether the handler works only where a due timer can be said aloud (timers,
    reminders): a process that cannot hands it to the running daemon, or declines."""
    return bool(getattr(handler, "needs_ringer", False))


_POLITE = (
    r"(?:(?:hey|hi|ok|okay|so|um|uh|er|and|please|now|can you|could you|would you|will you"
    r"|can you please|could you please|tell me|do you know|i want to know|i'd like to know)\s+)*"
)
_TAIL = r"(?:\s+(?:please|now|right now|again|for me|thanks|thank you))*"


def whole(*forms: str) -> re.Pattern[str]:
    """A pattern for an utterance that is one of these forms (normalized words), with
    politeness around it allowed but nothing else."""
    return re.compile("^" + _POLITE + "(?:" + "|".join(forms) + ")" + _TAIL + "$")


def words(text: str) -> str:
    return normalize_words(text)


class Skills:
    def __init__(self, matchers: Sequence[Matcher]) -> None:
        self._matchers = list(matchers)

    def match(self, text: str) -> Handler | None:
        """The handler of the first skill that recognises the utterance, if any."""
        for matcher in self._matchers:
            handler = matcher(text)
            if handler is not None:
                return handler
        return None


def default_skills() -> Skills:
    from voiced.skills import assistant, cannot, clock, dates, sums, timers, units

    units.warm()
    # the calendar before units (a year is 365 or 366 days, not 365.25); what it cannot do
    # comes last: "turn the volume up" is the assistant's own
    matchers = [timers.match, clock.match, dates.match, sums.match, units.match]
    return Skills([*matchers, assistant.match, cannot.match])
