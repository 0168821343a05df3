"""Honest about the person: a question about the user's own life that nothing they said
answers gets "You haven't told me that yet." instead of a model's guess; one that something
answers goes to the model with what it was told, and the note not to guess."""

import pytest

from tests.fakes import ScriptedLlm, ScriptedStt, speech_and_silence
from voiced.mind.facts import NOT_TOLD, asks_about_user, subject_words
from voiced.mind.memory import Memory, MemoryStore

ABOUT_THE_USER = [
    "Which instrument am I learning?",
    "What is our cat called?",
    "Which city do we live in?",
    "What car do we have?",
    "What does my wife do for a living?",
    "Which city do I live in now?",
    "What does my husband do for work?",
    "When is Mum's birthday?",
    "What do I like to drink?",
    "Am I allergic to anything?",
    "Where are my keys?",
    "How old is my daughter?",
    "What did I tell you about my doctor?",
    "Do you remember what my dog is called?",
    "What's my husband's job?",
    "Which team do I support?",
    "Which food can't I stand?",
]
NOT_ABOUT_THE_USER = [
    "Can you suggest a snack I could take on a hike?",
    "What should I cook for dinner tonight?",
    "What should I do this weekend?",
    "What time is it?",
    "How do I make pancakes?",
    "What do you think of my plan?",
    "What am I going to do?",
    "What did I just say?",
    "How are you?",
    "What is the capital of France?",
    "I have a thousand thoughts about that thing.",
    "How am I doing?",
    "Where was I?",
    "What do I need for the trip?",
    "Can you help my son with his homework?",
    "Why do I feel so tired?",
    "What would you do in my place?",
    "My cat is called Pebble.",
    "What do I do now?",
    # general knowledge, asked as "we" and "I" ask it
    "Which planet do we live on?",
    "Why do we dream?",
    "How many bones do I have?",
    "How many days are in a leap year?",
]


@pytest.mark.parametrize("question", ABOUT_THE_USER)
def test_questions_about_the_users_own_life_are_recognised(question):
    assert asks_about_user(question)
    assert subject_words(question)


@pytest.mark.parametrize("said", NOT_ABOUT_THE_USER)
def test_advice_feelings_requests_and_other_questions_are_not(said):
    assert not asks_about_user(said)


def test_what_a_question_is_about():
    assert subject_words("What is our cat called?") == ["cat"]
    assert subject_words("What's my husband's job?") == ["husband", "job"]
    assert subject_words("How old is my daughter?") == ["old", "daughter"]


@pytest.mark.parametrize(
    ("known", "question", "answers"),
    [
        ("The user's sister is called Marie.", "Where does my sister live?", False),
        ("The user's sister lives in Lyon.", "Where does my sister live?", True),
        ("The user lives in Leeds.", "Where does my brother live?", False),
        ("The user's daughter is called Lily.", "How old is my daughter?", False),
        ("Their daughter Lily is seven years old.", "How old is my daughter?", True),
        ("We adopted a grey cat and called her Pebble.", "What is our cat called?", True),
        ("They are learning the cello.", "Which instrument am I learning?", True),
        ("The user loves jazz.", "Which instrument am I learning?", False),
        # any form of the word, or a word asking for the same thing
        ("They grew up in a village near Cork.", "Where did I grow up?", True),
        ("Their daughter Lily just turned seven.", "How old is my daughter?", True),
        ("Their husband Tom is a chef. husband job", "What does my husband do for work?", True),
        # someone else's fact does not answer a question about the user
        ("Their brother lives in Toronto.", "Which city do I live in now?", False),
        (
            "Their partner teaches maths at the secondary school.",
            "Which school did I go to?",
            False,
        ),
    ],
)
def test_what_may_answer_a_question_names_its_person_and_what_it_asks(known, question, answers):
    from voiced.mind.facts import could_answer

    assert could_answer(known, subject_words(question)) is answers


def test_a_fact_about_someone_named_answers_questions_about_them_not_the_user():
    from voiced.mind.facts import could_answer

    connor = "Connor lives in Belfast. connor home"
    assert could_answer(connor, subject_words("Where does Connor live?"), "home")
    assert not could_answer(connor, subject_words("Which city do we live in?"), "home")
    # the user's own words, kept as a note, are theirs whatever they begin with
    assert could_answer("Bath is where we live now.", subject_words("Where do we live?"))
    assert subject_words("What does my wife do for a living?") == ["wife", "work"]


def converse(tmp_path, heard, replies, store):
    from tests.test_pipeline import make_pipeline, run

    stt, llm = ScriptedStt(heard), ScriptedLlm(replies)
    audio = speech_and_silence([("speech", 0.6), ("silence", 2.0)] * len(heard))
    pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path)
    pipeline.runner.router.memory = Memory(store, llm.count_tokens, 100)
    run(pipeline)
    return tts.spoken, llm.prompts


@pytest.fixture
def store(tmp_path):
    store = MemoryStore(tmp_path / "memory.db")
    yield store
    store.close()


def test_never_told_is_said_plainly_and_the_model_is_not_asked(tmp_path, store):
    store.remember("person", "The user's sister is called Marie.", "person:sister")
    spoken, prompts = converse(
        tmp_path, ["What is our cat called?", "Which instrument am I learning?"], [], store
    )
    assert spoken == [NOT_TOLD, NOT_TOLD]
    assert prompts == []  # no model was there to guess ("Our cat is called Whiskers.")


def test_what_is_known_of_someone_else_does_not_answer_for_them(tmp_path, store):
    store.remember("home", "The user lives in Leeds.", "home")
    spoken, prompts = converse(tmp_path, ["Where does my brother live?"], [], store)
    assert spoken == [NOT_TOLD] and prompts == []  # not "They live in Leeds."


def test_asked_about_someone_only_what_is_known_of_them_is_in_the_prompt(tmp_path, store):
    store.remember("home", "The user lives in Leeds.", "home")
    store.remember("note", "The user asked to remember: their brother lives in Toronto.")
    _, prompts = converse(tmp_path, ["Where does my brother live?"], ["In Toronto."], store)
    (asked,) = prompts
    assert "brother lives in Toronto" in asked[-2]["content"]
    assert "Leeds" not in asked[-2]["content"]


def test_a_person_known_by_name_only_is_not_a_where_they_live(tmp_path, store):
    store.remember("person", "The user's sister is called Marie.", "person:sister")
    spoken, prompts = converse(tmp_path, ["Where does my sister live?"], [], store)
    assert spoken == [NOT_TOLD] and prompts == []  # the 1.5B said "in a small town"


def test_told_in_this_conversation_the_model_answers_from_it_with_the_note(tmp_path, store):
    told = "We adopted a grey cat last weekend and called her Pebble."
    spoken, prompts = converse(
        tmp_path, [told, "What is our cat called?"], ["How lovely!", "She is called Pebble."], store
    )
    assert spoken[-1] == "She is called Pebble."
    asked = prompts[-1]
    assert any(m["role"] == "user" and m["content"] == told for m in asked)
    assert "never guess" in asked[-2]["content"].lower()


def test_one_fact_naming_all_that_is_asked_is_said_back_without_the_model(tmp_path, store):
    store.remember_said("Remember that our cat is called Pebble.")
    spoken, prompts = converse(tmp_path, ["What is our cat called?"], [], store)
    assert spoken == ["Your cat is called Pebble."] and prompts == []


def test_remembered_from_before_the_model_answers_with_the_facts(tmp_path, store):
    """Two facts may answer: the model chooses, given them as said back to the user."""
    store.remember("other", "Their cat is called Pebble.")
    store.remember("other", "Their cat is grey and sleeps all day.")
    spoken, prompts = converse(tmp_path, ["What is our cat called?"], ["Pebble."], store)
    assert spoken == ["Pebble."]
    (asked,) = prompts
    assert "Your cat is called Pebble." in asked[-2]["content"]
    assert "never guess" in asked[-2]["content"].lower()


def test_an_ordinary_question_is_not_touched(tmp_path, store):
    spoken, prompts = converse(
        tmp_path, ["What should I cook for dinner tonight?"], ["A risotto."], store
    )
    assert spoken == ["A risotto."]
    assert len(prompts) == 1 and "never guess" not in str(prompts[0])


def test_a_question_about_the_user_gets_only_the_facts_that_may_answer_it(tmp_path):
    from voiced.mind.memory import Memory, MemoryStore

    memory = Memory(MemoryStore(tmp_path / "memory.db"), lambda text: len(text.split()), 100)
    for text in (
        "Their brother lives in Toronto with his wife.",
        "They moved to York in November 2026.",
        "They grew up in a small village near Cork.",
        "They drive an old blue Volvo.",
    ):
        memory.store.remember("other", text)
    city = memory.recall_about(subject_words("Which city do I live in now?"), "")
    assert [f.text for f in city] == ["They moved to York in November 2026."]
    grew = memory.recall_about(subject_words("Where did I grow up?"), "Where did I grow up?")
    assert [f.text for f in grew] == ["They grew up in a small village near Cork."]
    assert memory.recall_about(subject_words("What is our rabbit called?"), "") == []


def test_how_i_do_a_thing_is_asked_of_the_memory_only_when_a_fact_names_it(tmp_path, store):
    """ "How do I take my coffee?" asks after the user's ways where a fact tells them (the
    1.5B, given the fact, told how to pour one: the fact is said back); "how do I make
    pancakes?" asks how to, and is never "You haven't told me that yet."."""
    store.remember("note", "They take their coffee black.")
    store.remember("note", "They cycle to work along the canal.")
    store.remember("job", "They are a nurse.", "job")
    questions = ["How do I take my coffee?", "How do I get to work?", "How do I make pancakes?"]
    spoken, prompts = converse(tmp_path, questions, ["You cycle.", "Mix flour and eggs."], store)
    assert spoken == ["You take your coffee black.", "You cycle.", "Mix flour and eggs."]
    # "work" may be their job as well as where they cycle to: the model chooses
    work, pancakes = (p[-2]["content"] for p in prompts)
    assert "canal" in work and "coffee" not in work and "never guess" in work.lower()
    assert "never guess" not in pancakes.lower()


def test_what_a_how_question_would_ask_of_the_memory():
    from voiced.mind.facts import how_about_me

    assert how_about_me("How do I take my coffee?") == ["take", "coffee"]
    assert how_about_me("How do I get to work?") == ["work"]
    assert how_about_me("How should I cook rice?") == []  # advice
    assert how_about_me("How are you?") == []
    assert how_about_me("Where do I work?") == []  # asks_about_user's


def test_a_fact_is_said_back_only_where_it_alone_names_what_is_asked(tmp_path):
    memory = Memory(MemoryStore(tmp_path / "memory.db"), lambda text: len(text.split()), 100)
    for kind, text, key in (
        ("other", "They teach piano to kids on Saturday mornings.", ""),
        ("other", "They cycle to work along the canal.", ""),
        ("job", "They are a lecturer at the university.", "job"),
        ("other", "Their flat is on the fourth floor and there's no lift.", ""),
        ("other", "They have a tortoise called Columbus, he's older than me.", ""),
    ):
        memory.store.remember(kind, text, key)
    told = lambda question: memory.told_exactly(subject_words(question))  # noqa: E731
    assert told("What do I teach on Saturdays?") == "You teach piano to kids on Saturday mornings."
    assert told("What do I do for work?") is None  # their job, or where they cycle to
    assert told("Who is my therapist?") is None  # "there's" is not a therapist
    assert told("Which animal do I have?") is None  # "animal" is named by no fact
    assert (
        told("What is my tortoise called?")
        == "You have a tortoise called Columbus, he's older than you."
    )


def test_what_a_fact_is_filed_under_answers_for_it(tmp_path):
    memory = Memory(MemoryStore(tmp_path / "memory.db"), lambda text: len(text.split()), 100)
    memory.store.remember("job", "Their granddad was a fisherman.")
    memory.store.remember("other", "They cycle to work along the canal.")
    about = subject_words("What did my granddad do for work?")
    assert [f.text for f in memory.recall_about(about, "")] == ["Their granddad was a fisherman."]
