"""Numbers, durations and times of day in transcribed speech, and how to say them back.

Whisper writes numbers as words or digits ("five minutes", "5 min", "at 6 p.m.", "10:30",
"half past six"), with punctuation and capitals anywhere. Everything here works on a list of
tokens that keep their place in the original text, so every match comes with a span the caller
can cut out.

Rule for an hour without AM/PM (1-12):
  - plain ("at six"): whichever of 6:00 and 18:00 comes next at or after `now`;
  - with "tomorrow": the daytime reading, the one between 07:00 and 18:59
    (7-11 are AM, 12 is noon, 1-6 are PM; "quarter to seven" is 18:45);
  - with "tonight" / "at night": 5-11 are PM, 12 is midnight, 1-4 are AM after midnight;
  - "in the morning" AM, "in the afternoon" / "in the evening" PM.
"tomorrow" counts when it is next to the time ("tomorrow at nine", "at nine tomorrow", in the
span) or anywhere before it ("remind me tomorrow to call at six", not in the span); a
"tomorrow" after the time and not next to it ("at six to pack for tomorrow") does not count.
"tomorrow at midnight" is the midnight at the end of tomorrow.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from voiced.text import normalize_words


@dataclass(frozen=True)
class Found:
    """A match: its value and its span in the original text."""

    value: float
    start: int
    end: int


class _Tok(NamedTuple):
    kind: str  # "num", "word" (am/pm included) or "other" (one punctuation character)
    text: str  # lower case; "a.m." is "am"
    start: int
    end: int


_TOKEN_RE = re.compile(
    r"(?P<num>\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:[.:]\d+)?)"
    r"|(?P<mer>[ap]\.\s?m(?![a-z])\.?)"
    r"|(?P<word>[a-z]+(?:['’][a-z]+)*)"
    r"|(?P<other>\S)",
    re.IGNORECASE,
)

SMALL_NUMBERS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_UNITS = {
    "second": 1,
    "seconds": 1,
    "sec": 1,
    "secs": 1,
    "minute": 60,
    "minutes": 60,
    "min": 60,
    "mins": 60,
    "hour": 3600,
    "hours": 3600,
    "hr": 3600,
    "hrs": 3600,
    "day": 86400,
    "days": 86400,
}
# "a second timer" is the ordinal, not one second.
_ORDINAL_SECOND = {"timer", "alarm", "reminder", "one", "time", "thing", "question", "list"}
_NAMED = {"noon": 12, "midday": 12, "midnight": 0}
_MERIDIEM = {"am", "pm"}
_OCLOCK = {"o'clock", "oclock"}
_PERIODS = {"morning": "am", "afternoon": "pm", "evening": "pm", "night": "night"}
_PAST = {"past", "after"}
_TO = {"to", "till", "til", "before"}
# After these a number is not a time: "at one point", "at 5 percent", "at 2 of them".
_NOT_TIME = {"-", "%", "percent", "per", "point", "of", "times", "degrees"} | set(_UNITS)


def _tokens(text: str) -> list[_Tok]:
    toks = []
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup or "other"
        word = m.group().lower().replace("’", "'")
        if kind == "mer":
            kind, word = "word", word[0] + "m"
        toks.append(_Tok(kind, word, m.start(), m.end()))
    return toks


def _w(toks: list[_Tok], i: int) -> str:
    return toks[i].text if 0 <= i < len(toks) else ""


# ---------------------------------------------------------------- numbers


def _below_100(toks: list[_Tok], i: int) -> tuple[int, int] | None:
    w = _w(toks, i)
    if w in _TENS:
        k = i + 2 if _w(toks, i + 1) == "-" else i + 1
        unit = SMALL_NUMBERS.get(_w(toks, k))
        if unit is not None and 1 <= unit <= 9:
            return _TENS[w] + unit, k + 1
        return _TENS[w], i + 1
    if w in SMALL_NUMBERS:
        return SMALL_NUMBERS[w], i + 1
    return None


def _below_1000(toks: list[_Tok], i: int) -> tuple[int, int] | None:
    if _w(toks, i) in ("a", "an") and _w(toks, i + 1) == "hundred":
        value, j = 1, i + 1
    else:
        first = _below_100(toks, i)
        if first is None:
            return None
        value, j = first
    if _w(toks, j) == "hundred" and value > 0:
        value, j = value * 100, j + 1
        k = j + 1 if _w(toks, j) == "and" else j
        rest = _below_100(toks, k)
        if rest is not None and rest[0] > 0:
            value, j = value + rest[0], rest[1]
    return value, j


def _int_at(toks: list[_Tok], i: int) -> tuple[int, int] | None:
    """A whole number in digits or in words (up to the thousands)."""
    if i < len(toks) and toks[i].kind == "num":
        digits = toks[i].text.replace(",", "")
        return (int(digits), i + 1) if digits.isdigit() else None
    if _w(toks, i) in ("a", "an") and _w(toks, i + 1) == "thousand":
        value, j = 1000, i + 2
    else:
        first = _below_1000(toks, i)
        if first is None:
            return None
        value, j = first
        if _w(toks, j) != "thousand" or value == 0:
            return value, j
        value, j = value * 1000, j + 1
    k = j + 1 if _w(toks, j) == "and" else j
    rest = _below_1000(toks, k)
    if rest is not None and rest[0] > 0:
        value, j = value + rest[0], rest[1]
    return value, j


def _fraction(toks: list[_Tok], i: int) -> tuple[float, int] | None:
    """ "a half", "half", "a quarter", "three quarters" (after "and")."""
    w = _w(toks, i)
    if w == "half":
        return 0.5, i + 1
    if w in ("a", "an", "one") and _w(toks, i + 1) == "half":
        return 0.5, i + 2
    if w in ("a", "one") and _w(toks, i + 1) == "quarter":
        return 0.25, i + 2
    if w in ("three", "3") and _w(toks, i + 1) == "quarters":
        return 0.75, i + 2
    return None


def _and_fraction(toks: list[_Tok], i: int) -> tuple[float, int] | None:
    """ "and a half", "and a quarter", "and three quarters"."""
    return _fraction(toks, i + 1) if _w(toks, i) == "and" else None


def _number_at(toks: list[_Tok], i: int) -> tuple[float, int] | None:
    """The number starting at token i and the index just after it."""
    w, after = _w(toks, i), _w(toks, i + 1)
    if w == "half" and after in ("a", "an") and _w(toks, i + 2) == "dozen":
        return 6.0, i + 3
    if w == "quarter":
        return 0.25, i + 1
    fraction = _fraction(toks, i)
    if fraction is not None:
        return fraction
    j = i + 1 if w == "a" else i
    if _w(toks, j) == "couple":
        j += 1
        return 2.0, j + 1 if _w(toks, j) == "of" else j
    if w in ("a", "one") and after == "dozen":
        return 12.0, i + 2
    if i < len(toks) and toks[i].kind == "num" and "." in toks[i].text:
        return float(toks[i].text), i + 1
    whole = _int_at(toks, i)
    if whole is not None:
        value, j = whole
        if _w(toks, j) == "quarters":
            return value / 4, j + 1
        if _w(toks, j) == "dozen":
            return value * 12.0, j + 1
        extra = _and_fraction(toks, j)
        if extra is not None:
            return value + extra[0], extra[1]
        return float(value), j
    if w in ("a", "an"):
        return 1.0, i + 1
    return None


_WORD_VALUES = {**SMALL_NUMBERS, **_TENS}


def comparable_words(text: str) -> list[str]:
    """The words of a text with every number as its value, split as it is spoken
    ("It's 3:04" and "it's three four" both give it's 3 4; 24 and twenty four give 20 4):
    how what was heard is compared with what was said."""
    out: list[str] = []
    for word in normalize_words(text).split():
        if word in _WORD_VALUES:
            out.append(str(_WORD_VALUES[word]))
        elif word.isdigit() and int(word) < 100:
            value = int(word)
            parts = [value] if value < 20 or value % 10 == 0 else [value - value % 10, value % 10]
            out += [str(x) for x in parts]
        elif word.isdigit():
            out += list(word)
        else:
            out.append(word)
    return out


def parse_number(words: str) -> float | None:
    """The number a whole string says ("twenty-five", "2.5", "a couple of"), else None."""
    toks = _tokens(words.strip().rstrip(".,!?;:"))
    found = _number_at(toks, 0)
    if found is None or found[1] != len(toks):
        return None
    return found[0]


def read_numbers(text: str) -> list[float | str]:
    """The words and signs of a text, each number (in digits or words, "2.5", "1,200",
    "twenty-five", "three quarters") as its value: what sums and conversions read. A lone
    "a" stays a word ("a third", "a mile")."""
    toks = _tokens(text.replace("−", "-"))
    out: list[float | str] = []
    i = 0
    while i < len(toks):
        found = _number_at(toks, i)
        if _fraction(toks, i) is not None or _w(toks, i) == "quarter":
            found = None  # "half", "a quarter", "three quarters": a share, read word by word
            count = SMALL_NUMBERS.get(_w(toks, i))
            if count is not None or toks[i].kind == "num":
                out.append(float(count if count is not None else toks[i].text))
                i += 1
                continue
        lone_a = _w(toks, i) in ("a", "an") and found is not None and found[1] == i + 1
        if found is None or lone_a or ":" in toks[i].text:  # ("3:04" is a time of day)
            out.append(toks[i].text)
            i += 1
        else:
            value, i = found
            j = i + 1 if _w(toks, i) == "point" else i  # "twelve point five"
            while j > i and _w(toks, j) in _DIGIT_WORDS:
                j += 1
            if j > i + 1 and value == int(value):
                decimals = "".join(_DIGIT_WORDS[_w(toks, k)] for k in range(i + 1, j))
                value, i = float(f"{int(value)}.{decimals}"), j
            out.append(value)
    return out


_DIGIT_WORDS = {**{w: str(n) for w, n in SMALL_NUMBERS.items() if n < 10}, "oh": "0"}
_DIGIT_WORDS.update({str(n): str(n) for n in range(10)})


# ---------------------------------------------------------------- durations


class _Part(NamedTuple):
    seconds: float
    unit: int
    end: int


def _duration_part(toks: list[_Tok], i: int) -> _Part | None:
    """ "five minutes", "10-minute", "half an hour", "a quarter of an hour"."""
    number = _number_at(toks, i)
    if number is None:
        return None
    value, j = number
    if _w(toks, j) == "-":
        j += 1
    elif value < 1:
        if _w(toks, j) == "of":
            j += 1
        if _w(toks, j) in ("a", "an"):
            j += 1
    unit = _UNITS.get(_w(toks, j))
    if unit is None:
        return None
    if unit == 1 and j == i + 1 and _w(toks, i) == "a" and _w(toks, j + 1) in _ORDINAL_SECOND:
        return None
    return _Part(value * unit, unit, j + 1)


def _duration_at(toks: list[_Tok], i: int) -> tuple[float, int] | None:
    part = _duration_part(toks, i)
    if part is None:
        return None
    total, unit, end = part
    while True:
        extra = _and_fraction(toks, end)
        if extra is not None and _w(toks, extra[1]) not in _UNITS:
            total, end = total + extra[0] * unit, extra[1]
        k = end + 1 if _w(toks, end) == "," else end
        k = k + 1 if _w(toks, k) == "and" else k
        following = _duration_part(toks, k)
        if following is None or following.unit >= unit:
            return total, end
        total, unit, end = total + following.seconds, following.unit, following.end


def find_duration(text: str) -> Found | None:
    """The first duration in `text`, in seconds, with the span of the whole phrase."""
    toks = _tokens(text)
    for i in range(len(toks)):
        found = _duration_at(toks, i)
        if found is not None:
            return Found(float(found[0]), toks[i].start, toks[found[1] - 1].end)
    return None


# ---------------------------------------------------------------- times of day


@dataclass(frozen=True)
class _Core:
    hour: int  # 0-23; 1-12 is ambiguous unless `fixed`
    delta: int  # minutes after the hour (negative for "quarter to")
    fixed: bool
    strong: bool  # a time even without "at"
    end: int
    named: str = ""  # "noon", "midnight"


def _hour_at(toks: list[_Tok], i: int) -> tuple[int, int, bool] | None:
    """An hour: digits 0-23 or a word one-twelve; (hour, next index, written as a word)."""
    if i < len(toks) and toks[i].kind == "num":
        text = toks[i].text
        if text.isdigit() and len(text) <= 2 and int(text) <= 23:
            return int(text), i + 1, False
        return None
    value = SMALL_NUMBERS.get(_w(toks, i))
    if value is not None and 1 <= value <= 12:
        return value, i + 1, True
    return None


def _minute_at(toks: list[_Tok], i: int, digits: bool) -> tuple[int, int] | None:
    """The minutes after an hour: "thirty", "forty-five", "oh five", "30" (after a digit hour)."""
    w = _w(toks, i)
    if w in ("oh", "o"):
        value = SMALL_NUMBERS.get(_w(toks, i + 1))
        return (value, i + 2) if value is not None and 1 <= value <= 9 else None
    if digits:
        if i < len(toks) and toks[i].kind == "num" and len(w) == 2 and w.isdigit():
            return (int(w), i + 1) if int(w) <= 59 else None
        return None
    found = _below_100(toks, i)
    if found is not None and 10 <= found[0] <= 59:
        return found
    return None


def _relative(toks: list[_Tok], i: int) -> _Core | None:
    """ "half past six", "quarter to 7", "twenty minutes past nine", "ten to midnight"."""
    if _w(toks, i - 1) in ("from", "between"):
        return None
    w = _w(toks, i)
    if w in ("half", "quarter"):
        minutes, j = (30 if w == "half" else 15), i + 1
    elif w == "a" and _w(toks, i + 1) == "quarter":
        minutes, j = 15, i + 2
    else:
        found = _int_at(toks, i)
        if found is None or not 1 <= found[0] <= 59:
            return None
        minutes, j = found
        if _w(toks, j) in ("minute", "minutes", "min", "mins"):
            j += 1
    link = _w(toks, j)
    if link in _PAST:
        sign = 1
    elif link in _TO and w != "half":
        sign = -1
    else:
        return None
    name = _w(toks, j + 1)
    if name in _NAMED:
        return _Core(_NAMED[name], sign * minutes, True, True, j + 2, name)
    hour = _hour_at(toks, j + 1)
    if hour is None or _w(toks, hour[1]) in _NOT_TIME:
        return None
    return _Core(hour[0], sign * minutes, not 1 <= hour[0] <= 12, True, hour[1])


def _core(toks: list[_Tok], i: int) -> _Core | None:
    """A time of day without its "at", AM/PM or day words."""
    if i >= len(toks):
        return None
    w = toks[i].text
    if w in _NAMED:
        return _Core(_NAMED[w], 0, True, True, i + 1, w)
    relative = _relative(toks, i)
    if relative is not None:
        return relative
    if toks[i].kind == "num" and (":" in w or "." in w):
        hour_text, minute_text = re.split(r"[:.]", w)
        hour, minute = int(hour_text), int(minute_text)
        if len(hour_text) > 2 or len(minute_text) != 2 or hour > 23 or minute > 59:
            return None
        return _Core(hour, minute, not 1 <= hour <= 12, ":" in w, i + 1)
    if w == "half":  # British "half six"
        hour_found = _hour_at(toks, i + 1)
        if hour_found is None or not 1 <= hour_found[0] <= 12:
            return None
        if _w(toks, hour_found[1]) in _NOT_TIME:
            return None
        return _Core(hour_found[0], 30, False, False, hour_found[1])
    hour_found = _hour_at(toks, i)
    if hour_found is None:
        return None
    hour, j, word = hour_found
    fixed = not 1 <= hour <= 12
    if hour == 12 and _w(toks, j) in _NAMED:  # "12 noon", "twelve midnight"
        name = _w(toks, j)
        return _Core(_NAMED[name], 0, True, True, j + 1, name)
    after = _minute_at(toks, j, digits=not word)
    if after is not None and _w(toks, after[1]) not in _NOT_TIME:
        return _Core(hour, after[0], fixed, word, after[1])
    if _w(toks, j) in _NOT_TIME:
        return None
    if _w(toks, j) in _OCLOCK:
        return _Core(hour, 0, fixed, True, j + 1)
    return _Core(hour, 0, fixed, False, j)


def _period_at(toks: list[_Tok], i: int) -> tuple[str, int] | None:
    """ "in the morning", "this evening", "at night" -> ("am" | "pm" | "night", next index)."""
    w = _w(toks, i)
    if w == "in" and _w(toks, i + 1) == "the" and _w(toks, i + 2) in _PERIODS:
        return _PERIODS[_w(toks, i + 2)], i + 3
    if w == "this" and _w(toks, i + 1) in _PERIODS:
        return _PERIODS[_w(toks, i + 1)], i + 2
    if w == "at" and _w(toks, i + 1) == "night":
        return "night", i + 2
    return None


def _day_at(toks: list[_Tok], i: int) -> tuple[str, str, int] | None:
    """ "tomorrow", "tomorrow morning", "today", "tonight" -> (day, period or "", next index)."""
    w = _w(toks, i)
    if w == "tonight":
        return "tonight", "night", i + 1
    if w in ("tomorrow", "today"):
        after = _w(toks, i + 1)
        if after in _PERIODS:
            return w, _PERIODS[after], i + 2
        return w, "", i + 1
    return None


def _apply_period(hour: int, period: str) -> int:
    """An hour 1-12 read in the morning ("am"), afternoon/evening ("pm") or at night."""
    if period == "am":
        return hour % 12
    if period == "pm":
        return hour % 12 + 12
    if hour == 12:
        return 0
    return hour + 12 if hour >= 5 else hour


def _next_at(now: datetime, minute_of_day: int) -> datetime:
    """The first datetime at or after `now` at that minute of the day."""
    when = now.replace(hour=minute_of_day // 60, minute=minute_of_day % 60, second=0, microsecond=0)
    return when if when >= now else when + timedelta(days=1)


def _clock_at(
    toks: list[_Tok], i: int, now: datetime, tomorrow_before: bool
) -> tuple[datetime, int] | None:
    day, period, j = "", "", i
    day_found = _day_at(toks, i)
    if day_found is not None:
        day, period, j = day_found
    elif _w(toks, i) != "at":
        period_found = _period_at(toks, i)
        if period_found is not None:
            period, j = period_found
    comma = j > i and _w(toks, j) == ","
    if comma:
        j += 1
    has_at = _w(toks, j) == "at"
    if has_at:
        j += 1
        if _w(toks, j) in ("around", "about"):
            j += 1
    elif comma:
        return None
    core = _core(toks, j)
    if core is None:
        return None
    strong, end, meridiem = core.strong or has_at, core.end, ""
    if _w(toks, end) in _MERIDIEM:
        meridiem, strong, end = _w(toks, end), True, end + 1
    while True:
        found_period = _period_at(toks, end) if not period and not meridiem else None
        if found_period is not None:
            period, end = found_period
            strong = True
            continue
        found_day = _day_at(toks, end) if not day else None
        if found_day is not None:
            day, day_period, end = found_day
            if not period and not meridiem:
                period = day_period
            continue
        break
    if not strong:
        return None
    if not day and tomorrow_before:
        day = "tomorrow"

    hour, fixed = core.hour, core.fixed
    if not fixed and meridiem:
        hour, fixed = hour % 12 + (12 if meridiem == "pm" else 0), True
    elif not fixed and period:
        hour, fixed = _apply_period(hour, period), True
    readings = [(hour * 60 + core.delta) % 1440]
    if not fixed:
        readings.append((readings[0] + 720) % 1440)
    if day == "tomorrow":
        if not fixed:  # the daytime reading, 07:00-18:59
            readings = [r for r in readings if 7 * 60 <= r < 19 * 60]
        after_midnight = core.named == "midnight" or (period == "night" and hour < 5)
        date = now.date() + timedelta(days=2 if after_midnight else 1)
        return datetime.combine(date, time(readings[0] // 60, readings[0] % 60)), end
    return min(_next_at(now, r) for r in readings), end


def find_clock_time(text: str, now: datetime) -> tuple[datetime, int, int] | None:
    """The first time of day in `text`: the next such datetime at or after `now`, and its span."""
    toks = _tokens(text)
    tomorrow_before = False
    for i, tok in enumerate(toks):
        found = _clock_at(toks, i, now, tomorrow_before)
        if found is not None:
            return found[0], tok.start, toks[found[1] - 1].end
        tomorrow_before = tomorrow_before or tok.text == "tomorrow"
    return None


# ---------------------------------------------------------------- speaking back


def spoken_number(value: float, places: int = 2) -> str:
    """A number as a person says it: whole when it is ("12", not "12.0"), else to a few
    places, "about" when that rounds it; "minus" for a negative."""
    if places < 3 and abs(round(value, 3) - value) <= 1e-9 * max(1.0, abs(value)):
        places = 3  # 0.125, exactly
    rounded = round(value, places)
    about = "about " if abs(rounded - value) > 1e-9 * max(1.0, abs(value)) else ""
    if rounded == 0 and value != 0:  # too small for the places: its first figures
        return f"about {value:.2g}"
    text = f"{abs(rounded):,.{places}f}".rstrip("0").rstrip(".")
    return f"{about}{'minus ' if rounded < 0 else ''}{text}"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def spoken_duration(seconds: float) -> str:
    """ "1 hour and 30 minutes": whole seconds, whole minutes above 10 minutes."""
    total = max(0, math.floor(seconds + 0.5))
    if total > 600:
        total = (total + 30) // 60 * 60
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    counts = ((days, "day"), (hours, "hour"), (minutes, "minute"), (secs, "second"))
    parts = [_plural(n, unit) for n, unit in counts if n]
    if not parts:
        return "0 seconds"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def spoken_clock(when: datetime, now: datetime) -> str:
    """ "6 PM", "10:30 AM", "noon", "midnight"; "tomorrow at ..." for the next day.

    Midnight at the start of tomorrow is tonight's: just "midnight"; the midnight at the end of
    tomorrow is "tomorrow at midnight".
    """
    hour, minute = when.hour, when.minute
    if (hour, minute) == (12, 0):
        said = "noon"
    elif (hour, minute) == (0, 0):
        said = "midnight"
    else:
        half = "AM" if hour < 12 else "PM"
        said = (
            f"{hour % 12 or 12} {half}" if minute == 0 else f"{hour % 12 or 12}:{minute:02d} {half}"
        )
    tomorrow: date = now.date() + timedelta(days=2 if said == "midnight" else 1)
    return f"tomorrow at {said}" if when.date() == tomorrow else said
