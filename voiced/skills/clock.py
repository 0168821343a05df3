"""The time, the date, the day of the week: from the machine's clock, never guessed."""

from __future__ import annotations

from voiced.skills import Context, Handler, whole, words

_TIME = whole(
    r"what time is it",
    r"what's the time",
    r"what is the time",
    r"what time it is",
    r"the time",
    r"what's the time now",
    r"got the time",
)
_DATE = whole(
    r"what's the date(?: today)?",
    r"what is the date(?: today)?",
    r"what's today's date",
    r"what is today's date",
    r"what date is it(?: today)?",
    r"what's the date today",
    r"the date",
    r"today's date",
    r"what date it is(?: today)?",
)
_DAY = whole(
    r"what day is it(?: today)?",
    r"what day is today",
    r"what's the day(?: today)?",
    r"what day of the week is it(?: today)?",
    r"which day is it(?: today)?",
    r"what day it is(?: today)?",
    r"is it (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)(?: today)?",
)


def spoken_time(ctx: Context) -> str:
    hour = ctx.now.hour % 12 or 12
    half = "AM" if ctx.now.hour < 12 else "PM"
    if ctx.now.minute == 0:
        return f"It's {hour} {half}."
    return f"It's {hour}:{ctx.now.minute:02d} {half}."


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def spoken_date(ctx: Context) -> str:
    now = ctx.now
    return f"Today is {now:%A}, the {_ordinal(now.day)} of {now:%B} {now.year}."


def spoken_day(ctx: Context) -> str:
    return f"It's {ctx.now:%A}."


def match(text: str) -> Handler | None:
    said = words(text)
    if _TIME.match(said):
        return spoken_time
    if _DATE.match(said):
        return spoken_date
    if _DAY.match(said):
        return spoken_day
    return None
