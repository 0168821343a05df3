"""`voiced memory life`: the simulated weeks it runs, and how its rows are counted (the run
itself, on the 1.5B, is `voiced memory life`: half an hour, figures in docs/benchmarks.md)."""

import datetime as dt

from voiced.measure.life import CHANGES, CHAT, START, SimulatedClock, summarise, weeks_of_turns
from voiced.mind.memory import MemoryStore


def test_a_few_hundred_turns_over_four_weeks_in_time_order():
    turns = weeks_of_turns()
    assert len(turns) >= 200
    assert all(a.at < b.at for a, b in zip(turns, turns[1:], strict=False))
    assert (turns[-1].at - turns[0].at).days >= 27
    told = {}
    for turn in turns:
        if turn.role == "tell":
            told[id(turn.item)] = turn.at
        if turn.role == "ask":  # only about what was told on an earlier day
            assert turn.at.date() > told[id(turn.item)].date()
        if turn.role == "change":  # a correction or a forget, a week or more later
            assert (turn.at - told[id(turn.item)]).days >= 7
    assert {t.text for t in turns if t.role == "change"} == {i.said[1] for i in CHANGES}
    # everyday talk is the same in the first week and the last, to be set side by side
    first = {t.text for t in turns if t.role == "chat" and t.at < START + dt.timedelta(days=7)}
    last = {t.text for t in turns if t.role == "chat" and t.at >= START + dt.timedelta(days=21)}
    assert len(first & last) >= 10


def test_a_simulated_clock_dates_what_the_store_keeps(tmp_path):
    clock = SimulatedClock(START)
    store = MemoryStore(tmp_path / "memory.db", clock)
    early = store.remember("likes", "They like tea.")
    clock.now += 7 * 86400
    late = store.remember("likes", "They like coffee.")
    assert early.created == START.timestamp()
    assert late.created - early.created == 7 * 86400


def test_the_report_counts_duplicates_recall_and_latency_by_week():
    live = [
        {"day": 0, "role": "chat", "text": "Good morning!", "latency_s": 1.0, "memory_tokens": 0},
        {
            "day": 1,
            "role": "ask",
            "text": "?",
            "latency_s": 2.0,
            "memory_tokens": 40,
            "kind": "fact",
            "question": "?",
            "reply": "Piano.",
            "recalled": True,
        },
        {"week_end": 3},
        {"day": 22, "role": "chat", "text": "Good morning!", "latency_s": 1.2, "memory_tokens": 9},
        {"week_end": 3},
        {"fact": "They teach piano.", "key": "", "source": "I teach piano."},
        {"fact": "They teach the piano.", "key": "", "source": "Piano lessons went well."},
        {"fact": "They are tired.", "key": "", "source": CHAT[3]},
    ]
    restart = [
        {"kind": "fact", "question": "?", "reply": "", "recalled": False},
        {"kind": "correction", "question": "?", "reply": "", "recalled": True},
        {"kind": "forget", "question": "?", "reply": "", "invented": False},
        {"kind": "never", "question": "?", "reply": "", "invented": True},
    ]
    report = summarise(live, restart, budget=200)
    assert report["turns"] == 3
    assert report["facts_by_week"] == [3, 3]
    assert len(report["duplicates"]) == 1
    assert [f["source"] for f in report["chat_kept"]] == [CHAT[3]]
    assert report["memory_tokens_max"] == 40
    assert report["recalled_during"] == (1, 1)
    assert report["recalled_after_restart"] == (1, 2)
    assert report["corrections"] == (1, 1)
    assert report["forgets"] == (1, 1)
    assert report["invented"] == (1, 2)
    assert report["latency_pairs"] == 1
    assert report["latency_change_s"] == 0.2
