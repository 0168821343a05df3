"""Sums, conversions and the calendar, answered by skills exactly, from the words as Whisper
writes them; what they cannot read whole is left to the model."""

import pytest

from voiced.measure.exact import ASKED_ON, QUESTIONS, right
from voiced.skills import Context, dates, default_skills, sums, units
from voiced.skills.alarms import Alarms

SKILLS = default_skills()


def ask(question: str) -> str | None:
    handler = SKILLS.match(question)
    return None if handler is None else handler(Context(ASKED_ON, Alarms(None), "", None))


def test_there_are_at_least_forty_questions():
    assert len(QUESTIONS) >= 40


@pytest.mark.parametrize(("question", "answer"), QUESTIONS)
def test_a_question_with_one_right_answer_gets_it(question, answer):
    reply = ask(question)
    assert reply is not None and right(reply, answer), reply


@pytest.mark.parametrize(
    ("reply", "answer", "is_right"),
    [
        ("15 percent of 80 is 12.", ("12",), True),
        ("Fifteen percent of eighty is twelve.", ("12",), True),
        ("Fifteen percent of eighty is seventy-five.", ("12",), False),
        ("There are 100 centimetres in one metre.", ("200",), False),
        ("A pint is about 568.26 millilitres in Britain.", ("568.26", "473.18"), False),
        ("2 to the power of 10 is 1,024.", ("1024",), True),
    ],
)
def test_a_reply_is_right_only_with_every_figure(reply, answer, is_right):
    assert right(reply, answer) is is_right


@pytest.mark.parametrize(
    "question",
    [
        "What is the time?",
        "What's the capital of France?",
        "What is the third of February?",
        "What is 5?",
        "What is half a dozen?",
        "I'm 5 minutes late.",
        "What is a third of the way?",
        "How many people live in London?",
        "How many calories in an apple?",
        "What's 5 in French?",
        "How many miles in a kilogram?",
        "How many days until my birthday?",
        "How many kilometres is a marathon?",
        "What does 3 of 4 mean?",
    ],
)
def test_what_is_not_read_whole_is_left_to_the_model(question):
    assert sums.match(question) is None
    assert units.match(question) is None
    assert dates.match(question) is None


def test_dividing_by_zero_is_said_plainly():
    assert "can't divide by zero" in ask("What is 5 divided by 0?")


def test_a_year_is_the_calendars_not_three_hundred_and_sixty_five_and_a_quarter_days():
    assert "365" in ask("How many days in a year?") and ".25" not in ask("How many days in a year?")
    assert ask("How many seconds in a year?") is None or "31,536,000" in ask(
        "How many seconds in a year?"
    )


def test_a_date_that_does_not_exist_is_said_so():
    assert "no 31st of February" in ask("What day of the week was the 31st of February?")
    assert "2028" in ask("How many days until February 29th?")
