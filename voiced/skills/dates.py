"""Calendar questions, worked out from the calendar: days in a month or a year, leap years,
the weekday of a date, days until a date. A small model guessed these ("How many days are
there in a leap year?" got "29")."""

from __future__ import annotations

import calendar
import datetime as dt
import re

from voiced.skills import Context, Handler, words

_MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): n for n, name in enumerate(calendar.month_abbr) if name})
_MONTHS.pop("may", None)
_MONTHS["may"] = 5
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
for _n in range(1, 10):
    _word = next(w for w, v in _ORDINALS.items() if v == _n)
    _ORDINALS[f"twenty {_word}"] = 20 + _n
_ORDINALS["thirty first"] = 31
_HOLIDAYS = {
    "christmas eve": (12, 24),
    "christmas day": (12, 25),
    "christmas": (12, 25),
    "boxing day": (12, 26),
    "new year's eve": (12, 31),
    "new years eve": (12, 31),
    "new year's day": (1, 1),
    "new years day": (1, 1),
    "new year": (1, 1),
    "halloween": (10, 31),
    "valentine's day": (2, 14),
    "valentines day": (2, 14),
}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + ")"
_ORDINAL = "(" + "|".join(sorted(_ORDINALS, key=len, reverse=True)) + "|\\d{1,2}(?:st|nd|rd|th)?)"
_YEAR = r"(?:,? (\d{4}))?"
_DATE = (
    rf"(?:the )?{_ORDINAL} (?:of )?{_MONTH}{_YEAR}"
    rf"|{_MONTH} (?:the )?{_ORDINAL}{_YEAR}"
    r"|(" + "|".join(_HOLIDAYS) + r")(?: (?:this|next|last) year)?(?: (\d{4}))?"
)
_LEAD = r"^(?:(?:hey|ok|okay|so|um|please|can you tell me|tell me|do you know) )*"

_IN = r" (?:are |were |will )?(?:there )?(?:in|does) "
"""The words between what is counted and what it is counted in: "days are there in"."""
_DAYS_IN_MONTH = re.compile(
    _LEAD + rf"how many days{_IN}{_MONTH}(?: (\d{{4}}))?(?: have)?(?: this year)?$"
)
_DAYS_IN_YEAR = re.compile(
    _LEAD + rf"how many (days|weeks|hours|minutes|seconds|months){_IN}"
    r"(?:a |one |the )?(leap )?year(?: (\d{4}))?(?: have)?$"
)
_DAYS_IN_YEAR_NAMED = re.compile(_LEAD + rf"how many (days|weeks){_IN}(\d{{4}})(?: have)?$")
_LEAP = re.compile(_LEAD + r"(?:is|was|will) (\d{4}|this year|next year) (?:be )?a leap year$")
_WEEKDAY = re.compile(
    _LEAD + r"what (?:day of the week|day|weekday) (is|was|will|does|did|falls?) "
    rf"(?:it |be )?(?:on )?(?:{_DATE})(?: (?:be|fall|fall on|on))?(?: this year| next year)?$"
)
_UNTIL = re.compile(
    _LEAD + r"how (?:many days|long) (?:is it |are there |is there |left )?(?:until|till|til|to|"
    rf"before) (?:{_DATE})$"
)


def _ordinal(said: str) -> int:
    said = said.replace("-", " ")
    if said in _ORDINALS:
        return _ORDINALS[said]
    return int(re.sub(r"\D", "", said))


def _date_of(groups: tuple[str | None, ...]) -> tuple[int, int, int | None] | None:
    """(month, day, year or None) from a _DATE match's groups."""
    day_a, month_a, year_a, month_b, day_b, year_b, holiday, year_c = groups
    if holiday:
        month, day = _HOLIDAYS[holiday]
        return month, day, int(year_c) if year_c else None
    if day_a and month_a:
        month, day, year = _MONTHS[month_a], _ordinal(day_a), year_a
    elif month_b and day_b:
        month, day, year = _MONTHS[month_b], _ordinal(day_b), year_b
    else:
        return None
    return month, day, int(year) if year else None


def _on(month: int, day: int, year: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _next(today: dt.date, month: int, day: int) -> dt.date | None:
    """The next time this day comes (today's counts)."""
    for year in range(today.year, today.year + 9):  # 29 February: the next leap year
        date = _on(month, day, year)
        if date is not None and date >= today:
            return date
    return None


def _said_date(date: dt.date) -> str:
    return f"{date:%A} the {_nth(date.day)} of {date:%B} {date.year}"


def _nth(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _days_in_month(found: re.Match[str]) -> Handler:
    month, year = _MONTHS[found[1]], found[2]

    def said(ctx: Context) -> str:
        name = calendar.month_name[month]
        if year or month != 2:
            count = calendar.monthrange(int(year) if year else ctx.now.year, month)[1]
            return f"{name}{' ' + year if year else ''} has {count} days."
        this = calendar.monthrange(ctx.now.year, 2)[1]
        return f"February has 28 days, or 29 in a leap year; this year it has {this}."

    return said


def _in_a_year(found: re.Match[str] | None) -> Handler | None:
    if found is None:
        return None
    unit, leap, year = found[1], bool(found[2]), found[3]

    def said(ctx: Context) -> str:
        if unit == "months":
            return "A year has 12 months."
        if year or leap:
            days = 366 if leap or calendar.isleap(int(year)) else 365
            which = f"{year}" if year else "A leap year"
            return f"{which} has {_count_in(days, unit)}."
        both = f"A year has {_count_in(365, unit)}, and a leap year {_count_in(366, unit)}"
        if unit != "days":
            return f"{both}."
        this = 366 if calendar.isleap(ctx.now.year) else 365
        return f"{both}; this year, {ctx.now.year}, has {this}."

    return said


def _count_in(days: int, unit: str) -> str:
    if unit == "weeks":
        spare = days - 52 * 7
        return f"52 weeks and {'a day' if spare == 1 else f'{spare} days'}"
    per_day = {"days": 1, "hours": 24, "minutes": 1440, "seconds": 86400}[unit]
    return f"{days * per_day:,} {unit}"


def _leap(found: re.Match[str]) -> Handler:
    which = found[1]

    def said(ctx: Context) -> str:
        year = {"this year": ctx.now.year, "next year": ctx.now.year + 1}.get(which)
        year = year if year is not None else int(which)
        leap = calendar.isleap(year)
        verb = "was" if year < ctx.now.year else "is"
        return f"{'Yes' if leap else 'No'}, {year} {verb}{'' if leap else ' not'} a leap year."

    return said


def _weekday(found: re.Match[str]) -> Handler | None:
    tense = found[1]
    date = _date_of(found.groups()[1:9])
    if date is None:
        return None
    month, day, year = date

    def said(ctx: Context) -> str:
        today = ctx.now.date()
        if year is not None:
            when = _on(month, day, year)
        elif tense in ("was", "did"):
            when = _on(month, day, today.year)
            if when is not None and when > today:
                when = _on(month, day, today.year - 1)
        else:
            when = _next(today, month, day)
        if when is None:
            return f"There is no {_nth(day)} of {calendar.month_name[month]} that year."
        verb = "was" if when < today else "is"
        return f"The {_nth(day)} of {when:%B} {when.year} {verb} a {when:%A}."

    return said


def _until(found: re.Match[str]) -> Handler | None:
    date = _date_of(found.groups()[0:8])
    if date is None:
        return None
    month, day, year = date

    def said(ctx: Context) -> str:
        today = ctx.now.date()
        when = _on(month, day, year) if year is not None else _next(today, month, day)
        if when is None:
            return f"There is no {_nth(day)} of {calendar.month_name[month]} that year."
        days = (when - today).days
        if days == 0:
            return f"That's today, {_said_date(when)}."
        if days < 0:
            return f"That was {-days} days ago, on {_said_date(when)}."
        if days == 1:
            return f"That's tomorrow, {_said_date(when)}."
        return f"It's {days} days away, on {_said_date(when)}."

    return said


def match(text: str) -> Handler | None:
    said = re.sub(r"\b(\d+) (st|nd|rd|th)\b", r"\1\2", words(text).replace("-", " "))
    if found := _DAYS_IN_MONTH.match(said):
        return _days_in_month(found)
    if found := _DAYS_IN_YEAR.match(said):
        return _in_a_year(found)
    if found := _DAYS_IN_YEAR_NAMED.match(said):  # "how many days are there in 2028"
        return _in_a_year(_DAYS_IN_YEAR.match(f"how many {found[1]} in year {found[2]}"))
    if found := _LEAP.match(said):
        return _leap(found)
    if found := _WEEKDAY.match(said):
        return _weekday(found)
    if found := _UNTIL.match(said):
        return _until(found)
    return None
