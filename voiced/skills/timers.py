"""Timers and reminders: set, ask how long is left, cancel; and what to say when one is due."""

from __future__ import annotations

import re
from datetime import datetime

from voiced.skills import Context, Handler, whole, words
from voiced.skills.alarms import Alarm
from voiced.skills.numbers import find_clock_time, find_duration, spoken_clock, spoken_duration

_TIMER = re.compile(r"\btimers?\b")
_CANCEL = re.compile(r"\b(?:cancel|stop|delete|remove|clear|turn off|kill|forget|get rid of)\b")
_LEFT = re.compile(
    r"\b(?:how long|how much time|time left|left on|remaining|remain|how's|how is|status"
    r"|check|when will|when does)\b"
)
_LIST = re.compile(r"\b(?:what|which|any|list|my)\b.*\b(?:timers|reminders)\b")
_HOW_LONG = whole(
    r"how (?:long|much time) (?:is |have i got |do i have |'s )?left",
    r"how much longer",
    r"how long to go",
)
_REMIND = re.compile(r"\bremind(?:er|ers)?\b")
_NOT_A_NAME = {"new", "quick", "another", "one", "a", "the", "my", "second", "minute", "hour"}
_SELF = {
    "my": "your",
    "me": "you",
    "i": "you",
    "i'm": "you're",
    "myself": "yourself",
    "mine": "yours",
    "am": "are",
}


def _you(text: str) -> str:
    """The user's words said back to them: "call my mum" -> "call your mum"."""
    return " ".join(_SELF.get(w, w) for w in text.split())


def timer_name(alarm: Alarm) -> str:
    if alarm.label:
        return f"{alarm.label} timer"
    # "a 5 minute timer", not "a 5 minutes timer"
    return re.sub(r"(second|minute|hour|day)s\b", r"\1", spoken_duration(alarm.seconds)) + " timer"


def announcement(due: list[Alarm], now: float) -> str:
    """What to say when these fall due (those that fell due while voiced was away, too)."""
    parts = []
    for alarm in due:
        late = now - alarm.due > 120
        if alarm.kind == "timer":
            if late:
                parts.append(f"While I was away, your {timer_name(alarm)} went off.")
            else:
                parts.append(f"Your {timer_name(alarm)} is done.")
        elif late:
            parts.append(f"I missed a reminder while I was away: {alarm.label}.")
        else:
            parts.append(f"Here's your reminder: {alarm.label}.")
    return " ".join(parts)


def _without(text: str, start: int, end: int) -> str:
    return text[:start] + " " + text[end:]


def _label(rest: str) -> str:
    """The timer's name in what is left once the duration is cut out."""
    said = words(rest)
    for pattern in (
        r"\b(?:called|named|labell?ed)\s+(?:the\s+)?([a-z' ]+?)$",
        r"\btimers?\s+(?:\w+\s+)?(?:for|on)\s+(?:the\s+|my\s+)?([a-z' ]+?)$",
        r"\b(?:a|an|the|my)\s+([a-z']+(?:\s[a-z']+)?)\s+timer\b",
        r"\bfor\s+(?:the\s+|my\s+)([a-z' ]+?)$",
    ):
        found = re.search(pattern, said)
        if found is not None:
            name = found.group(1).strip()
            if name and name not in _NOT_A_NAME and len(name.split()) <= 3:
                return name
    return ""


def _set_timer(text: str) -> Handler | None:
    duration = find_duration(text)
    if duration is None or duration.value <= 0:
        return None
    label = _label(_without(text, duration.start, duration.end))

    def handle(ctx: Context) -> str:
        ctx.alarms.add_timer(duration.value, label)
        said = spoken_duration(duration.value)
        return f"{label.capitalize()} timer set for {said}." if label else f"Timer set for {said}."

    return handle


def _which(ctx: Context, text: str, kind: str) -> list[Alarm]:
    """The alarms the user means: named, by duration, or all of them."""
    alarms = ctx.alarms.pending(kind)
    said = words(text)
    named = [a for a in alarms if a.label and re.search(rf"\b{re.escape(a.label)}\b", said)]
    if named:
        return named
    if kind == "timer":
        duration = find_duration(text)
        if duration is not None:
            return [a for a in alarms if abs(a.seconds - duration.value) < 1]
    return alarms


def _left(text: str) -> Handler:
    def handle(ctx: Context) -> str:
        timers = _which(ctx, text, "timer")
        if not timers:
            return "You have no timers running."
        parts = []
        for alarm in timers:
            left = spoken_duration(ctx.alarms.left(alarm))
            parts.append(f"{left} left on the {timer_name(alarm)}")
        return _sentence(parts)

    return handle


def _cancel(text: str, kind: str) -> Handler:
    def handle(ctx: Context) -> str:
        alarms = _which(ctx, text, kind)
        noun = "timer" if kind == "timer" else "reminder"
        if not alarms:
            return f"You have no {noun}s to cancel."
        for alarm in alarms:
            ctx.alarms.remove(alarm.id)
        if len(alarms) == 1:
            what = timer_name(alarms[0]) if kind == "timer" else f"reminder to {alarms[0].label}"
            return f"Cancelled the {what}."
        return f"Cancelled {len(alarms)} {noun}s."

    return handle


def _list(kind: str) -> Handler:
    def handle(ctx: Context) -> str:
        alarms = ctx.alarms.pending(kind)
        noun = "timer" if kind == "timer" else "reminder"
        if not alarms:
            return f"You have no {noun}s."
        if kind == "timer":
            parts = [
                f"{timer_name(a)} with {spoken_duration(ctx.alarms.left(a))} left" for a in alarms
            ]
        else:
            parts = [f"{a.label} {_when(a.due, ctx.now)}" for a in alarms]
        count = f"one {noun}" if len(alarms) == 1 else f"{len(alarms)} {noun}s"
        return f"You have {count}: " + _sentence(parts)

    return handle


def _when(due: float, now: datetime) -> str:
    when = datetime.fromtimestamp(due)
    seconds = (when - now).total_seconds()
    if seconds < 3600:
        return "in " + spoken_duration(max(0.0, seconds))
    said = spoken_clock(when, now)
    return said if said.startswith("tomorrow") else f"at {said}"


def _sentence(parts: list[str]) -> str:
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return text[:1].upper() + text[1:] + "."


def _remind(text: str) -> Handler | None:
    """ "remind me to call mum at six", "remind me in twenty minutes to take the bread out"."""

    def task_of(rest: str) -> str:
        said = words(rest)
        said = re.sub(r"^.*?\bremind(?:er)?\b\s*(?:me\s+)?", "", said)
        said = re.sub(r"^(?:set\s+)?(?:a\s+)?", "", said)
        said = re.sub(r"^(?:to|about|that|of|for)\s+", "", said)
        said = re.sub(r"\s+(?:at|in|on|by)$", "", said.strip())
        return _you(said.strip())

    def handle_at(due: datetime, task: str) -> Handler:
        def handle(ctx: Context) -> str:
            if not task:
                return (
                    "What should I remind you of? Say, for example: remind me to call mum at six."
                )
            ctx.alarms.add_reminder(due.timestamp(), task)
            return f"Okay, I'll remind you to {task} {_when(due.timestamp(), ctx.now)}."

        return handle

    def handle(ctx: Context) -> str:
        clock = find_clock_time(text, ctx.now)
        duration = find_duration(text)
        if clock is not None:
            due, start, end = clock
        elif duration is not None:
            due = datetime.fromtimestamp(ctx.alarms.clock() + duration.value)
            start, end = duration.start, duration.end
            before = text[:start].rstrip()
            if before.lower().endswith(" in"):
                start = len(before) - 2
        else:
            return "When should I remind you? Say, for example: remind me to call mum at six."
        return handle_at(due, task_of(_without(text, start, end)))(ctx)

    return handle


NOT_HERE = (
    "I can only keep timers and reminders on a device I speak from. Ask me there, and I'll "
    "say them when they're due."
)


class _WhereItRings:
    """A timer handler: it works only where a due timer can be said (else NOT_HERE)."""

    needs_ringer = True

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    def __call__(self, ctx: Context) -> str:
        return self._handler(ctx) if ctx.alarms.rings else NOT_HERE


def match(text: str) -> Handler | None:
    handler = _match(text)
    return _WhereItRings(handler) if handler is not None else None


def _match(text: str) -> Handler | None:
    said = words(text)
    if _REMIND.search(said):
        if re.search(r"\bremind(?:ers)?\b", said) and "me" not in said.split():
            if _CANCEL.search(said):
                return _cancel(text, "reminder")
            if _LIST.search(said) or said.startswith(("what", "do i", "any")):
                return _list("reminder")
        if re.search(
            r"\bremind me\b|\bset (?:a |an )?reminder\b|\breminder (?:to|for|at|in)\b", said
        ):
            return _remind(text)
        return None
    if _HOW_LONG.match(said):
        return _left(text)
    if not _TIMER.search(said):
        return None
    if _CANCEL.search(said):
        return _cancel(text, "timer")
    if _LEFT.search(said):
        return _left(text)
    if _LIST.search(said) and find_duration(text) is None:
        return _list("timer")
    return _set_timer(text)
