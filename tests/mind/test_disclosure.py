"""What they tell of how they feel is heard in their words (its own sentences here, not
`voiced dialogue`'s), and the turn's prompt carries the note on meeting it."""

import pytest

from voiced.mind.conversation import Conversation
from voiced.mind.disclosure import NOTES, Told, note, told

HARD = [
    "My sister and I fell out over Christmas and it's been eating at me.",
    "I got made redundant on Friday.",
    "I've been so stressed about money.",
    "Our dog died this morning.",
    "I'm really nervous about the interview.",
    "I feel so alone in this new city.",
    "All my friends were invited except me.",
    "I haven't spoken to anyone since Sunday.",
    "My flight got cancelled and I'm stuck at the airport, I'm livid.",
    "I missed my son's school play and I feel guilty.",
    "It would have been my dad's eightieth birthday on Sunday.",
]
GLAD = [
    "I passed my driving test!",
    "We're expecting a baby in June!",
    "My biopsy came back clear.",
    "I got promoted today, I can't believe it.",
    "My son passed his exams!",
]
NEITHER = [
    "Why do I feel so anxious in the mornings?",  # asked: answered as asked
    "What should I do about my sad houseplant?",
    "Set a timer for ten minutes.",
    "I'm going to sleep now.",
    "I need to scan a receipt.",
    "I sat down with a cup of tea.",
    "I won't be long.",
    "My wife Nadia is a vet.",
    "The capital of Peru is Lima.",
    "I'm making soup tonight.",
]


@pytest.mark.parametrize("said", HARD)
def test_something_hard_is_heard(said):
    assert told(said) is Told.HARD


@pytest.mark.parametrize("said", GLAD)
def test_good_news_is_heard(said):
    assert told(said) is Told.GLAD


@pytest.mark.parametrize("said", NEITHER)
def test_questions_requests_and_plain_facts_are_not(said):
    assert told(said) is None


def test_the_note_goes_with_the_turn_before_their_words():
    conversation = Conversation("You are Sam.", lambda text: len(text.split()), 1000)
    messages = conversation.messages_for(
        "I got made redundant on Friday.", felt=note(told("I got made redundant on Friday."))
    )
    assert messages[-2] == {"role": "system", "content": NOTES[Told.HARD]}
    assert messages[-1]["content"] == "I got made redundant on Friday."
    assert "no advice" in NOTES[Told.HARD] and "one gentle question" in NOTES[Told.HARD]
    assert len(conversation.messages_for("Set a timer.", felt=note(None))) == 2


def test_through_the_loop_a_feeling_told_gets_the_note_and_a_question_does_not(tmp_path):
    from tests.fakes import ScriptedLlm, ScriptedStt, speech_and_silence
    from tests.test_pipeline import make_pipeline, run

    heard = ["I got made redundant on Friday.", "What is the capital of Peru?"]
    stt, llm = ScriptedStt(heard), ScriptedLlm(["Oh no. How are you?", "Lima."])
    audio = speech_and_silence([("speech", 0.6), ("silence", 2.0)] * len(heard))
    pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path)
    run(pipeline)
    assert tts.spoken == ["Oh no. How are you?", "Lima."]
    felt, asked = ([m["content"] for m in prompt] for prompt in llm.prompts)
    assert NOTES[Told.HARD] in felt
    assert not any(text in asked for text in NOTES.values())
