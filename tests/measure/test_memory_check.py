"""`voiced memory check`: how its replies and its store are counted, and one small run of
both processes' work on the real small model."""

from dataclasses import replace

import pytest

from voiced.measure import memory as check
from voiced.measure.memory import ITEMS, Item, score, summarise, wrongly_kept


def test_the_check_tells_at_least_forty_things_in_passing():
    told = [s for item in ITEMS for s in item.said]
    assert len(told) >= 40 and len(set(told)) == len(told)
    for item in ITEMS:
        # a fact to recall has its answer; a question nothing answers has none
        assert bool(item.answers) == (item.kind in ("fact", "hedge", "correction"))
        assert item.question or item.kind == "hypothetical"


def test_a_reply_is_recalled_only_with_the_answer_and_without_the_old_value():
    moved = Item(("I live in Leeds.", "We moved to York."), "Where?", ("york",), ("leeds",))
    assert score(moved, "You live in York now.")["recalled"]
    assert not score(moved, "You moved from Leeds to York.")["recalled"]
    assert not score(moved, "You haven't told me that yet.")["recalled"]


def test_a_question_nothing_answers_must_be_met_with_not_knowing():
    horse = Item(("If I ever get a horse I'll call her Storm.",), "My horse?", (), ("storm",))
    assert not score(horse, "You haven't told me that yet.")["invented"]
    assert not score(horse, "I don't know what your horse is called.")["invented"]
    assert score(horse, "Your horse is called Storm.")["invented"]
    assert score(horse, "Your horse is called Thunder.")["invented"]  # made up


def test_the_columns_count_recall_forgets_inventions_and_wrong_facts():
    rows = [
        {"kind": "fact", "recalled": True},
        {"kind": "fact", "recalled": False},
        {"kind": "correction", "recalled": True},
        {"kind": "forget", "invented": False},
        {"kind": "never", "invented": True},
    ]
    horse = next(i for i in ITEMS if i.kind == "hypothetical").said[0]
    facts = [
        {"fact": "The user is called Jo.", "source": "My name is Jo."},
        {"fact": "The user will call a horse Storm.", "source": horse},
        {"fact": "The user's doctor is Dr Hughes.", "source": "My doctor is called Dr Hughes."},
    ]
    summary = summarise("patterns alone", facts, rows)
    assert summary["recalled"] == (2, 3)
    assert summary["corrections"] == (1, 1)
    assert summary["forgets"] == (1, 1)
    assert summary["invented"] == (1, 2)
    assert summary["wrong_facts_kept"] == 2 == len(wrongly_kept(facts))


@pytest.mark.slow
def test_told_in_one_process_and_asked_in_another(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr(
        check,
        "ITEMS",
        [
            Item(("My sister is called Anna.",), "What is my sister called?", ("anna",)),
            Item((), "What is our rabbit called?", kind="never"),
        ],
    )
    patterns = replace(settings, memory=replace(settings.memory, facts=True, llm_facts=False))
    facts = check._session(patterns, "tell")
    assert [(f["fact"], f["source"]) for f in facts] == [
        ("The user's sister is called Anna.", "My sister is called Anna.")
    ]
    rows = check._session(patterns, "ask")
    assert [r.get("recalled", r.get("invented")) for r in rows] == [True, False]
