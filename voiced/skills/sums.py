"""Sums, worked out exactly: the four operations, percentages, fractions ("half of", "a
third of", "two thirds of"), squares and square roots, from the words as Whisper writes them
("15% of 80", "fifteen percent of eighty", "2.5 + 3.75"). A small model guesses these
("fifteen percent of eighty" was "seventy-five"); what can be computed is computed.

Read by a small recursive-descent parser over the utterance's numbers and words (never
`eval`); exact with fractions, said back rounded as a person would. What it cannot read
whole goes to the model as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from voiced.skills import Handler
from voiced.skills.numbers import read_numbers, spoken_number

_LEADS: tuple[tuple[str, ...], ...] = (
    ("what", "is", "the", "answer", "to"),
    ("what", "is"),
    ("what's",),
    ("whats",),
    ("what", "are"),
    ("what", "does"),
    ("what", "do"),
    ("how", "much", "is"),
    ("how", "much", "are"),
    ("calculate",),
    ("compute",),
    ("work", "out"),
    ("solve",),
)
_POLITE = {"hey", "ok", "okay", "so", "um", "uh", "please", "and", "now", "quickly"}
_ASKING: tuple[tuple[str, ...], ...] = (
    ("can", "you", "tell", "me"),
    ("could", "you", "tell", "me"),
    ("tell", "me"),
    ("do", "you", "know"),
    ("can", "you"),
    ("could", "you"),
)
_TAILS: tuple[tuple[str, ...], ...] = (
    ("equal",),
    ("equals",),
    ("make",),
    ("makes",),
    ("come", "to"),
    ("please",),
    ("exactly",),
    ("in", "total"),
)
_PLUS = {"plus", "+"}
_MINUS = {"minus", "-", "less"}
_TIMES = {"times", "x", "×", "*", "multiplied"}
_DIVIDED = {"divided", "/", "÷", "over"}
_PERCENT = {"percent", "%", "per"}
_DENOMINATORS = {
    "half": 2,
    "halves": 2,
    "third": 3,
    "thirds": 3,
    "quarter": 4,
    "quarters": 4,
    "fourth": 4,
    "fourths": 4,
    "fifth": 5,
    "fifths": 5,
    "sixth": 6,
    "sixths": 6,
    "seventh": 7,
    "sevenths": 7,
    "eighth": 8,
    "eighths": 8,
    "ninth": 9,
    "ninths": 9,
    "tenth": 10,
    "tenths": 10,
    "hundredth": 100,
    "hundredths": 100,
    "thousandth": 1000,
    "thousandths": 1000,
}
MAX_EXPONENT = 64
"""Powers above this are not worked out: no sum a person asks for, and a huge one's digits
would hold up the loop."""


class _NotASum(Exception):
    """The words are not a sum this reads whole."""


class DivideByZero(Exception):
    pass


Item = float | str
Value = tuple[Fraction, str]
"""A part of the sum: its exact value, and how it is said."""


class _Reader:
    def __init__(self, items: Sequence[Item]) -> None:
        self.items = list(items)
        self.at = 0
        self.operations = 0

    def peek(self, ahead: int = 0) -> Item | None:
        i = self.at + ahead
        return self.items[i] if i < len(self.items) else None

    def word(self, ahead: int = 0) -> str:
        item = self.peek(ahead)
        return item if isinstance(item, str) else ""

    def take(self, *words: str) -> bool:
        """Take these words next, if they are next."""
        if all(self.word(k) == w for k, w in enumerate(words)):
            self.at += len(words)
            return True
        return False

    def number(self) -> Fraction:
        item = self.peek()
        if not isinstance(item, float):
            raise _NotASum
        self.at += 1
        return Fraction(repr(item))

    # sum := term (("plus" | "minus") term)*
    def sum(self) -> Value:
        value, said = self.term()
        while True:
            if self.word() in _PLUS:
                self.at += 1
                other, other_said = self.term()
                value, said = value + other, f"{said} plus {other_said}"
            elif self.word() in _MINUS or self.take("take", "away"):
                if self.word() in _MINUS:
                    self.at += 1
                other, other_said = self.term()
                value, said = value - other, f"{said} minus {other_said}"
            else:
                return value, said
            self.operations += 1

    # term := unary (("times" | "divided by") unary)*
    def term(self) -> Value:
        value, said = self.unary()
        while True:
            if self.word() in _TIMES:
                self.take(self.word())
                self.take("by")
                other, other_said = self.unary()
                value, said = value * other, f"{said} times {other_said}"
            elif self.word() in _DIVIDED:
                self.take(self.word())
                self.take("by")
                other, other_said = self.unary()
                if other == 0:
                    raise DivideByZero
                value, said = value / other, f"{said} divided by {other_said}"
            else:
                return value, said
            self.operations += 1

    # unary := "minus" unary | power
    def unary(self) -> Value:
        if self.word() in _MINUS or self.take("negative"):
            if self.word() in _MINUS:
                self.at += 1
            value, said = self.unary()
            return -value, f"minus {said}"
        return self.power()

    # power := part ("squared" | "cubed" | "to the power of" number)*
    def power(self) -> Value:
        value, said = self.part()
        while True:
            if self.take("squared"):
                exponent = 2
            elif self.take("cubed"):
                exponent = 3
            elif self.take("to", "the", "power", "of"):
                power = self.number()
                if power.denominator != 1 or abs(power) > MAX_EXPONENT:
                    raise _NotASum
                exponent = int(power)
            else:
                return value, said
            if value == 0 and exponent < 0:
                raise DivideByZero
            word = {2: "squared", 3: "cubed"}.get(exponent, f"to the power of {exponent}")
            value, said = value**exponent, f"{said} {word}"
            self.operations += 1

    # part := share "of" part | "the"? "square root of" part | share
    def part(self) -> Value:
        if self.take("the", "square", "root", "of") or self.take("square", "root", "of"):
            value, said = self.part()
            if value < 0:
                raise _NotASum
            root = math.isqrt(value.numerator) if value.denominator == 1 else -1
            exact = Fraction(root) if root >= 0 and root * root == value else None
            self.operations += 1
            return exact if exact is not None else Fraction(math.sqrt(value)), (
                f"the square root of {said}"
            )
        share, said, of_something = self.share()
        if self.take("of"):
            if not of_something:
                raise _NotASum  # "3 of 4"
            whole, whole_said = self.part()
            self.operations += 1
            return share * whole, f"{said} of {whole_said}"
        return share, said

    # share := number ["percent"] | number denominator | "a"? denominator | "half"
    def share(self) -> tuple[Fraction, str, bool]:
        """A number, and whether "of" may follow it (a share of something: "15 percent",
        "two thirds", "a quarter", "half")."""
        if self.word() in ("a", "an", "one") and self.word(1) in _DENOMINATORS:
            self.at += 1
        if self.word() in _DENOMINATORS:  # "half", "(a) third"
            denominator = _DENOMINATORS[self.word()]
            self.at += 1
            return Fraction(1, denominator), _share_said(1, self.items[self.at - 1]), True
        value = self.number()
        if self.word() in _PERCENT:
            self.at += 2 if self.word(1) == "cent" else 1
            return value / 100, f"{_said(value)} percent", True
        if self.word() in _DENOMINATORS and value.denominator == 1 and value > 0:
            denominator = _DENOMINATORS[self.word()]
            self.at += 1
            return value / denominator, _share_said(value, self.items[self.at - 1]), True
        return value, _said(value), value < 1  # "half of" is read above; "0.5 of" here


def _said(value: Fraction) -> str:
    return spoken_number(float(value), places=6)


def _share_said(count: Fraction | int, word: Item) -> str:
    if word in ("half", "halves"):
        return "half" if count == 1 else f"{_said(Fraction(count))} halves"
    return f"{'a' if count == 1 else _said(Fraction(count))} {word}"


def _strip(words: list[Item]) -> list[Item]:
    """The sum itself: the question's lead ("what is", "can you tell me") and tail ("equal")
    taken off, or nothing if there is no lead or command."""

    def starts(seq: tuple[str, ...]) -> bool:
        return tuple(words[: len(seq)]) == seq

    while words and words[0] in _POLITE:
        words = words[1:]
    for lead in _ASKING:
        if starts(lead):
            words = words[len(lead) :]
            if words[:1] == ["what"] and words[-1:] in (["is"], ["are"], ["makes"]):
                return words[1:-1]  # "can you tell me what 6 times 8 is"
            break
    led = False
    for lead in _LEADS:
        if starts(lead):
            words, led = words[len(lead) :], True
            break
    trimmed = True
    while trimmed and words:
        trimmed = False
        for tail in _TAILS:
            if tuple(words[-len(tail) :]) == tail:
                words, trimmed = words[: -len(tail)], True
    return words if led or _command(words) else []


def _command(words: list[Item]) -> bool:
    return bool(words) and words[0] in ("add", "subtract", "multiply", "divide")


def _commanded(words: list[Item]) -> list[Item] | None:
    """ "add 5 and 7", "subtract 5 from 12", "multiply 6 by 7", "divide 100 by 8": the same
    sum in the words the parser reads."""
    verb, rest = words[0], words[1:]
    joins = {"add": ("and", "to"), "subtract": ("from",), "multiply": ("by", "and")}
    joins["divide"] = ("by",)
    for join in joins.get(str(verb), ()):
        if join in rest:
            k = rest.index(join)
            left, right = rest[:k], rest[k + 1 :]
            if verb == "add":
                return [*left, "plus", *right]
            if verb == "subtract":
                return [*right, "minus", *left]
            if verb == "multiply":
                return [*left, "times", *right]
            return [*left, "divided", *right]
    return None


def _percentage(words: list[Item]) -> Value | None:
    """ "what percent of 80 is 12" (12 is 15 percent of 80)."""
    if tuple(words[:2]) not in (("percent", "of"), ("percentage", "of")) or "is" not in words:
        return None
    k = words.index("is")
    whole, part = _Reader(words[2:k]), _Reader(words[k + 1 :])
    whole_value, whole_said = whole.sum()
    part_value, part_said = part.sum()
    if whole.peek() is not None or part.peek() is not None or whole_value == 0:
        return None
    share = part_value / whole_value * 100
    return share, f"{part_said} is {_said(share)} percent of {whole_said}"


def read_sum(text: str) -> Value | None:
    """The value of a sum said whole, and how it is said back; None if it is not one.
    Raises DivideByZero for a sum that divides by nothing."""
    words = [w for w in read_numbers(text) if w not in ("?", ",", "=", "!", ".")]
    while words and words[0] in _POLITE:
        words = words[1:]
    if tuple(words[:2]) in (("what", "percent"), ("what", "percentage")):
        words = words[1:]  # "what percent of 80 is 12"
        try:
            found = _percentage(words)
        except _NotASum:
            return None
        return found
    words = _strip(words)
    if not words:
        return None
    if _command(words):
        commanded = _commanded(words)
        if commanded is None:
            return None
        words = commanded
    try:
        reader = _Reader(words)
        value, said = reader.sum()
    except _NotASum:
        return None
    if reader.peek() is not None or reader.operations == 0:
        return None
    return value, said


def match(text: str) -> Handler | None:
    try:
        found = read_sum(text)
    except DivideByZero:
        return lambda ctx: "You can't divide by zero: it has no answer."
    if found is None:
        return None
    value, said = found
    # a percentage asked for is said whole already
    sentence = f"{said}." if " is " in said else f"{said} is {spoken_number(float(value))}."
    sentence = sentence[0].upper() + sentence[1:]
    return lambda ctx: sentence
