"""`voiced memory check`: does it get to know you? Things said in passing, then asked about
in a new process, as after a restart.

Each item is told as a typed turn (`text_turn`, as `voiced ask` goes), each in a new
conversation, in one process; the questions are asked in another, with the same memory
file and no conversation carried over. Two columns side by side: the patterns alone, and
the patterns with the language model reading every turn (`[memory] llm_facts`).

Counted, from the replies and the store:
- recalled: a fact told in passing (in plain words, hedged, or corrected later) is in the
  reply to its question;
- corrections: the new value is said and the old one is not;
- forgets: a fact the user asked to forget is neither said nor kept;
- invented: a question nothing answers (never told, a hypothetical, someone else's fact,
  forgotten) that got an answer rather than "you haven't told me";
- wrong facts kept: facts stored from sentences that state nothing about the user.

The sentences were written for this check; none comes from elsewhere. They are one
person's life, told to one memory: a later move or job would rightly replace an earlier one,
so the corrections are the only facts that change.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from voiced.config import Settings
from voiced.measure.child import print_rows, run_part
from voiced.text import normalize_words


@dataclass(frozen=True)
class Item:
    said: tuple[str, ...]
    """What the user says in passing, in order (a correction after the fact it corrects)."""
    question: str
    """Asked in a new process."""
    answers: tuple[str, ...] = ()
    """Any of these in the reply: recalled. None: nothing should answer it."""
    wrong: tuple[str, ...] = ()
    """None of these may be in the reply (an old value, a hypothetical's, a forgotten one)."""
    kind: str = "fact"
    """fact, hedge, correction, forget, hypothetical (nothing about the user), never (not told)."""


def told(said: str, question: str, *answers: str) -> Item:
    """Something said once in passing, its question, and the words that answer it."""
    return Item((said,), question, answers)


ITEMS: list[Item] = [
    told(
        "I've been learning to play the cello for about three months now.",
        "Which instrument am I learning?",
        "cello",
    ),
    told(
        "We adopted a grey cat last weekend and called her Pebble.",
        "What is our cat called?",
        "pebble",
    ),
    told(
        "My mum moved to Edinburgh in the summer for a new job.",
        "Which city did my mum move to?",
        "edinburgh",
    ),
    told(
        "My husband Tom is a chef at a little Italian place.",
        "What does my husband do for work?",
        "chef",
        "cook",
    ),
    told(
        "Mum's birthday is on the fourteenth of March, I must not forget it again.",
        "When is Mum's birthday?",
        "march",
    ),
    told("I'm allergic to peanuts.", "What am I allergic to?", "peanut", "peanuts"),
    told(
        "Green tea is more my thing than coffee these days.",
        "What do I like to drink?",
        "tea",
        "green tea",
    ),
    told("My daughter Lily just turned seven.", "How old is my daughter?", "seven", "7"),
    told("I work nights as a nurse at the Royal Infirmary.", "What is my job?", "nurse", "nursing"),
    told(
        "Our dog Biscuit is terrified of thunder.",
        "What is our dog called?",
        "biscuit",
    ),
    told("I grew up in a small village near Cork.", "Where did I grow up?", "cork"),
    told(
        "My brother Sam lives in Toronto with his wife.",
        "Where does my brother live?",
        "toronto",
    ),
    told(
        "I'm running the Berlin marathon in September.",
        "Which marathon am I running?",
        "berlin",
    ),
    told("I drive an old blue Volvo.", "What car do I drive?", "volvo"),
    told(
        "My best friend is called Priya, we met at university.",
        "What is my best friend called?",
        "priya",
    ),
    told(
        "I support Liverpool, have done since I was a kid.",
        "Which team do I support?",
        "liverpool",
    ),
    told("I can't stand mushrooms.", "Which food can't I stand?", "mushroom", "mushrooms"),
    told(
        "I play five-a-side football every Tuesday evening.",
        "What do I play on Tuesdays?",
        "football",
        "soccer",
    ),
    told(
        "My son Ben is studying physics in Manchester.",
        "What is my son studying?",
        "physics",
    ),
    told(
        "We're going to Lisbon for our anniversary in May.",
        "Where are we going for our anniversary?",
        "lisbon",
    ),
    told("My favourite film is Spirited Away.", "What's my favourite film?", "spirited away"),
    told(
        "I have a dentist appointment on the third of February.",
        "When is my dentist appointment?",
        "february",
    ),
    told(
        "I speak Spanish fairly well, my mother is from Seville.",
        "Which language do I speak?",
        "spanish",
    ),
    told(
        "My partner Alex teaches maths at the secondary school.",
        "What does my partner teach?",
        "maths",
        "math",
        "mathematics",
    ),
    told("I've got two kids, a boy and a girl.", "How many kids have I got?", "two", "2"),
    told(
        "My grandmother turns ninety next week.",
        "How old is my grandmother turning?",
        "ninety",
        "90",
    ),
    told(
        "I'm trying to cut down on sugar this year.",
        "What am I trying to cut down on?",
        "sugar",
    ),
    told(
        "Our neighbour Mr Patel keeps bees in his garden.",
        "What does our neighbour keep in his garden?",
        "bees",
        "bee",
    ),
    told("I broke my wrist skiing last winter.", "What did I break last winter?", "wrist"),
    told(
        "Honestly, the only thing I watch on telly is snooker.",
        "What do I watch on telly?",
        "snooker",
    ),
    Item(
        ("I think my blood type is O negative, if I remember right.",),
        "What is my blood type?",
        ("o negative",),
        kind="hedge",
    ),
    Item(
        ("My dad sort of works in marketing, mostly social media stuff.",),
        "What field does my dad work in?",
        ("marketing", "social media"),
        kind="hedge",
    ),
    Item(
        ("I live in Leeds.", "Actually, we moved to York last month."),
        "Which city do I live in now?",
        ("york",),
        ("leeds",),
        kind="correction",
    ),
    Item(
        ("My sister is called Anna.", "Sorry, I got that wrong: my sister's name is Hannah."),
        "What is my sister called?",
        ("hannah",),
        ("anna",),
        kind="correction",
    ),
    Item(
        ("My favourite colour is blue.", "My favourite colour is purple these days."),
        "What's my favourite colour?",
        ("purple",),
        ("blue",),
        kind="correction",
    ),
    Item(
        ("My doctor is called Dr Hughes.", "Forget what I told you about my doctor."),
        "Who is my doctor?",
        wrong=("hughes",),
        kind="forget",
    ),
    Item(
        ("I'm saving up for a motorbike.", "Forget that."),
        "What am I saving up for?",
        wrong=("motorbike", "motorcycle"),
        kind="forget",
    ),
    Item(
        ("If I ever get a horse I'll call her Storm.",),
        "What is my horse called?",
        wrong=("storm",),
        kind="hypothetical",
    ),
    Item(
        ("The weather presenter said his wife is called Maria.",),
        "What is my wife called?",
        wrong=("maria",),
        kind="hypothetical",
    ),
    Item(("What a lovely morning it is.",), "", kind="hypothetical"),
    Item(("Can you tell me a joke?",), "", kind="hypothetical"),
    Item(("Hmm, let me think about that for a second.",), "", kind="hypothetical"),
    Item((), "Which school did I go to?", kind="never"),
    Item((), "What is my wife's favourite flower?", kind="never"),
    Item((), "What is our rabbit called?", kind="never"),
]
_HONEST = re.compile(
    r"\b(?:haven't told|have not told|didn't tell|did not tell|don't know|do not know|"
    r"not sure|no idea|haven't mentioned|have not mentioned|don't have|do not have|"
    r"don't remember|do not remember|can't remember|cannot remember|not told)\b"
)


def said_any(reply: str, words: tuple[str, ...]) -> bool:
    said = f" {normalize_words(reply)} "
    return any(f" {normalize_words(w)} " in said for w in words)


def honest(reply: str) -> bool:
    """A reply that says it does not know, rather than answering."""
    return bool(_HONEST.search(reply.lower().replace("’", "'")))


def score(item: Item, reply: str) -> dict[str, Any]:
    """What one reply shows: recalled (a fact), or answered honestly (nothing to recall)."""
    row: dict[str, Any] = {"kind": item.kind, "question": item.question, "reply": reply}
    wrong = said_any(reply, item.wrong)
    if item.answers:
        row["recalled"] = said_any(reply, item.answers) and not wrong
    else:
        row["invented"] = wrong or not honest(reply)
    return row


def _session(settings: Settings, part: str) -> list[dict[str, Any]]:
    """One process: "tell" (everything said in passing, then what the store holds) or
    "ask" (every question)."""
    from voiced.turn.load import load_runner

    runner = load_runner(settings, rings=False)
    runner.warm_up()  # as the daemon does: a first turn is not a cold one
    rows: list[dict[str, Any]] = []

    async def run() -> None:
        for item in ITEMS:
            texts = item.said if part == "tell" else (item.question,) if item.question else ()
            for text in texts:
                reply = (await typed_turn(runner, text, "memory check")).reply
                await runner.settle()  # what the model reads is kept before the next turn
                if part == "ask":
                    rows.append(score(item, reply))
            runner.conversation.history.clear()  # each a conversation of its own

    try:
        asyncio.run(run())
    finally:
        runner.workers.shutdown()
    memory = runner.router.memory
    if part == "tell" and memory is not None:
        rows = [{"fact": f.text, "source": f.source} for f in memory.store.facts()]
    return rows


async def typed_turn(runner: Any, text: str, check: str) -> Any:
    """A typed turn's result; one that fails (the model gave no words) is counted as a
    reply that says nothing, and said on stderr."""
    from voiced.turn.request import StageError, TurnResult
    from voiced.turn.runner import text_turn
    from voiced.types import Transcript

    try:
        return await text_turn(runner, text)
    except StageError as exc:
        print(f"{check}: {text!r} failed: {exc}", file=sys.stderr)
        return TurnResult(Transcript(text))


def wrongly_kept(facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored facts that came from a sentence telling nothing about the user, or that
    hold what the user asked to forget."""
    nothing = {s for i in ITEMS if i.kind == "hypothetical" for s in i.said}
    forgotten = [w for i in ITEMS if i.kind == "forget" for w in i.wrong]
    return [f for f in facts if f["source"] in nothing or said_any(f["fact"], tuple(forgotten))]


def summarise(column: str, facts: list[dict[str, Any]], rows: list[dict[str, Any]]) -> dict:
    def count(kinds: tuple[str, ...], key: str) -> tuple[int, int]:
        marked = [r for r in rows if r["kind"] in kinds and key in r]
        return sum(bool(r[key]) for r in marked), len(marked)

    return {
        "column": column,
        "recalled": count(("fact", "hedge", "correction"), "recalled"),
        "corrections": count(("correction",), "recalled"),
        "forgets": _honoured(count(("forget",), "invented")),
        "invented": count(("forget", "hypothetical", "never"), "invented"),
        "facts_kept": len(facts),
        "wrong_facts_kept": len(wrongly_kept(facts)),
        "facts": facts,
        "rows": rows,
    }


def _honoured(invented: tuple[int, int]) -> tuple[int, int]:
    return invented[1] - invented[0], invented[1]


def _child(model: str, llm_facts: bool, part: str, state: Path) -> list[dict[str, Any]]:
    args = [model, str(llm_facts).lower(), part]
    return run_part(__name__, args, state, f"the memory check on {model}")


def check(model: str, llm_facts: bool) -> dict[str, Any]:
    """Both processes for one column, in a memory of their own."""
    column = "patterns + model" if llm_facts else "patterns alone"
    with tempfile.TemporaryDirectory(prefix="voiced-memory-") as state:
        facts = _child(model, llm_facts, "tell", Path(state))
        rows = _child(model, llm_facts, "ask", Path(state))
    return summarise(column, facts, rows)


def memory_check(model: str, out_dir: Path) -> list[dict[str, Any]]:
    reports = [check(model, llm_facts) for llm_facts in (False, True)]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "memory-check.json").write_text(json.dumps(reports, indent=2) + "\n")
    return reports


def format_report(reports: list[dict[str, Any]]) -> str:
    def pair(value: tuple[int, int]) -> str:
        return f"{value[0]}/{value[1]}"

    lines = [f"{'':<40}" + "".join(f"{r['column']:>20}" for r in reports)]
    for label, cell in (
        ("recalled after a restart", lambda r: pair(r["recalled"])),
        ("…of them corrections honoured", lambda r: pair(r["corrections"])),
        ("forgets honoured", lambda r: pair(r["forgets"])),
        ("invented answers (nothing to recall)", lambda r: pair(r["invented"])),
        ("facts kept", lambda r: str(r["facts_kept"])),
        ("wrong facts kept", lambda r: str(r["wrong_facts_kept"])),
    ):
        lines.append(f"{label:<40}" + "".join(f"{cell(r):>20}" for r in reports))
    for report in reports:
        lines += ["", f"{report['column']}: what went wrong"]
        for row in report["rows"]:
            if row.get("recalled") is False or row.get("invented"):
                lines.append(f"  {row['question']} -> {row['reply']}")
        for fact in wrongly_kept(report["facts"]):
            lines.append(f"  kept from {fact['source']!r}: {fact['fact']}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """The child: `python -m voiced.measure.memory MODEL true|false tell|ask`."""
    from voiced.config import load_settings

    model, llm_facts, part = argv
    base = load_settings()
    settings = replace(
        base,
        llm=replace(base.llm, model=model),
        memory=replace(base.memory, facts=True, llm_facts=llm_facts == "true"),
    )
    return print_rows(_session(settings, part))


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main(sys.argv[1:]))
