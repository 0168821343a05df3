"""Memory: facts from what the user says, the private store, requests to it, and the loop."""

import json
import stat

import pytest

from tests.conftest import voiced
from tests.fakes import ScriptedLlm
from voiced.mind.conversation import Conversation
from voiced.mind.facts import memory_request, statements
from voiced.mind.memory import Memory, MemoryStore


@pytest.mark.parametrize(
    ("said", "key", "text"),
    [
        ("My name is Anna.", "name", "The user's name is Anna."),
        ("Actually, call me jo.", "name", "The user's name is Jo."),
        ("My sister is called Marie.", "person:sister", "The user's sister is called Marie."),
        ("My brother's name is Tom.", "person:brother", "The user's brother is called Tom."),
        ("My wife's called Maria.", "person:wife", "The user's wife is called Maria."),
        ("My brother Jack is visiting.", "person:brother", "The user's brother is called Jack."),
        ("I live in Lyon.", "home", "The user lives in Lyon."),
        ("These days I'm living in Leeds now.", "home", "The user lives in Leeds."),
        ("I'm working at the hospital.", "workplace", "The user works at the hospital."),
        (
            "My favourite colour is green.",
            "favourite:colour",
            "The user's favourite colour is green.",
        ),
        ("I work as an engineer.", "job", "The user works as an engineer."),
        ("I work at the bakery.", "workplace", "The user works at the bakery."),
        (
            "My birthday is on the fifth of May.",
            "birthday",
            "The user's birthday is the fifth of May.",
        ),
        ("I love jazz.", "likes:jazz", "The user loves jazz."),
        ("I hate jazz.", "likes:jazz", "The user hates jazz."),
        (
            "Remember that my keys are in the drawer.",
            "",
            "The user asked to remember: their keys are in the drawer.",
        ),
    ],
)
def test_common_statements_become_facts(said, key, text):
    (found,) = statements(said)
    assert (found.key, found.text) == (key, text)


def test_a_place_is_not_a_name():
    assert statements("My mother is from Seville.") == []
    (found,) = statements("My sister is Anna.")
    assert found.text == "The user's sister is called Anna."


def test_several_statements_in_one_breath_and_none_in_a_question():
    found = statements("Hi, my name's john and I live in Lyon.")
    assert [s.key for s in found] == ["name", "home"]
    assert statements("What time is it?") == [] and statements("I like it.") == []


@pytest.mark.parametrize(
    ("said", "action", "subject"),
    [
        ("What's my sister's name?", "ask_person", "sister"),
        ("Who is my brother?", "ask_person", "brother"),
        ("Do you know my name?", "ask_name", ""),
        ("What do you remember about me?", "recall_all", ""),
        ("Forget that.", "forget_last", ""),
        ("Forget my sister.", "forget_about", "sister"),
        ("Forget everything.", "forget_all", ""),
        ("Forget what I told you about my doctor.", "forget_about", "doctor"),
        ("Forget that I'm a nurse.", "forget_fact", "i'm a nurse"),
        ("What is my job?", "ask_job", ""),
        ("Where do I live?", "ask_home", ""),
        ("Which city do I live in now?", "ask_home", ""),
    ],
)
def test_requests_to_the_memory(said, action, subject):
    request = memory_request(said)
    assert request is not None and (request.action, request.subject) == (action, subject)


def test_ordinary_questions_are_not_requests_to_the_memory():
    for said in (
        "What time is it?",
        "Tell me a joke.",
        "What is the capital of France?",
        "What is my son studying?",
    ):
        assert memory_request(said) is None


@pytest.fixture
def store(tmp_path):
    store = MemoryStore(tmp_path / "state" / "voiced" / "memory.db")
    yield store
    store.close()


def test_the_store_is_private_and_a_correction_replaces_the_old_fact(store):
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    store.remember("name", "The user's name is Anna.", "name")
    store.remember("name", "The user's name is Anne.", "name")
    store.remember("note", "The user asked to remember: buy milk.")
    assert [f.text for f in store.facts()] == [
        "The user's name is Anne.",
        "The user asked to remember: buy milk.",
    ]


def test_relevant_facts_by_words_and_the_name_always(store):
    store.remember("name", "The user's name is Anna.", "name")
    store.remember("person", "The user's sister is called Marie.", "person:sister")
    store.remember("place", "The user lives in Lyon.", "home")
    found = [f.text for f in store.relevant("how is my sister doing")]
    assert found == ["The user's name is Anna.", "The user's sister is called Marie."]


def test_forgotten_facts_are_gone_from_the_file(store):
    secret = "The user asked to remember: the safe code is zebra4417."
    kept = store.remember("note", secret)
    other = store.remember("note", "The user asked to remember: the dog is called Rex.")
    assert b"zebra4417" in store.path.read_bytes()
    store.forget(kept.id)
    assert b"zebra4417" not in store.path.read_bytes()
    assert b"Rex" in store.path.read_bytes() and store.get(other.id) is not None
    store.forget_all()
    data = store.path.read_bytes()
    assert b"Rex" not in data and b"remember" not in data


def test_spoken_requests_are_answered_and_obeyed(store):
    memory = Memory(store, lambda text: len(text.split()), 100)
    assert (
        memory.answer("What's my sister's name?") == "You haven't told me your sister's name yet."
    )
    memory.learn("My name is Anna and my sister is called Marie.")
    assert memory.answer("What's my sister's name?") == "Your sister is called Marie."
    assert memory.answer("What do you remember about me?") == (
        "Here is what I remember. Your name is Anna. Your sister is called Marie."
    )
    memory.learn("I love jazz.")
    assert memory.answer("Forget that.") == "Okay, I have forgotten that."
    assert [f.key for f in store.facts()] == ["name", "person:sister"]
    assert memory.answer("Forget my sister.") == "Okay, I have forgotten about your sister."
    assert memory.answer("Forget everything.").startswith("Done.")
    assert store.facts() == []


def test_facts_reach_the_prompt_within_the_budget(store):
    memory = Memory(store, lambda text: len(text.split()), 13)
    memory.learn("My name is Anna. My sister is called Marie. I live in Lyon.")
    known = " ".join(f.text for f in memory.recall("what should I get my sister"))
    assert known == "The user's name is Anna. The user's sister is called Marie."  # 6 + 7 tokens
    small = Memory(store, lambda text: len(text.split()), 8)
    assert [f.text for f in small.recall("my sister")] == ["The user's name is Anna."]
    conversation = Conversation("You are Sam.", lambda text: len(text.split()), 500)
    conversation.add_exchange("Hi.", "Hello!")
    messages = conversation.messages_for("Hello", known)
    # the persona and the history first, unchanged (the model's cache of them is reused),
    # then what is known for this turn, then the turn
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "system", "user"]
    assert messages[0]["content"] == "You are Sam."
    note = messages[-2]["content"]
    # in the third person as "they" (a model that reads "the user" speaks of "the user")
    assert note.endswith("Their name is Anna. Their sister is called Marie.")
    assert "never to be read out" in note and "the user" not in note.lower()


def test_each_fact_keeps_the_words_it_came_from(store):
    memory = Memory(store, lambda text: len(text.split()), 100)
    memory.learn("Hi, my name's John and I live in Lyon.")
    memory.keep_read([statements("I love jazz.")[0]], "Jazz on a Sunday, I love it.", 0)
    assert [f.source for f in store.facts()] == [
        "Hi, my name's John and I live in Lyon.",
        "Hi, my name's John and I live in Lyon.",
        "Jazz on a Sunday, I love it.",
    ]
    assert [f.text for f in memory.recall("where do I live")] == [
        "The user's name is John.",  # always (a core fact)
        "The user lives in Lyon.",
    ]


def test_a_memory_file_from_before_the_words_were_kept_is_read_and_written(tmp_path):
    import sqlite3

    path = tmp_path / "memory.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE facts (id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
        " key TEXT NOT NULL DEFAULT '', text TEXT NOT NULL, created REAL NOT NULL,"
        " updated REAL NOT NULL);"
        "CREATE VIRTUAL TABLE facts_fts USING fts5(text, content='', tokenize='porter');"
        "INSERT INTO facts VALUES (1, 'name', 'name', 'The user''s name is Anna.', 1.0, 1.0);"
        "INSERT INTO facts_fts (rowid, text) VALUES (1, 'The user''s name is Anna.');"
    )
    old.commit()
    old.close()
    store = MemoryStore(path)
    try:
        assert [(f.text, f.source) for f in store.facts()] == [("The user's name is Anna.", "")]
        store.remember("home", "The user lives in Lyon.", "home", "I live in Lyon.")
        assert [f.source for f in store.facts()] == ["", "I live in Lyon."]
        assert [f.id for f in store.relevant("Lyon")] == [1, 2]
    finally:
        store.close()


def test_a_new_session_answers_from_memory_without_the_model(tmp_path):
    """Told in one run of the loop, asked in the next: the same store, a new conversation."""
    from tests.fakes import ScriptedStt, speech_and_silence
    from tests.test_pipeline import make_pipeline, run

    path = tmp_path / "memory.db"

    def session(heard, replies):
        stt, llm = ScriptedStt(heard), ScriptedLlm(replies)
        audio = speech_and_silence([("speech", 0.6), ("silence", 2.0)] * len(heard))
        pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path)
        store = MemoryStore(path)
        pipeline.runner.router.memory = Memory(store, llm.count_tokens, 100)
        run(pipeline)
        store.close()
        return tts.spoken, llm.prompts, pipeline.turns

    session(["My sister is called Marie."], ["Nice to meet her."])
    spoken, prompts, turns = session(
        ["What is my sister's name?", "Plan a party for my sister."], ["Sure."]
    )
    assert spoken[0] == "Your sister is called Marie."
    assert len(prompts) == 1  # only the second turn needed the model, and it knew
    assert "Their sister is called Marie." in prompts[0][-2]["content"]
    # the turn line names the remembered facts that went into the prompt, by id
    assert "memories" not in turns[0].timings.as_dict()  # answered from memory, no prompt
    assert turns[1].timings.as_dict()["memories"] == [1]


@pytest.mark.slow
def test_memory_from_the_command_line(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path)}
    added = voiced("memory", "add", "My name is Anna and I live in Lyon.", env=env)
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines() == [
        "   1  The user's name is Anna.",
        "   2  The user lives in Lyon.",
    ]
    listed = json.loads(voiced("memory", "list", "--json", env=env).stdout)
    assert [f["key"] for f in listed] == ["name", "home"]
    assert {f["source"] for f in listed} == {"My name is Anna and I live in Lyon."}
    shown = voiced("memory", "list", env=env).stdout.splitlines()
    assert shown[0] == "   1  The user's name is Anna."
    assert shown[1].startswith("      learnt 20")
    assert shown[1].endswith(' from "My name is Anna and I live in Lyon."')
    assert voiced("memory", "forget", "1", env=env).returncode == 0
    missing = voiced("memory", "forget", "1", env=env)
    assert missing.returncode == 2 and missing.stderr.startswith("voiced: memory forget: no fact 1")
    exported = json.loads(voiced("memory", "export", env=env).stdout)
    assert [f["text"] for f in exported["facts"]] == ["The user lives in Lyon."]
    assert voiced("forget", "--all", env=env).returncode == 0
    db = tmp_path / "voiced" / "memory.db"
    assert b"Lyon" not in db.read_bytes()
    assert voiced("memory", "list", env=env).stdout.strip() == "(nothing remembered)"


def test_history_carries_on_across_restarts_only_when_kept_and_only_for_its_days(store):
    from voiced.turn.load import carry_on

    def conversation():
        return Conversation("You are Sam.", lambda text: len(text.split()), 500)

    first = conversation()
    carry_on(first, store, keep_days=2)
    first.add_exchange("I planted tomatoes today.", "Lovely, I hope they grow well.")
    second = conversation()  # voiced restarted
    carry_on(second, store, keep_days=2)
    assert [m["content"] for m in second.history] == [
        "I planted tomatoes today.",
        "Lovely, I hope they grow well.",
    ]
    store._db.execute("UPDATE history SET at = at - 3 * 86400")  # three days later
    third = conversation()
    carry_on(third, store, keep_days=2)
    assert third.history == []
    assert b"tomatoes" not in store.path.read_bytes()  # erased, not just skipped


def test_without_history_nothing_of_the_conversation_is_written(tmp_path):
    from voiced.config import Settings

    assert Settings().memory.history_days == 0  # off unless the user turns it on
    store = MemoryStore(tmp_path / "memory.db")
    memory = Memory(store, lambda text: len(text.split()), 100)
    memory.learn("I planted tomatoes today.")
    assert b"tomatoes" not in store.path.read_bytes()
    store.close()


def test_forgetting_everything_erases_the_history_too(store):
    store.add_exchange("My secret recipe uses saffron.", "Sounds delicious.")
    store.forget_all()
    assert b"saffron" not in store.path.read_bytes() and store.exchanges(30) == []
