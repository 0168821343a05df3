"""Conversions between units, worked out by Pint (length, weight, volume, temperature, area,
speed and time; metric and imperial): "how many centimetres are in two metres?", "convert 5
miles to kilometres", "what is 100 degrees Fahrenheit in Celsius?". A small model guessed
these ("There are 100 centimetres in one metre." to the first).

A pint, a quart, a gallon, a fluid ounce and a ton are not the same in Britain and America:
where the two differ, both are said.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import TYPE_CHECKING

from voiced.skills import Handler
from voiced.skills.numbers import read_numbers, spoken_number

if TYPE_CHECKING:
    import pint

_KINDS = {
    "[length]",
    "[mass]",
    "[length] ** 3",
    "[temperature]",
    "[length] ** 2",
    "[length] / [time]",
    "[time]",
}
"""What may be converted: a number of bytes or an angle is not asked for this way."""
_PHRASES = {
    "degrees celsius": "degC",
    "degrees centigrade": "degC",
    "degree celsius": "degC",
    "centigrade": "degC",
    "degrees fahrenheit": "degF",
    "degree fahrenheit": "degF",
    "degrees kelvin": "kelvin",
    "miles per hour": "mile / hour",
    "miles an hour": "mile / hour",
    "kilometres per hour": "kilometer / hour",
    "kilometers per hour": "kilometer / hour",
    "kilometres an hour": "kilometer / hour",
    "metres per second": "meter / second",
    "meters per second": "meter / second",
    "km per hour": "kilometer / hour",
    "light years": "light_year",
    "light year": "light_year",
    "nautical miles": "nautical_mile",
    "nautical mile": "nautical_mile",
    "fluid ounces": "fluid_ounce",
    "fluid ounce": "fluid_ounce",
}
_BOTH_WAYS = {
    "pint": ("imperial_pint", "pint"),
    "quart": ("imperial_quart", "quart"),
    "gallon": ("imperial_gallon", "gallon"),
    "fluid_ounce": ("imperial_fluid_ounce", "fluid_ounce"),
    "ton": ("long_ton", "short_ton"),
}
"""Units that are one size in Britain and another in America: (British, American)."""
_NOT_UNITS = {"a", "an", "the", "of", "in", "to", "is", "it", "that", "one", "my"}
_CALENDAR = re.compile(r"\b(?:years?|months?|decades?|centur(?:y|ies)|leap)\b")
"""A year and a month are the calendar's (a year is 365 or 366 days, not Pint's 365.25)."""

_NUMBER = r"(?:(?P<minus>minus |- )?(?P<n>#) |(?:a |an |one ))?"
_FORMS = [
    re.compile(
        r"^how many (?P<to>[a-z' ]+?) (?:are there |are |is |make up |make |go |fit )?"
        r"(?:in|into) " + _NUMBER + r"(?P<from>[a-z' ]+?)$"
    ),
    re.compile(r"^how many (?P<to>[a-z' ]+?) (?:is|are) " + _NUMBER + r"(?P<from>[a-z' ]+?)$"),
    re.compile(
        r"^(?:convert|change|turn) " + _NUMBER + r"(?P<from>[a-z' ]+?) (?:to|into|in) "
        r"(?P<to>[a-z' ]+?)$"
    ),
    re.compile(
        r"^(?:what is |what's |whats |how much is |how far is |how long is |how heavy is )?"
        + _NUMBER
        + r"(?P<from>[a-z' ]+?) in (?P<to>[a-z' ]+?)$"
    ),
]
_POLITE = re.compile(
    r"^(?:(?:hey|ok|okay|so|um|uh|please|can you tell me|could you tell me|tell me|"
    r"do you know|can you|could you) )*"
)
_TAIL = re.compile(r"(?: (?:please|exactly|roughly|approximately|about|then|again))+$")


@functools.cache
def registry() -> pint.UnitRegistry:
    """Pint's units (half a second to load: begun in the background at start-up)."""
    import pint

    return pint.UnitRegistry()


def warm() -> None:
    """Load the units in the background, so the first conversion does not wait for them."""
    threading.Thread(target=registry, name="voiced-units", daemon=True).start()


def _unit(said: str) -> list[tuple[str, str]]:
    """The unit a phrase names, as Pint calls it: one, or (British, American) where the two
    differ; none if it is not a unit that converts."""
    said = said.strip()
    if said in _NOT_UNITS or not said or _CALENDAR.search(said):
        return []
    name = _PHRASES.get(said)
    if name is None:
        if " " in said:
            first, _, rest = said.partition(" ")
            power = {"square": 2, "cubic": 3}.get(first)
            inner = _unit(rest) if power else []
            return [(f"({unit}) ** {power}", who) for unit, who in inner]
        name = said.replace("'", "")
    try:
        unit = registry().parse_units(name)
    except Exception:  # Pint raises several kinds for words that are not units
        return []
    if str(unit.dimensionality) not in _KINDS:
        return []
    plain = str(unit)
    if plain in _BOTH_WAYS:
        british, american = _BOTH_WAYS[plain]
        return [(british, "British"), (american, "American")]
    return [(plain, "")]


def _conversion(text: str) -> str | None:
    items = [i for i in read_numbers(text) if i not in ("?", ".", "!", ",")]
    numbers = [i for i in items if isinstance(i, float)]
    if len(numbers) > 1:
        return None
    said = " ".join("#" if isinstance(i, float) else str(i) for i in items)
    said = _TAIL.sub("", _POLITE.sub("", said))
    for form in _FORMS:
        found = form.match(said)
        if found is None:
            continue
        source, target = _unit(found["from"]), _unit(found["to"])
        if not source or not target:
            return None
        count = numbers[0] if found["n"] else 1.0
        if found["minus"]:
            count = -count
        return _said(count, found["n"] is not None, found["from"], found["to"], source, target)
    return None


def _said(
    count: float,
    counted: bool,
    source_words: str,
    target_words: str,
    source: list[tuple[str, str]],
    target: list[tuple[str, str]],
) -> str | None:
    units = registry()
    answers: list[tuple[str, float]] = []
    try:
        for source_unit, source_who in source:
            for target_unit, target_who in target:
                if source_who and target_who and source_who != target_who:
                    continue  # a British pint in British fluid ounces, not American ones
                value = units.Quantity(count, source_unit).to(target_unit).magnitude
                answers.append((source_who or target_who, float(value)))
    except Exception:  # Pint's DimensionalityError: not the same kind of thing
        return None
    if not answers:
        return None
    temperature = "deg" in source[0][0] or "kelvin" in source[0][0]
    places = 1 if temperature else 2
    source_words, target_words = _named(source_words), _named(target_words)
    if temperature and not target_words.startswith("degree") and target_words != "kelvin":
        target_words = f"degrees {target_words}"
    if counted:
        amount = f"{spoken_number(count)} {source_words}"
    else:
        amount = f"{'an' if source_words[0] in 'aeiou' or source_words == 'hour' else 'a'} "
        amount += source_words
    first = f"{spoken_number(answers[0][1], places)} {target_words}"
    if len({round(v, places) for _, v in answers}) == 1:
        return _capital(f"{amount} is {first}.")
    # "A pint is about 568.26 millilitres in Britain and about 473.18 in America."
    second = spoken_number(answers[1][1], places)
    return _capital(f"{amount} is {first} in Britain and {second} in America.")


def _named(words: str) -> str:
    """A unit's words as written: "degrees Celsius", "Fahrenheit"."""
    return re.sub(r"\b(celsius|fahrenheit|kelvin)\b", lambda m: m[1].capitalize(), words)


def _capital(sentence: str) -> str:
    return sentence[0].upper() + sentence[1:]


def match(text: str) -> Handler | None:
    answer = _conversion(text)
    if answer is None:
        return None
    return lambda ctx: answer
