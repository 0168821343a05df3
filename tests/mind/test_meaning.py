"""Facts found by meaning (the real sentence embedding model) as well as by their words,
the two rankings fused; what is forgotten leaves the meaning index too."""

import sqlite3

import numpy as np

from voiced.mind.memory import Memory, MemoryStore

TOLD = [
    "Green tea is more my thing than coffee these days.",
    "They drive an old blue Volvo.",
    "Their dog is called Biscuit.",
    "They have been learning the cello since about September 2026.",
    "Their husband Tom is a chef at a little Italian place.",
]


def memory_of(tmp_path, embedder, told=TOLD):
    memory = Memory(MemoryStore(tmp_path / "memory.db"), lambda text: len(text.split()), 100)
    memory.embedder = embedder
    for text in told:
        memory._keep(
            [type("S", (), {"kind": "other", "key": "", "text": text})()], text
        )  # as the model's reading keeps them
    return memory


def test_a_question_finds_the_fact_it_means_with_no_word_in_common(tmp_path, embedder):
    memory = memory_of(tmp_path, embedder)
    drink = [f.text for f in memory.recall("What do I like to drink?")]
    assert drink[0] == TOLD[0]
    assert TOLD[1] not in drink  # the car has nothing to do with it
    # the words alone find nothing for it
    assert memory.store.relevant("What do I like to drink?") == []
    car = [f.text for f in memory.recall("Which car do I have?")]
    assert car[0] == TOLD[1]


def test_an_empty_memory_finds_nothing(tmp_path, embedder):
    assert memory_of(tmp_path, embedder, told=[]).recall("What do I like to drink?") == []


def test_found_by_both_comes_first(tmp_path, embedder):
    memory = memory_of(tmp_path, embedder)
    cello = [f.text for f in memory.recall("How long have I been learning the cello?")]
    assert cello[0] == TOLD[3]


def test_a_fact_kept_without_its_meaning_gets_it_later(tmp_path, embedder):
    memory = memory_of(tmp_path, None, told=[TOLD[0]])  # kept by a process without the model
    assert len(memory.store.without_vectors()) == 1
    memory.embedder = embedder
    assert [f.text for f in memory.recall("What do I like to drink?")] == [TOLD[0]]
    assert memory.store.without_vectors() == []


def test_forgetting_removes_the_meaning_too(tmp_path, embedder):
    memory = memory_of(tmp_path, embedder)
    tea = memory.store.facts()[0]
    memory.store.forget(tea.id)
    assert tea.id not in memory.store._vectors()[0].tolist()
    assert all(f.text != TOLD[0] for f in memory.recall("What do I like to drink?"))
    memory.store.forget_all()
    db = sqlite3.connect(tmp_path / "memory.db")
    assert db.execute("SELECT count(*) FROM vectors").fetchone() == (0,)


def test_meanings_are_unit_length_and_near_for_near_sentences(embedder):
    rows = embedder.embed(
        ["I love green tea.", "Green tea is my favourite drink.", "My car is blue."]
    )
    assert rows.shape == (3, 384) and np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4)
    assert rows[0] @ rows[1] > rows[0] @ rows[2] + 0.2
