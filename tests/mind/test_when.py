"""Relative times in a fact become dates from when it was said."""

import datetime as dt

import pytest

from voiced.mind.when import dated

MONDAY = dt.datetime(2026, 12, 7, 19, 0)  # Monday 7 December 2026


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        (
            "They have a presentation on Friday.",
            "They have a presentation on Friday 11 December 2026.",
        ),
        (
            "They went to the dentist on Tuesday.",
            "They went to the dentist on Tuesday 1 December 2026.",
        ),
        (
            "They adopted a cat last weekend.",
            "They adopted a cat on the weekend of Saturday 5 December 2026.",
        ),
        (
            "They have played chess for about three months.",
            "They have played chess since about September 2026.",
        ),
        ("They moved to Leeds two years ago.", "They moved to Leeds in 2024."),
        ("Their interview is tomorrow.", "Their interview is Tuesday 8 December 2026."),
        (
            "Their mother visits next week.",
            "Their mother visits in the week of Monday 14 December 2026.",
        ),
        ("They moved to York last month.", "They moved to York in November 2026."),
        ("They fly to Rome in two weeks.", "They fly to Rome around Monday 21 December 2026."),
        (
            "Their birthday is on the fourteenth of March.",
            "Their birthday is on the fourteenth of March.",
        ),
        (
            "They have a wedding on Friday 18 December.",
            "They have a wedding on Friday 18 December.",
        ),
    ],
)
def test_relative_times_become_dates(said, kept):
    assert dated(said, MONDAY) == kept


def test_a_weekday_said_on_that_day_is_the_next_one():
    friday = dt.datetime(2026, 12, 11, 9, 0)
    assert (
        dated("They have a match on Friday.", friday)
        == "They have a match on Friday 18 December 2026."
    )


def test_a_weekday_every_week_is_kept_as_said():
    said = "They play football every Tuesday evening."
    assert dated(said, MONDAY) == said


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("They teach piano on Saturday mornings.", "They teach piano on Saturday mornings."),
        ("They swim on Sundays.", "They swim on Sundays."),
        (
            "Their son has a gig on Friday night.",
            "Their son has a gig on the night of Friday 11 December 2026.",
        ),
    ],
)
def test_a_part_of_one_day_is_dated_and_of_every_week_is_not(said, kept):
    assert dated(said, MONDAY) == kept
