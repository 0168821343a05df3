"""Whether an utterance is for the assistant: the wake phrase, follow-ups, push-to-talk.

With an acoustic wake word (voiced.listen.wake), nothing is heard before it: every utterance
transcribed was meant. With wake_source = "transcript" the wake phrase is matched on the
transcript, loosely, because Whisper spells a name as it likes ("Hey, Sam.", "Hey Psalm!",
"Okay Sam"): the first words are compared with each phrase by similarity, not equality.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from voiced.config import ActivationSettings
from voiced.text import normalize_words

SIMILAR = 0.75
"""How alike the first words must be to a wake phrase (difflib's ratio)."""


@dataclass(frozen=True)
class Admission:
    admitted: bool
    request: str = ""
    """What to answer, the wake phrase cut off ("" when the phrase came alone)."""
    woke: bool = False
    """The wake phrase was said."""


ANSWER_S = 8.0
"""A reply that asked something (Home Assistant's "which light?") is listened to for an
answer at least this long, even with follow-ups off (follow_up_s = 0)."""


def answer_window(follow_up_s: float, asked: bool) -> float:
    """How long after a reply the user may go on without the wake word."""
    return max(follow_up_s, ANSWER_S) if asked else follow_up_s


class Activation:
    def __init__(self, settings: ActivationSettings) -> None:
        self.by_transcript = settings.mode == "wake" and not settings.acoustic
        self.acoustic = settings.acoustic
        self.follow_up_s = settings.follow_up_s
        name = normalize_words(settings.spoken_name)
        phrases = [f"{lead} {name}" for lead in ("hey", "hi", "hello", "ok", "okay")]
        phrases += [name, *(normalize_words(p) for p in settings.wake_phrases)]
        if settings.acoustic:  # the wake word models' phrases ("hey jarvis")
            phrases += [w.replace("_", " ") for w in settings.wake_words]
        self.phrases = sorted({p for p in phrases if p}, key=lambda p: -len(p.split()))

    def wake_words(self, text: str) -> int:
        """How many of the transcript's first words are the wake phrase (0: none)."""
        said = normalize_words(text).split()
        best, best_ratio = 0, SIMILAR
        for phrase in self.phrases:
            n = len(phrase.split())
            for take in sorted({n - 1, n} - {0}):  # n - 1: "heysam", written as one word
                if take > len(said):
                    continue
                ratio = difflib.SequenceMatcher(None, " ".join(said[:take]), phrase).ratio()
                if ratio > best_ratio or (ratio == best_ratio and not best):
                    best, best_ratio = take, ratio
        return best

    def admit(
        self, text: str, started_s: float, replied_until_s: float | None, asked: bool = False
    ) -> Admission:
        """Decide on a finished utterance that started at started_s; replied_until_s is
        when the assistant last stopped speaking to the user (None: never); asked: that
        reply asked something (the answer needs no wake phrase, follow-ups or not)."""
        if not self.by_transcript:  # conversation, ptt, a wake word: what was heard is meant
            if self.acoustic and (n := self.wake_words(text)):
                # the wake word's breath reached the recogniser too ("Jarvis, what time...")
                return Admission(True, _after_words(text, n), woke=True)
            return Admission(True, text)
        n = self.wake_words(text)
        if n:
            return Admission(True, _after_words(text, n), woke=True)
        window_s = answer_window(self.follow_up_s, asked)
        if replied_until_s is not None and started_s <= replied_until_s + window_s:
            return Admission(True, text)
        return Admission(False)


def _after_words(text: str, n: int) -> str:
    """The text after its first n words, tidied: "Hey, Sam. What time is it?" ->
    "What time is it?"."""
    tokens = text.split()
    kept, seen = [], 0
    for token in tokens:
        if seen < n and normalize_words(token):
            seen += len(normalize_words(token).split())
            continue
        if seen >= n:
            kept.append(token)
    rest = re.sub(r"^[\s,.!?;:-]+", "", " ".join(kept))
    return rest[:1].upper() + rest[1:]
