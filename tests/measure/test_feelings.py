"""How a reply to a feeling is read: the issue's own examples of replies that brushed a
feeling off, and ones that met it."""

import pytest

from voiced.measure.feelings import DISCLOSURES, SERIOUS, judged, serious

BRUSHED_OFF = [
    "It's okay if you feel that way. Let's try talking about something else together.",
    "That's okay. Sometimes things don't work out as planned.",
    "I'm sorry to hear that. It's important to talk about your feelings and seek support.",
    "I understand. It's important to feel connected and supported.",
    "I'm sorry, but I can't assist with that.",  # said to "it would have been her birthday"
    "That's a thought.",
    "As an AI, I don't have feelings, but I can help you with other things.",
]
MET = [
    "It sounds like you're feeling overwhelmed. Can you tell me more about what's on your mind?",
    "Congratulations, that's wonderful news! How did it happen?",
    "Oh, I'm so sorry. Losing a pet is really painful. What was she like?",
    "That sounds really lonely. What would make tonight a little easier?",
]


def test_at_least_thirty_disclosures_across_nine_feelings():
    assert len(DISCLOSURES) >= 30
    kinds = {kind for kind, _ in DISCLOSURES}
    assert {
        "sad",
        "lonely",
        "scared",
        "angry",
        "ashamed",
        "grieving",
        "proud",
        "excited",
        "relieved",
    } <= kinds
    assert len(SERIOUS) >= 6


@pytest.mark.parametrize("reply", BRUSHED_OFF)
def test_a_reply_that_brushes_a_feeling_off_is_not_counted_as_meeting_it(reply):
    assert not judged(reply)["met"]


@pytest.mark.parametrize("reply", MET)
def test_a_reply_that_reflects_the_feeling_meets_it(reply):
    row = judged(reply)
    assert row["met"] and row["asks"]


def test_a_serious_reply_points_to_a_person():
    assert serious("I'm so sorry you're hurting. Please talk to someone you trust right now.")
    assert not serious("That's a thought.")
    assert not serious("I'm sorry to hear that. Is there anything I can help you with?")


def test_the_crisis_replies_count_as_serious():
    from voiced.mind.care import Risk, crisis_reply

    for risk in Risk:
        assert serious(crisis_reply(risk, ""))
        assert serious(crisis_reply(risk, "Samaritans on 116 123"))
