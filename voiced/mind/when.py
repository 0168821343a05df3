"""Times as people say them, made dates when a fact is written.

"I have a presentation on Friday" is true for a week; kept as said, it would be read next
month as a Friday still to come. So the relative times in a fact ("tomorrow", "next
Friday", "last weekend", "three months ago", "for about three months") are rewritten as
dates from the moment it was said. Only what can be pinned down is rewritten; the rest
is kept as said.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from voiced.skills.numbers import SMALL_NUMBERS

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_NUMBERS = {**SMALL_NUMBERS, "a": 1, "an": 1, "a couple of": 2, "a few": 3}
_COUNT = "(" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + r"|\d+)"
_DAY = "(" + "|".join(WEEKDAYS) + ")"


def day(date: dt.date) -> str:
    """A date as said: "Friday 11 December 2026"."""
    return f"{date.strftime('%A')} {date.day} {date.strftime('%B %Y')}"


def month(date: dt.date) -> str:
    return date.strftime("%B %Y")


def _count(said: str) -> int:
    said = said.lower()
    return int(said) if said.isdigit() else _NUMBERS[said]


def _months_back(date: dt.date, months: int) -> dt.date:
    total = date.year * 12 + date.month - 1 - months
    return dt.date(total // 12, total % 12 + 1, 1)


def _next(date: dt.date, weekday: int, skip_this_week: bool) -> dt.date:
    ahead = (weekday - date.weekday()) % 7
    if ahead == 0 or (skip_this_week and ahead < 7 - date.weekday()):
        ahead += 7
    return date + dt.timedelta(days=ahead)


def _last(date: dt.date, weekday: int) -> dt.date:
    back = (date.weekday() - weekday) % 7 or 7
    return date - dt.timedelta(days=back)


_FUTURE = re.compile(
    r"\b(?:will|going to|gonna|plan|plans|planning|have an?|has an?|is coming|are coming"
    r"|starts?|is on|are on)\b",
    re.I,
)
_PAST = re.compile(r"\b(?:was|were|went|had|did|got|came|saw|met|left|took|made|\w+ed)\b", re.I)


def _looks_past(text: str) -> bool:
    """Whether a bare weekday in the text is more likely gone than to come."""
    return bool(_PAST.search(text)) and not _FUTURE.search(text)


def dated(text: str, now: dt.datetime) -> str:
    """The text with its relative times as dates from now."""
    today = now.date()
    past = _looks_past(text)

    def weekday(match: re.Match[str]) -> str:
        which, name = (match.group(1) or "").strip().lower(), match.group(2).lower()
        index = WEEKDAYS.index(name)
        if which == "last" or (not which and past):
            date = _last(today, index)
        else:
            date = _next(today, index, skip_this_week=which == "next")
        part = match.group(3)
        return f"on the {part.lower()} of {day(date)}" if part else f"on {day(date)}"

    def _unit(said: str) -> str:
        return said.lower().rstrip("s")

    def ago(match: re.Match[str]) -> str:
        count, unit = _count(match.group(1)), _unit(match.group(2))
        if unit == "day":
            return f"on {day(today - dt.timedelta(days=count))}"
        if unit == "week":
            return f"in the week of {day(today - dt.timedelta(weeks=count))}"
        if unit == "month":
            return f"in {month(_months_back(today, count))}"
        return f"in {today.year - count}"

    def since(match: re.Match[str]) -> str:
        about, count, unit = match.group(1) or "", _count(match.group(2)), _unit(match.group(3))
        if unit == "day":
            start = day(today - dt.timedelta(days=count))
        elif unit == "week":
            start = day(today - dt.timedelta(weeks=count))
        elif unit == "month":
            start = month(_months_back(today, count))
        else:
            start = str(today.year - count)
        return f"since {'about ' if about else ''}{start}"

    def within(match: re.Match[str]) -> str:
        count, unit = _count(match.group(1)), _unit(match.group(2))
        if unit == "day":
            return f"on {day(today + dt.timedelta(days=count))}"
        if unit == "week":
            return f"around {day(today + dt.timedelta(weeks=count))}"
        total = today.year * 12 + today.month - 1 + (count if unit == "month" else 12 * count)
        return f"in {month(dt.date(total // 12, total % 12 + 1, 1))}"

    units = r" (days?|weeks?|months?|years?)"
    saturday_ahead = today + dt.timedelta(days=(5 - today.weekday()) % 7)
    saturday_back = today - dt.timedelta(days=(today.weekday() - 5) % 7 or 7)
    monday = today - dt.timedelta(days=today.weekday())
    month_ahead = dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)
    rules: list[tuple[str, str | Callable[[re.Match[str]], str]]] = [
        (
            r"\b(?:for|over) (about |around |almost |nearly )?" + _COUNT + units + r"(?: now)?",
            since,
        ),
        (r"\b" + _COUNT + units + r" ago\b", ago),
        (r"\bin " + _COUNT + units + r"(?: time)?\b", within),
        (
            r"(?<!every )(?<!each )\b(?:on )?(next |this |last )?"
            + _DAY
            # "Saturday mornings", "Saturdays": every week, not a date
            + r"\b(?!,? \d)(?! (?:mornings|afternoons|evenings|nights)\b)"
            + r"(?: (morning|afternoon|evening|night)\b)?",
            weekday,
        ),
        (r"\b(?:this|next) weekend\b", f"on the weekend of {day(saturday_ahead)}"),
        (r"\blast weekend\b", f"on the weekend of {day(saturday_back)}"),
        (r"\b(?:the )?day after tomorrow\b", day(today + dt.timedelta(days=2))),
        (r"\btomorrow\b", day(today + dt.timedelta(days=1))),
        (r"\b(?:today|tonight|this evening|this morning|this afternoon)\b", day(today)),
        (r"\byesterday\b", day(today - dt.timedelta(days=1))),
        (r"\bnext week\b", f"in the week of {day(monday + dt.timedelta(days=7))}"),
        (r"\blast week\b", f"in the week of {day(monday - dt.timedelta(days=7))}"),
        (r"\bthis week\b", f"in the week of {day(monday)}"),
        (r"\bnext month\b", f"in {month(month_ahead)}"),
        (r"\blast month\b", f"in {month(_months_back(today, 1))}"),
        (r"\bnext year\b", f"in {today.year + 1}"),
        (r"\blast year\b", f"in {today.year - 1}"),
    ]
    for pattern, replacement in rules:
        text = re.sub(pattern, replacement, text, flags=re.I)
    return text
