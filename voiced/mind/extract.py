"""What the user mentions in passing, read by the language model after the reply.

Every turn the patterns (`facts.statements`) read at once is also read by the model, off
the turn (see TurnRunner): it is asked for a few lasting facts about the user and the
people, pets, places, plans, health and work in their life, one per line as
`who|what|fact`, held to a grammar so that a 1.5B model cannot wander: `what` is one of a
few kinds, `fact` one sentence in the third person ("Their cat is called Pebble.").
What it writes is trusted only as far as it can be checked: a name it gives must have
been said, and most of the fact's words must be the user's. Relative times become
dates when the fact is written (`when.dated`). A kind that has one value at a time
(where they live, their job, a person's name) gets a key, so a new fact replaces the old
one: that is how corrections work.

Nothing is read from questions, hypotheticals ("if I ever get a horse"), or what someone
else said on the radio; the assistant's own words are never shown to it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from voiced.engines import Completer, Message, Reader, Reading
from voiced.mind.facts import PEOPLE, PEOPLE_WORDS, Statement, stem
from voiced.mind.when import MONTHS, WEEKDAYS, dated

log = logging.getLogger(__name__)

KINDS = (
    "name",
    "home",
    "job",
    "workplace",
    "birthday",
    "age",
    "health",
    "likes",
    "dislikes",
    "hobby",
    "plan",
    "other",
)
SINGLE = {
    "name": r"\b(?:called|name|named)\b",
    "home": r"\b(?:live|lives|living|moved|home|based)\b|\b(?:are|is) (?:now )?in\b",
    "job": r"\b(?:work|works|worked|working|job|is an?|are an?|as an?|was an?|were an?)\b",
    "workplace": r"\b(?:at|for)\b",
    "birthday": r"\bbirthday\b",
    "age": r"\d|\b(?:old|age|turn|turns|turned|aged)\b",
}
"""Kinds with one value at a time, and words a fact of that kind has (a fact the model
filed under a kind it does not fit replaces nothing)."""
GRAMMAR = (
    r"""
root ::= "none" | item | item "\n" item | item "\n" item "\n" item
item ::= who "|" what "|" fact
who ::= [a-z] [a-z' ]{0,23}
what ::= """
    + " | ".join(f'"{k}"' for k in KINDS)
    + r"""
fact ::= ("They " | "Their ") [^|\n.?!]{3,150} "."
"""
)
MAX_TOKENS = 96

INSTRUCTION = (
    "You keep notes about the person you talk with. Note every fact worth remembering in "
    "what they just said about themselves and the people, pets, places, work, plans, "
    "appointments, health and likes in their life, one per line as who|what|fact. who is "
    "'user' or the one it is about, as they call them (sister, husband, cat, boss). what is "
    "one of: "
    + ", ".join(KINDS)
    + ". fact is one short sentence in the third person, starting with They or Their, "
    "with every name, place, date, time and number they gave. Write none only when they "
    "state nothing about their life: a question, a request, small talk, something imagined "
    "or wished, or what someone else said on television or the radio."
)
EXAMPLES: list[tuple[str, str]] = [
    (
        "I've been doing pottery on Thursday nights since the spring, it's my little escape.",
        "user|hobby|They have been doing pottery on Thursday nights since the spring.",
    ),
    (
        "My niece Rosa is a vet in Bristol.",
        "niece|name|Their niece is called Rosa.\nniece|job|Their niece Rosa is a vet in Bristol.",
    ),
    ("Could you tell me how far away the moon is?", "none"),
    ("I'm diabetic, so no cake for me.", "user|health|They are diabetic."),
    (
        "Honestly, I'd take a cup of coffee over anything, but I can't do spicy food.",
        "user|likes|They love coffee.\nuser|dislikes|They can't eat spicy food.",
    ),
    (
        "The kids got a hamster a few days ago, she's called Clover.",
        "hamster|name|Their hamster is called Clover.\n"
        "user|other|Their kids got a hamster a few days ago.",
    ),
    (
        "I was born in Glasgow, but I've lived in Spain most of my life.",
        "user|other|They were born in Glasgow.\nuser|home|They have lived in Spain most of "
        "their life.",
    ),
    ("If I won the lottery I'd buy a boat called Freedom.", "none"),
    (
        "We're flying to Crete for a week in August, I can't wait.",
        "user|plan|They are flying to Crete for a week in August.",
    ),
    (
        "I'm off to Rome in the spring with my dad.",
        "user|plan|They are going to Rome in the spring with their father.",
    ),
    ("Marta left the bank last year, she teaches yoga now.", "marta|job|They teach yoga now."),
    (
        "My uncle is from Galway and speaks Irish.",
        "uncle|other|Their uncle is from Galway and speaks Irish.",
    ),
    (
        "My wife has a job interview on Thursday, she's a pharmacist.",
        "wife|plan|Their wife has a job interview on Thursday.\n"
        "wife|job|Their wife is a pharmacist.",
    ),
    (
        "No wait, I got that wrong, we actually live in Derby now.",
        "user|home|They live in Derby.",
    ),
]
_QUESTION = re.compile(r"\?\s*$")
_IMAGINED = re.compile(
    r"^(?:\w+,? )?(?:if|imagine|suppose|what if|i wonder|i wish|wouldn't it)\b"
    r"|\bif (?:i|we) (?:ever|had|were|was|could|won|get|got)\b"
    r"|\b(?:i'd|i would|we'd|we would) (?:love|like) to\b|\bsome ?day\b",
    re.I,
)
_ON_THE_AIR = re.compile(
    r"\b(?:on|in) (?:the )?(?:tv|telly|television|radio|news|film|movie|show|podcast|book)\b"
    r"|\b(?:presenter|newsreader|reporter|actor|announcer|character|somebody|someone)\b",
    re.I,
)
_REPORTED = re.compile(r"\b(?:said|says|told|tells|reckons|reported|announced|claimed)\b", re.I)
"""Someone else's words: "The weather presenter said his wife is called Maria." (but "the
only thing I watch on telly is snooker" is theirs)."""
_NEGATION = re.compile(
    r"\b(?:not|no|never|don't|doesn't|didn't|can't|cannot|won't|isn't|aren't)\b|n't\b", re.I
)
_NAMING = re.compile(
    rf"\b(?i:call|called|calls|named|name|name's)\b|\b(?i:my|our) (?:\w+ )?(?i:{PEOPLE}),? [A-Z]"
    r"|\b(?:Dr|Mr|Mrs|Ms|Miss)\b",
)
"""Words that give someone's name ("my best mate Connor"): without them, "my mother is from
Seville" does not name her Seville."""
_WORD = re.compile(r"[a-z0-9']+")
_SAME = {
    "mum": "mother",
    "mom": "mother",
    "mummy": "mother",
    "mam": "mother",
    "dad": "father",
    "daddy": "father",
    "grandma": "grandmother",
    "gran": "grandmother",
    "granny": "grandmother",
    "nan": "grandmother",
    "grandpa": "grandfather",
    "grandad": "grandfather",
    "granddad": "grandfather",
    "kids": "children",
    "kid": "child",
}
_FILLER = frozenset(
    """they their them theirs themselves is are was were be been being has have had do does
    did the a an of in on at to for and or but with as by from called named name user
    since about around now still very really just also who which that this it its
    weekend week month year years months weeks days day ago next last every must not never
    forget remember again should would could will can can't don't won't want need going
    get got""".split()  # noqa: SIM905
)
GROUNDED_SHARE = 0.5
"""More than this share of a fact's own words must be the user's."""


def worth_reading(utterance: str) -> bool:
    """Whether an utterance may state a fact: not a question, nothing imagined, not what
    someone else said on the air, and more than a word or two."""
    text = utterance.strip()
    return (
        len(_WORD.findall(text.lower())) >= 3
        and not _QUESTION.search(text)
        and not _IMAGINED.search(text)
        and not (_ON_THE_AIR.search(text) and _REPORTED.search(text))
    )


def prompt(utterance: str) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": INSTRUCTION}]
    for said, facts in EXAMPLES:
        messages += [{"role": "user", "content": said}, {"role": "assistant", "content": facts}]
    return [*messages, {"role": "user", "content": utterance.strip()}]


def _words(text: str) -> list[str]:
    return [_SAME.get(w, w) for w in _WORD.findall(text.lower().replace("’", "'"))]


def grounded(fact: str, utterance: str) -> bool:
    """Whether the fact holds only what was said: every name in it was said, and most of
    its own words were."""
    said = _words(utterance)
    stems = {stem(w) for w in said}
    for name in re.findall(r"(?<!^)(?<![.!?] )\b[A-Z][\w'-]+", fact):
        plain = name.lower().removesuffix("'s")
        if plain not in said and plain not in WEEKDAYS and plain not in MONTHS:
            return False
    for word in _words(fact):  # "Their niece Nadia" from "Nadia has been busy": who she is
        person = word.removesuffix("'s")  # to them must have been said too
        if person in PEOPLE_WORDS and not _mentioned(person, utterance):
            return False
    own = [
        w
        for w in _words(fact)
        if w not in _FILLER
        and not w.isdigit()
        and w not in WEEKDAYS
        and w not in MONTHS
        and len(w) > 2
    ]
    if not own:
        return False
    if _NEGATION.search(fact) and not _NEGATION.search(utterance.replace("’", "'")):
        return False  # "They don't like coffee." from "green tea is more my thing"
    return sum(stem(w) in stems for w in own) / len(own) > GROUNDED_SHARE


@dataclass(frozen=True)
class Line:
    who: str
    what: str
    fact: str


def lines(answer: str) -> list[Line]:
    """The model's lines (a line that is not `who|what|fact` is dropped)."""
    found = []
    for raw in answer.splitlines():
        parts = [p.strip() for p in raw.split("|")]
        if len(parts) != 3 or parts[1] not in KINDS or not parts[2]:
            continue
        who = re.sub(r"^(?:my|the|our) ", "", parts[0].lower())
        if who in ("user", "me", "i", "myself", "the user", "they", "them"):
            who = "user"
        found.append(Line(who, parts[1], parts[2]))
    return found


def key_of(line: Line) -> str:
    """The key of the value the fact gives, if its kind has one at a time ("" if not)."""
    pattern = SINGLE.get(line.what)
    if pattern is None or not re.search(pattern, line.fact, flags=re.I):
        return ""
    if line.who == "user":
        return line.what  # as the patterns key them: name, home, job, workplace, birthday
    who = _SAME.get(line.who, line.who)
    if line.what == "name" and (who in PEOPLE_WORDS or line.who in PEOPLE_WORDS):
        return f"person:{line.who}"
    return f"{who}:{line.what}"


_PLURAL_VERBS = {"are": "is", "were": "was", "have": "has", "do": "does", "don't": "doesn't"}


def about_whom(line: Line, said: str = "") -> str:
    """The fact, saying whom it is about: "They live in Toronto." about their brother is
    "Their brother lives in Toronto." (else it reads as the user's own home); about Sam,
    whom the user named (in said), "Sam lives in Toronto."."""
    fact = re.sub(rf"^They (?=(?:{PEOPLE})\b)", "Their ", line.fact)
    if line.who == "user" or " " in line.who:
        return fact
    if line.who in PEOPLE_WORDS or line.who in _SAME:
        whom = f"Their {line.who}"
    elif name := re.search(rf"\b{re.escape(line.who)}\b", said, flags=re.I):
        whom = name.group(0)  # "Sam", as the user said it
        if not whom[0].isupper():
            return fact
    else:
        return fact
    if fact.startswith("Their ") and not _mentioned(line.who, fact):
        # "Their birthday is in March." about their mother is her birthday, not theirs
        return f"{whom}'s {fact[len('Their ') :]}"
    if not fact.startswith("They "):
        return fact
    verb, _, rest = fact[len("They ") :].partition(" ")
    if verb in _PLURAL_VERBS:
        verb = _PLURAL_VERBS[verb]
    elif re.fullmatch(r"[a-z]+", verb) and not verb.endswith(("ed", "s", "ly")):
        verb = verb + ("es" if verb.endswith(("sh", "ch", "o", "x")) else "s")
    return f"{whom} {verb} {rest}".rstrip()


_PASSING = re.compile(r"\b(?:today|tonight|this (?:morning|afternoon|evening)|right now)\b", re.I)
"""What is true only today ("They are making soup tonight.") is not kept: a week of
"I'm making soup tonight" had kept six dated soups."""


def _mentioned(who: str, utterance: str) -> bool:
    """Whether the user spoke of this one (a word of theirs, or a name they said)."""
    plain = utterance.lower().replace("’", "'")
    said = {_SAME.get(w, w) for w in (w.removesuffix("'s") for w in _WORD.findall(plain))}
    return all(
        any(form in said for form in (word, word + "s", word.removesuffix("s")))
        for word in _words(who)
    )


def parse(answer: str, utterance: str, now: dt.datetime) -> list[Statement]:
    """The checked facts in the model's answer, dated; anything else is dropped (logged)."""
    found: list[Statement] = []
    for line in lines(answer):
        if len(line.fact.split()) > 30:
            log.debug("dropped %r: longer than a sentence", line.fact)
            continue
        if not grounded(line.fact, utterance):
            log.debug("dropped %r: not what the user said", line.fact)
            continue
        if _PASSING.search(line.fact):
            log.debug("dropped %r: true only today", line.fact)
            continue
        if line.what == "name" and not _NAMING.search(utterance):
            if _NAMING.search(line.fact):
                log.debug("dropped %r: nobody was named", line.fact)
                continue
            line = Line(line.who, "other", line.fact)  # "Their car is a red Fiat Panda."
        if line.who != "user" and not _mentioned(line.who, utterance):
            # "teacher" for "I teach piano": nobody else was spoken of, so it is the user's
            line = Line("user", line.what, line.fact)
        text = about_whom(line, utterance)
        statement = Statement(line.what, key_of(line), dated(text, now))
        if all(statement.text != f.text for f in found):
            found.append(statement)
    return found


class WholeReading:
    """A model that can only answer a prompt whole (a remote one): one step."""

    def __init__(self, model: Completer, messages: Sequence[Message], max_tokens: int):
        self._model = model
        self._messages = messages
        self._max_tokens = max_tokens
        self.text = ""

    def step(self) -> bool:
        self.text = self._model.complete(self._messages, self._max_tokens)
        return True


class FactReader:
    """Reads the facts in what the user said, through the model's own reading context
    (a Reader, in pieces) or, for a model that has none, a whole completion."""

    def __init__(self, model: Reader | Completer) -> None:
        self._model = model

    def reading(self, utterance: str) -> Reading:
        messages = prompt(utterance)
        if isinstance(self._model, Completer):
            return WholeReading(self._model, messages, MAX_TOKENS)
        return self._model.reading(messages, GRAMMAR, MAX_TOKENS)

    def facts(self, reading: Reading, utterance: str, now: dt.datetime) -> list[Statement]:
        log.debug("the model read %r as %r", utterance, reading.text)
        return parse(reading.text, utterance, now)

    def extract(self, utterance: str, now: dt.datetime | None = None) -> list[Statement]:
        """All at once (blocking): for tools and tests, not for the loop."""
        reading = self.reading(utterance)
        while not reading.step():
            pass
        return self.facts(reading, utterance, now or dt.datetime.now())
