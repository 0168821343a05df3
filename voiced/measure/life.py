"""`voiced memory life`: four simulated weeks of one person talking to it every day.

A few hundred typed turns (`text_turn`, as `voiced ask` goes) in one process, with the
clock moved per turn: things told in passing in the first week, told again in other words
later, everyday talk that tells nothing, corrections and forgets in the third week, and
questions about what was told a day or more before. Then every question in a new process,
as after a restart.

Measured, from the replies, the store and each turn's line:
- the store stays deduplicated: facts kept at each week's end (telling again must not add),
  and pairs of kept facts that say the same thing or hold the same key;
- the prompt stays within the memory budget: the tokens of the memories each turn used;
- recall holds: questions answered during the weeks and after the restart;
- the latency does not grow with the store: request to the reply's first sentence for the
  same everyday sentences in the first week and the last (a typed turn is the spoken loop
  without its speech recogniser and its voice, whose cost does not depend on memory).

The person is another than the memory check's, written for this run, so the run is also a
check on sentences the fact reader was never tuned on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
import statistics
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from voiced.config import Settings
from voiced.measure.child import print_rows, run_part
from voiced.measure.memory import Item, score, told, typed_turn

START = dt.datetime(2026, 9, 7, 8, 0)
"""The first morning (a Monday)."""
DAYS = 28

FACTS: list[Item] = [
    told("I teach piano to kids on Saturday mornings.", "What do I teach on Saturdays?", "piano"),
    told("My wife Nadia is a vet.", "What does my wife do for a living?", "vet", "veterinary"),
    told(
        "We've got a tortoise called Columbus, he's older than me.",
        "What is our tortoise called?",
        "columbus",
    ),
    told("I'm originally from Gdansk in Poland.", "Where am I from?", "gdansk", "poland"),
    told(
        "My knee's been bad since the operation in March.",
        "Which joint did I have an operation on?",
        "knee",
    ),
    told("I've been vegetarian for years.", "What kind of diet do I follow?", "vegetarian"),
    told("My son Jakub plays the drums in a band.", "What does my son play?", "drums", "drum"),
    told(
        "I'm reading War and Peace at the moment, very slowly.",
        "Which book am I reading?",
        "war and peace",
    ),
    told(
        "Our flat is on the fourth floor and there's no lift.",
        "Which floor do we live on?",
        "fourth",
        "4th",
        "four",
    ),
    told("I'm lactose intolerant.", "What am I intolerant to?", "lactose", "dairy", "milk"),
    told("I cycle to work along the canal.", "How do I get to work?", "cycle", "bike", "cycling"),
    told("My favourite band is Radiohead.", "What's my favourite band?", "radiohead"),
    told(
        "I'm going to Japan in October with my sister.",
        "Where am I going in October?",
        "japan",
    ),
    told("My daughter's called Zosia, she's four.", "What is my daughter called?", "zosia"),
    told("I'm scared of spiders.", "Which animal am I scared of?", "spider", "spiders"),
    told(
        "I volunteer at the food bank on Thursdays.",
        "Where do I volunteer?",
        "food bank",
    ),
    told("I take my coffee black.", "How do I take my coffee?", "black"),
    told(
        "We're painting the kitchen yellow this weekend.",
        "What colour are we painting the kitchen?",
        "yellow",
    ),
    told("My best mate Connor lives in Belfast.", "Where does Connor live?", "belfast"),
    told(
        "I'm learning Japanese on an app on my phone.",
        "Which language am I learning?",
        "japanese",
    ),
    told("I've got type 1 diabetes.", "What kind of diabetes do I have?", "type 1", "type one"),
    told("My birthday is on the second of July.", "When is my birthday?", "july"),
    told("We drive a red Fiat Panda.", "What car do we have?", "fiat", "panda"),
    told("I play chess online most evenings.", "What game do I play in the evenings?", "chess"),
    told(
        "My granddad was a fisherman.",
        "What did my granddad do for work?",
        "fisherman",
        "fishing",
        "fish",
    ),
]

CHANGES: list[Item] = [
    Item(
        ("We live in Bristol.", "We've moved house, we're in Bath now."),
        "Which city do we live in?",
        ("bath",),
        ("bristol",),
        kind="correction",
    ),
    Item(
        (
            "I work as a structural engineer.",
            "I changed jobs, I'm a lecturer at the university now.",
        ),
        "What's my job?",
        ("lecturer", "lecturing"),
        ("engineer",),
        kind="correction",
    ),
    Item(
        ("My sister Ewa is a pilot.", "Ewa gave up flying, she runs a bakery now."),
        "What does my sister do?",
        ("bakery", "baker", "bakes"),
        ("pilot",),
        kind="correction",
    ),
    Item(
        ("My therapist is called Dr Okafor.", "Forget what I told you about my therapist."),
        "Who is my therapist?",
        wrong=("okafor",),
        kind="forget",
    ),
    Item(
        ("I'm applying for a mortgage.", "Please forget that I'm applying for a mortgage."),
        "What am I applying for?",
        wrong=("mortgage",),
        kind="forget",
    ),
]

NEVER: list[Item] = [
    Item((), "What is my brother called?", kind="never"),
    Item((), "Which football team do I support?", kind="never"),
    Item((), "Where did I go to university?", kind="never"),
    Item((), "What is our parrot called?", kind="never"),
]

AGAIN = [
    "Nadia has been run off her feet at the vet's all week.",
    "Columbus the tortoise has been munching dandelions all morning.",
    "Piano lessons went well this morning, the kids are getting better.",
    "Jakub's band has a gig on Friday night.",
    "Another chapter of War and Peace tonight, Napoleon is still marching.",
    "My knee is aching again today.",
    "The ride along the canal was lovely this morning.",
    "Zosia drew a picture of Columbus today.",
    "I won three games of chess tonight.",
    "Did my shift at the food bank today.",
    "Still plugging away at my Japanese lessons.",
    "I'm lactose intolerant.",
    "I've been vegetarian for years.",
    "My favourite band is Radiohead.",
    "Connor rang from Belfast last night.",
    "Carrying the shopping up four floors with no lift is killing me.",
]
"""Told again, in other words or the same: the store must not grow with them."""

CHAT = [
    "Good morning!",
    "It's pouring down out there.",
    "Thanks, that helps.",
    "I'm knackered today.",
    "That's funny.",
    "I just got back from the shops.",
    "Ugh, Mondays.",
    "The traffic was awful this morning.",
    "I'm making soup tonight.",
    "Okay, see you later.",
    "What time is it?",
    "Tell me a joke.",
    "What should I have for lunch?",
    "Any ideas for a rainy afternoon?",
    "How far away is the moon?",
    "Can you recommend a good podcast?",
]
"""Everyday talk that tells nothing to keep; the same sentences every week, so their
latency can be set side by side."""


@dataclass(frozen=True)
class Turn:
    at: dt.datetime
    text: str
    role: str
    """tell, again, change, chat, or ask."""
    item: Item | None = None
    """The item a told fact or a question belongs to."""


def weeks_of_turns(days: int = DAYS) -> list[Turn]:
    """The four weeks, turn by turn: the days start at eight, turns an hour or so apart."""
    tells = [(i.said[0], i) for i in FACTS + CHANGES]
    changes = [(i.said[1], i) for i in CHANGES]
    again = itertools.cycle(AGAIN)
    chat = itertools.cycle(CHAT)
    said_before: list[tuple[dt.datetime, Item]] = []
    to_ask = itertools.count()
    turns: list[Turn] = []
    for day in range(days):
        week = day // 7
        plan: list[tuple[str, str, Item | None]] = []
        if week == 0:
            for text, item in tells[day * 5 : day * 5 + 5]:
                plan.append(("tell", text, item))
            plan += [("chat", next(chat), None) for _ in range(3)]
        else:
            if week == 2 and day % 7 < len(changes):
                text, item = changes[day % 7]
                plan.append(("change", text, item))
            plan += [("again", next(again), None) for _ in range(2)]
            plan += [("chat", next(chat), None) for _ in range(4)]
        morning = START + dt.timedelta(days=day)
        askable = [i for at, i in said_before if at.date() < morning.date() and i.kind == "fact"]
        for _ in range(2 if week < 3 else 3):
            if askable:
                question = askable[next(to_ask) % len(askable)]
                plan.insert(len(plan) // 2, ("ask", question.question, question))
        for n, (role, text, about) in enumerate(plan):
            at = morning + dt.timedelta(minutes=70 * n + 7 * (day % 5))
            turns.append(Turn(at, text, role, about))
            if role == "tell" and about is not None:
                said_before.append((at, about))
    return turns


class SimulatedClock:
    """A wall clock that says what it is set to."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now


def _live(settings: Settings, days: int) -> list[dict[str, Any]]:
    """The four weeks in one process: a row per turn, then the store at each week's end."""
    from voiced.turn.load import load_runner

    runner = load_runner(settings, rings=False)
    runner.warm_up()  # as the daemon does: a first turn is not a cold one
    memory = runner.router.memory
    assert memory is not None, "remembering is on for this run"
    clock = SimulatedClock(START)
    runner.router.alarms.clock = clock
    memory.store.clock = clock
    count = runner.engines.llm.count_tokens
    rows: list[dict[str, Any]] = []

    async def run() -> None:
        day = None
        for turn in weeks_of_turns(days):
            clock.now = turn.at.timestamp()
            if turn.at.date() != day:  # a new day, a new conversation
                if day is not None and turn.at.weekday() == 0:
                    rows.append({"week_end": len(memory.store.facts())})
                runner.conversation.history.clear()
                day = turn.at.date()
            result = await typed_turn(runner, turn.text, "memory life")
            reply, timings = result.reply, result.timings.as_dict()
            await runner.settle()
            used = {f.id: f.text for f in memory.store.facts()}
            ids: list[int] = list(timings.get("memories") or [])
            tokens = count(" ".join(used[i] for i in ids if i in used)) if ids else 0
            row = {
                "day": (turn.at - START).days,
                "role": turn.role,
                "text": turn.text,
                "reply": reply,
                "latency_s": _first_sound_s(timings),
                "memory_tokens": tokens,
                "facts": len(used),
            }
            if turn.role == "ask" and turn.item is not None:
                row.update(score(turn.item, reply))
            rows.append(row)
        rows.append({"week_end": len(memory.store.facts())})

    try:
        asyncio.run(run())
    finally:
        runner.workers.shutdown()
    rows += [{"fact": f.text, "key": f.key, "source": f.source} for f in memory.store.facts()]
    return rows


def _first_sound_s(timings: dict[str, Any]) -> float | None:
    """Request to its reply's first sentence, ready to be said (a typed turn is not
    voiced; the voice's time does not depend on the memory)."""
    first = timings.get("first_sentence_s")
    start = timings.get("speech_end_s")
    return None if first is None or start is None else round(first - start, 3)


def _restart(settings: Settings, days: int) -> list[dict[str, Any]]:
    """Every question, in a new process the morning after the last day."""
    from voiced.turn.load import load_runner

    runner = load_runner(settings, rings=False)
    runner.warm_up()  # as the daemon does: a first turn is not a cold one
    clock = SimulatedClock(START + dt.timedelta(days=days))
    runner.router.alarms.clock = clock
    rows: list[dict[str, Any]] = []

    async def run() -> None:
        told = {id(t.item) for t in weeks_of_turns(days) if t.role == "tell"}
        for item in [i for i in FACTS + CHANGES if id(i) in told] + NEVER:
            reply = (await typed_turn(runner, item.question, "memory life")).reply
            runner.conversation.history.clear()
            rows.append(score(item, reply))

    try:
        asyncio.run(run())
    finally:
        runner.workers.shutdown()
    return rows


def duplicates(facts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Pairs of kept facts that say the same thing, or hold the same key."""
    from voiced.mind.facts import same_fact

    return [
        (a["fact"], b["fact"])
        for a, b in itertools.combinations(facts, 2)
        if (a["key"] and a["key"] == b["key"]) or same_fact(a["fact"], b["fact"])
    ]


def summarise(
    live: list[dict[str, Any]], restart: list[dict[str, Any]], budget: int, days: int = DAYS
) -> dict:
    turns = [r for r in live if "role" in r]
    facts = [r for r in live if "fact" in r]
    asked = [r for r in turns if r["role"] == "ask"]

    def latencies(week: int) -> dict[str, float]:
        chat = [r for r in turns if r["role"] == "chat" and r["day"] // 7 == week]
        return {r["text"]: r["latency_s"] for r in chat if r["latency_s"] is not None}

    first, last = latencies(0), latencies((days - 1) // 7)
    both = sorted(set(first) & set(last))
    recalled = [r for r in restart if "recalled" in r]
    return {
        "turns": len(turns),
        "days": days,
        "facts_by_week": [r["week_end"] for r in live if "week_end" in r],
        "duplicates": duplicates(facts),
        "chat_kept": [f for f in facts if f["source"] in CHAT],
        "memory_tokens_max": max((r["memory_tokens"] for r in turns), default=0),
        "budget_tokens": budget,
        "recalled_during": (sum(bool(r["recalled"]) for r in asked), len(asked)),
        "recalled_after_restart": (sum(bool(r["recalled"]) for r in recalled), len(recalled)),
        "corrections": _count(restart, "correction", "recalled"),
        "forgets": _count(restart, "forget", "invented", honoured=True),
        "invented": _count(restart, ("forget", "never"), "invented"),
        "latency_week_1_s": _median([first[t] for t in both]),
        "latency_week_4_s": _median([last[t] for t in both]),
        "latency_pairs": len(both),
        "latency_change_s": _median([last[t] - first[t] for t in both]),
        "facts": facts,
        "turn_rows": turns,
        "restart_rows": restart,
    }


def _count(
    rows: list[dict[str, Any]], kinds: str | tuple[str, ...], key: str, honoured: bool = False
) -> tuple[int, int]:
    kinds = (kinds,) if isinstance(kinds, str) else kinds
    marked = [r for r in rows if r["kind"] in kinds and key in r]
    hits = sum(bool(r[key]) for r in marked)
    return (len(marked) - hits if honoured else hits), len(marked)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def life(model: str, out_dir: Path, budget: int, days: int = DAYS) -> dict[str, Any]:
    """Both processes, in a memory of their own; the weeks' rows are written out as soon as
    they are back (memory-life-weeks.json), so a failing restart does not lose them."""
    what = f"the long run on {model}"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="voiced-life-") as state:
        live = run_part(__name__, [model, "live", str(days)], Path(state), what)
        (out_dir / "memory-life-weeks.json").write_text(json.dumps(live, indent=1) + "\n")
        restart = run_part(__name__, [model, "restart", str(days)], Path(state), what)
    report = summarise(live, restart, budget, days)
    (out_dir / "memory-life.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def format_report(report: dict[str, Any]) -> str:
    def pair(value: tuple[int, int]) -> str:
        return f"{value[0]}/{value[1]}"

    lines = [
        f"turns: {report['turns']} over {report['days']} simulated days",
        f"facts kept at each week's end: {', '.join(map(str, report['facts_by_week']))}",
        f"pairs of kept facts saying the same: {len(report['duplicates'])}",
        f"facts kept from everyday talk: {len(report['chat_kept'])}",
        f"memory in a prompt: at most {report['memory_tokens_max']} tokens"
        f" (budget {report['budget_tokens']})",
        f"recalled during the weeks: {pair(report['recalled_during'])}",
        f"recalled after a restart: {pair(report['recalled_after_restart'])}",
        f"corrections honoured: {pair(report['corrections'])}",
        f"forgets honoured: {pair(report['forgets'])}",
        f"invented answers (nothing to recall): {pair(report['invented'])}",
        f"request to first sentence, median of the same {report['latency_pairs']} sentences:"
        f" week 1 {report['latency_week_1_s']} s, week 4 {report['latency_week_4_s']} s"
        f" (median change {report['latency_change_s']} s)",
    ]
    lines += ["", "what went wrong"]
    for row in report["turn_rows"] + report["restart_rows"]:
        if row.get("recalled") is False or row.get("invented"):
            lines.append(f"  {row['question']} -> {row['reply']}")
    for a, b in report["duplicates"]:
        lines.append(f"  kept twice: {a} / {b}")
    for fact in report["chat_kept"]:
        lines.append(f"  kept from {fact['source']!r}: {fact['fact']}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """The child: `python -m voiced.measure.life MODEL live|restart DAYS`."""
    from voiced.config import load_settings

    model, part, days = argv[0], argv[1], int(argv[2])
    base = load_settings()
    settings = replace(
        base,
        llm=replace(base.llm, model=model),
        memory=replace(base.memory, facts=True, llm_facts=True),
    )
    return print_rows(_live(settings, days) if part == "live" else _restart(settings, days))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main(sys.argv[1:]))
