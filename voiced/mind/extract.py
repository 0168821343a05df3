"""Facts the patterns miss, asked of the language model (`[memory] llm_facts`).

The model is shown a few examples and asked for `field: value` lines. What it answers is
trusted only as far as it can be checked: a known field, and a value made of words the
user actually said (a small model otherwise invents names and places). Off by default:
the 135M default model gets most of it wrong (see the README for the measured figures).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from voiced.engines import Message
from voiced.mind.facts import PEOPLE_WORDS, Statement, statement_of

log = logging.getLogger(__name__)

INSTRUCTION = (
    "Read what the user said and write the lasting facts it tells about the user, one per "
    "line, as 'field: value'. Fields: name, lives in, works as, works at, birthday, "
    "favourite THING, likes, dislikes, RELATION name (for example 'sister name'), remember. "
    "Use only the user's own words. If it tells nothing lasting about the user, write: none"
)
EXAMPLES: list[tuple[str, str]] = [
    ("I'm Tom, and these days I'm in Bristol.", "name: Tom\nlives in: Bristol"),
    ("What's the weather like tomorrow?", "none"),
    ("My daughter Emma starts school next week.", "daughter name: Emma"),
    ("Honestly nothing beats a good curry.", "likes: a good curry"),
]
_LINE = re.compile(r"^\s*[-*]?\s*([a-z][a-z ]*?)\s*:\s*(.+?)\s*$", re.I)
_WORD = re.compile(r"[\w']+")
_FILLER = {"the", "a", "an", "my", "to", "of", "in", "at", "on", "is", "and", "user", "user's"}


@runtime_checkable
class Completer(Protocol):
    def complete(self, messages: Sequence[Message], max_tokens: int) -> str:
        """The whole reply, greedily decoded; blocking."""
        ...


def prompt(utterance: str) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": INSTRUCTION}]
    for said, facts in EXAMPLES:
        messages += [{"role": "user", "content": said}, {"role": "assistant", "content": facts}]
    return [*messages, {"role": "user", "content": utterance}]


def grounded(value: str, utterance: str) -> bool:
    """Every word of the value that carries meaning was said by the user."""
    said = {w.lower() for w in _WORD.findall(utterance)}
    words = [w.lower() for w in _WORD.findall(value)]
    meaningful = [w for w in words if w not in _FILLER]
    return bool(meaningful) and all(w in said for w in meaningful)


def parse(answer: str, utterance: str) -> list[Statement]:
    """The checked facts in the model's answer; anything else is dropped."""
    found: list[Statement] = []
    for line in answer.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        field, value = match.group(1).lower(), match.group(2).strip().strip(".!?\"'")
        if not grounded(value, utterance):
            log.debug("dropped %r: not what the user said", line)
            continue
        statement = _statement(field, value)
        if statement is not None and statement not in found:
            found.append(statement)
    return found


def _statement(field: str, value: str) -> Statement | None:
    simple = {
        "name": "name",
        "lives in": "home",
        "works as": "job",
        "works at": "workplace",
        "birthday": "birthday",
        "remember": "note",
    }
    if field in simple:
        return statement_of(simple[field], [value])
    if field in ("likes", "dislikes"):
        return statement_of("preference", [field[:-1], value])
    if field.startswith(("favourite ", "favorite ")):
        return statement_of("favourite", [field.split(" ", 1)[1], value])
    if field.endswith(" name") and field[: -len(" name")] in PEOPLE_WORDS:
        return statement_of("person", [field[: -len(" name")], value])
    return None


class LlmExtractor:
    def __init__(self, model: Completer, max_tokens: int = 48) -> None:
        self._model = model
        self._max_tokens = max_tokens

    def extract(self, utterance: str) -> list[Statement]:
        answer = self._model.complete(prompt(utterance), self._max_tokens)
        log.debug("the model read %r as %r", utterance, answer)
        return parse(answer, utterance)
