"""Numbers, durations and times of day as Whisper writes them, and how they are said back."""

import dataclasses
from datetime import datetime

import pytest

from voiced.skills.numbers import (
    Found,
    find_clock_time,
    find_duration,
    parse_number,
    spoken_clock,
    spoken_duration,
)

# Thursday 1 January 2026.
AFTERNOON = datetime(2026, 1, 1, 15, 0)
EVENING = datetime(2026, 1, 1, 19, 0)
EARLY = datetime(2026, 1, 1, 5, 0)
LATE = datetime(2026, 1, 1, 23, 30)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute)


@pytest.mark.parametrize(
    ("words", "number"),
    [
        ("five", 5),
        ("Five", 5),
        ("five.", 5),
        ("twenty-five", 25),
        ("twenty five", 25),
        ("ninety-nine", 99),
        ("a", 1),
        ("an", 1),
        ("one", 1),
        ("zero", 0),
        ("a hundred", 100),
        ("one hundred and twenty", 120),
        ("three hundred five", 305),
        ("a thousand", 1000),
        ("two thousand and twelve", 2012),
        ("fifteen", 15),
        ("15", 15),
        ("1,000", 1000),
        ("2.5", 2.5),
        (" 0.75 ", 0.75),
        ("one and a half", 1.5),
        ("two and a quarter", 2.25),
        ("3 and a half", 3.5),
        ("a half", 0.5),
        ("half", 0.5),
        ("a quarter", 0.25),
        ("three quarters", 0.75),
        ("a couple of", 2),
        ("a couple", 2),
        ("a dozen", 12),
        ("two dozen", 24),
        ("half a dozen", 6),
    ],
)
def test_parse_number_reads_a_whole_number(words, number):
    assert parse_number(words) == number


@pytest.mark.parametrize(
    "words",
    ["", "five five", "five minutes", "the", "10:30", "six thirty", "a cat", "twenty-", "hello"],
)
def test_parse_number_refuses_what_is_not_one_number(words):
    assert parse_number(words) is None


@pytest.mark.parametrize(
    ("text", "seconds", "span"),
    [
        ("Set a timer for 5 minutes.", 300, "5 minutes"),
        ("Set a timer for five minutes.", 300, "five minutes"),
        ("Set a 10-minute timer for the pasta.", 600, "10-minute"),
        ("Set a ten-minute timer.", 600, "ten-minute"),
        ("Remind me in twenty minutes to take the bread out.", 1200, "twenty minutes"),
        ("Timer, 5 min.", 300, "5 min"),
        ("Timer for 3 mins please", 180, "3 mins"),
        ("5min timer", 300, "5min"),
        ("In an hour and a half, remind me.", 5400, "an hour and a half"),
        ("One and a half hours.", 5400, "One and a half hours"),
        ("1.5 hours", 5400, "1.5 hours"),
        ("2.5 hours", 9000, "2.5 hours"),
        ("Remind me in half an hour.", 1800, "half an hour"),
        ("a half hour timer", 1800, "a half hour"),
        ("a half-hour timer", 1800, "a half-hour"),
        ("Give me a minute and a half.", 90, "a minute and a half"),
        ("Set a timer for 90 seconds.", 90, "90 seconds"),
        ("For 2 hours and 30 minutes.", 9000, "2 hours and 30 minutes"),
        ("For 2 hours 30 minutes.", 9000, "2 hours 30 minutes"),
        ("Set it for an hour, twenty minutes.", 4800, "an hour, twenty minutes"),
        ("An hour and twenty minutes", 4800, "An hour and twenty minutes"),
        ("1 hour, 5 minutes and 3 seconds please", 3903, "1 hour, 5 minutes and 3 seconds"),
        ("in a quarter of an hour", 900, "a quarter of an hour"),
        ("Three quarters of an hour.", 2700, "Three quarters of an hour"),
        ("Twenty-five minutes.", 1500, "Twenty-five minutes"),
        ("twenty five minutes", 1500, "twenty five minutes"),
        ("Remind me in a day.", 86400, "a day"),
        ("two days", 172800, "two days"),
        ("a day and a half", 129600, "a day and a half"),
        ("Two and a half minutes.", 150, "Two and a half minutes"),
        ("2 and a half minutes", 150, "2 and a half minutes"),
        ("half a minute", 30, "half a minute"),
        ("in a couple of hours", 7200, "a couple of hours"),
        ("an hour and a quarter", 4500, "an hour and a quarter"),
        ("2 hrs", 7200, "2 hrs"),
        ("1 hr", 3600, "1 hr"),
        ("10 secs", 10, "10 secs"),
        ("45 sec", 45, "45 sec"),
        ("one hundred and twenty seconds", 120, "one hundred and twenty seconds"),
        ("Wait a second.", 1, "a second"),
        ("SET A TIMER FOR FIFTEEN MINUTES!", 900, "FIFTEEN MINUTES"),
        ("Set a second timer for 3 minutes.", 180, "3 minutes"),
        # the first duration only; a bigger unit afterwards is another one
        ("Five minutes, then 10 minutes.", 300, "Five minutes"),
        ("5 minutes and 2 hours", 300, "5 minutes"),
    ],
)
def test_find_duration_reads_the_whole_phrase(text, seconds, span):
    found = find_duration(text)
    assert found is not None
    assert found.value == seconds
    assert text[found.start : found.end] == span


@pytest.mark.parametrize(
    "text",
    [
        "How long is left on my timer?",
        "I have 2 cats",
        "Remind me to call mum at 6 p.m.",
        "Wake me up at 7:15 a.m. tomorrow.",
        "Meet at half past six.",
        "What's a minimum wage?",
        "The second one, please.",
        "A few minutes",
        "",
    ],
)
def test_find_duration_finds_nothing_without_a_number_and_a_unit(text):
    assert find_duration(text) is None


def test_a_duration_can_be_cut_out_of_the_request():
    text = "Remind me in an hour and a half to check the oven."
    found = find_duration(text)
    assert found == Found(5400.0, 13, 31)
    assert text[: found.start] + text[found.end :] == "Remind me in  to check the oven."


def test_found_is_frozen():
    found = Found(1.0, 0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.value = 2.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "now", "when", "span"),
    [
        # Whisper's transcripts
        ("Remind me to call mum at 6 p.m.", AFTERNOON, at(1, 18), "at 6 p.m."),
        ("Remind me to call Mum at six.", AFTERNOON, at(1, 18), "at six"),
        ("Wake me up at 7:15 a.m. tomorrow.", AFTERNOON, at(2, 7, 15), "at 7:15 a.m. tomorrow"),
        ("Remind me at ten thirty to stretch.", AFTERNOON, at(1, 22, 30), "at ten thirty"),
        ("Set an alarm for 6 o'clock.", AFTERNOON, at(1, 18), "6 o'clock"),
        ("Wake me at Six O'Clock.", EVENING, at(2, 6), "at Six O'Clock"),
        # bare forms
        ("at 6", AFTERNOON, at(1, 18), "at 6"),
        ("six o'clock", AFTERNOON, at(1, 18), "six o'clock"),
        ("ten thirty", AFTERNOON, at(1, 22, 30), "ten thirty"),
        ("seven fifteen", EVENING, at(1, 19, 15), "seven fifteen"),
        ("six oh five", AFTERNOON, at(1, 18, 5), "six oh five"),
        ("10:30", AFTERNOON, at(1, 22, 30), "10:30"),
        ("at 10.30", AFTERNOON, at(1, 22, 30), "at 10.30"),
        ("10.30 am", AFTERNOON, at(2, 10, 30), "10.30 am"),
        ("at 6 30", AFTERNOON, at(1, 18, 30), "at 6 30"),
        ("18:45", AFTERNOON, at(1, 18, 45), "18:45"),
        ("18:45", EVENING, at(2, 18, 45), "18:45"),
        ("at 0:30", AFTERNOON, at(2, 0, 30), "at 0:30"),
        ("at 23:59", AFTERNOON, at(1, 23, 59), "at 23:59"),
        ("at 14", AFTERNOON, at(2, 14), "at 14"),
        # past / to
        ("half past six", AFTERNOON, at(1, 18, 30), "half past six"),
        ("quarter past 6", AFTERNOON, at(1, 18, 15), "quarter past 6"),
        ("at a quarter past six", AFTERNOON, at(1, 18, 15), "at a quarter past six"),
        ("quarter to seven", AFTERNOON, at(1, 18, 45), "quarter to seven"),
        ("twenty to eight", AFTERNOON, at(1, 19, 40), "twenty to eight"),
        ("ten past nine", AFTERNOON, at(1, 21, 10), "ten past nine"),
        ("twenty-five past six", AFTERNOON, at(1, 18, 25), "twenty-five past six"),
        ("five minutes to six", AFTERNOON, at(1, 17, 55), "five minutes to six"),
        ("10 to 8", AFTERNOON, at(1, 19, 50), "10 to 8"),
        ("quarter to one", AFTERNOON, at(2, 0, 45), "quarter to one"),
        ("ten past noon", AFTERNOON, at(2, 12, 10), "ten past noon"),
        ("five to midnight", AFTERNOON, at(1, 23, 55), "five to midnight"),
        ("at half six", AFTERNOON, at(1, 18, 30), "at half six"),
        # AM / PM
        ("6 pm", EVENING, at(2, 18), "6 pm"),
        ("6pm", AFTERNOON, at(1, 18), "6pm"),
        ("6 PM.", AFTERNOON, at(1, 18), "6 PM"),
        ("at 6 a.m.", AFTERNOON, at(2, 6), "at 6 a.m."),
        ("7:15 a.m.", EARLY, at(1, 7, 15), "7:15 a.m."),
        ("6:30pm", AFTERNOON, at(1, 18, 30), "6:30pm"),
        ("at 6.30pm", AFTERNOON, at(1, 18, 30), "at 6.30pm"),
        ("12 pm", AFTERNOON, at(2, 12), "12 pm"),
        ("12 am", AFTERNOON, at(2, 0), "12 am"),
        ("quarter to seven pm", AFTERNOON, at(1, 18, 45), "quarter to seven pm"),
        ("six o'clock am", AFTERNOON, at(2, 6), "six o'clock am"),
        # parts of the day
        ("six in the morning", AFTERNOON, at(2, 6), "six in the morning"),
        ("six in the evening", EARLY, at(1, 18), "six in the evening"),
        ("three in the afternoon", EARLY, at(1, 15), "three in the afternoon"),
        ("at eleven at night", AFTERNOON, at(1, 23), "at eleven at night"),
        ("at 7 this evening", AFTERNOON, at(1, 19), "at 7 this evening"),
        ("this evening at 7", AFTERNOON, at(1, 19), "this evening at 7"),
        ("in the morning at 7", AFTERNOON, at(2, 7), "in the morning at 7"),
        ("tonight at 8", AFTERNOON, at(1, 20), "tonight at 8"),
        ("Tonight at 8.", EARLY, at(1, 20), "Tonight at 8"),
        ("at 8 tonight", AFTERNOON, at(1, 20), "at 8 tonight"),
        ("tonight at 1", AFTERNOON, at(2, 1), "tonight at 1"),
        ("tonight at 12", AFTERNOON, at(2, 0), "tonight at 12"),
        # named times
        ("noon", AFTERNOON, at(2, 12), "noon"),
        ("at noon", EARLY, at(1, 12), "at noon"),
        ("midday", EARLY, at(1, 12), "midday"),
        ("midnight", AFTERNOON, at(2, 0), "midnight"),
        ("twelve noon", EARLY, at(1, 12), "twelve noon"),
        # tomorrow
        ("tomorrow at nine", AFTERNOON, at(2, 9), "tomorrow at nine"),
        ("Tomorrow at nine.", EARLY, at(2, 9), "Tomorrow at nine"),
        ("at nine tomorrow", AFTERNOON, at(2, 9), "at nine tomorrow"),
        ("tomorrow, at nine", AFTERNOON, at(2, 9), "tomorrow, at nine"),
        ("tomorrow 9 am", AFTERNOON, at(2, 9), "tomorrow 9 am"),
        ("tomorrow morning at 6", AFTERNOON, at(2, 6), "tomorrow morning at 6"),
        ("at 6 tomorrow evening", AFTERNOON, at(2, 18), "at 6 tomorrow evening"),
        ("tomorrow at 18:00", AFTERNOON, at(2, 18), "tomorrow at 18:00"),
        ("tomorrow at noon", AFTERNOON, at(2, 12), "tomorrow at noon"),
        ("tomorrow at midnight", AFTERNOON, at(3, 0), "tomorrow at midnight"),
        ("tomorrow night at 1", AFTERNOON, at(3, 1), "tomorrow night at 1"),
        ("tomorrow night at 11", AFTERNOON, at(2, 23), "tomorrow night at 11"),
        ("Remind me tomorrow to call mum at six.", AFTERNOON, at(2, 18), "at six"),
        ("Remind me at six to pack for tomorrow.", AFTERNOON, at(1, 18), "at six"),
        # wording around the time
        ("Remind me at around 7 to eat.", AFTERNOON, at(1, 19), "at around 7"),
        ("Look at the clock at 9", AFTERNOON, at(1, 21), "at 9"),
        ("Remind me at 5 to call mum", AFTERNOON, at(1, 17), "at 5"),
        ("Meet me at 12.", AFTERNOON, at(2, 0), "at 12"),
    ],
)
def test_find_clock_time_reads_the_next_such_time_and_its_span(text, now, when, span):
    found = find_clock_time(text, now)
    assert found is not None
    assert found[0] == when
    assert text[found[1] : found[2]] == span


@pytest.mark.parametrize(
    "text",
    [
        "I have 2 cats",
        "Set a timer for 5 minutes.",
        "Set a timer for five minutes.",
        "Remind me in twenty minutes to take the bread out.",
        "How long is left on my timer?",
        "It takes 2.5 hours.",
        "I need 2 to 3 hours.",
        "Count from 3 to 5.",
        "Six cats.",
        "tomorrow six",
        "at one point",
        "at 45 degrees",
        "at 5 percent",
        "at 24:00",
        "at 6:75",
        "I have seven fifteen-year-olds",
        "at six-minute intervals",
        "at the station",
        "",
    ],
)
def test_find_clock_time_finds_nothing_without_a_time(text):
    assert find_clock_time(text, AFTERNOON) is None


@pytest.mark.parametrize(
    ("now", "when"),
    [
        (EARLY, at(1, 6)),  # 05:00: this morning's six is still ahead
        (datetime(2026, 1, 1, 6, 0), at(1, 6)),  # exactly now counts
        (datetime(2026, 1, 1, 6, 0, 30), at(1, 18)),  # half a minute late: this evening
        (AFTERNOON, at(1, 18)),
        (EVENING, at(2, 6)),
        (LATE, at(2, 6)),
    ],
)
def test_an_ambiguous_hour_is_whichever_comes_next(now, when):
    found = find_clock_time("at six", now)
    assert found is not None and found[0] == when


@pytest.mark.parametrize(
    ("text", "now", "when"),
    [
        ("at 6 pm", EVENING, at(2, 18)),
        ("at 6 am", EARLY, at(1, 6)),
        ("at 6 am", AFTERNOON, at(2, 6)),
        ("at 18:00", AFTERNOON, at(1, 18)),
        ("at 18:00", EVENING, at(2, 18)),
        ("at 0:00", LATE, at(2, 0)),
    ],
)
def test_an_exact_time_is_today_when_still_ahead_else_tomorrow(text, now, when):
    found = find_clock_time(text, now)
    assert found is not None and found[0] == when


@pytest.mark.parametrize(
    ("hour", "expected"),
    [
        (1, 13),
        (2, 14),
        (3, 15),
        (4, 16),
        (5, 17),
        (6, 18),
        (7, 7),
        (8, 8),
        (9, 9),
        (10, 10),
        (11, 11),
        (12, 12),
    ],
)
def test_tomorrow_reads_an_ambiguous_hour_in_the_daytime(hour, expected):
    for now in (EARLY, AFTERNOON, LATE):
        found = find_clock_time(f"tomorrow at {hour}", now)
        assert found is not None and found[0] == at(2, expected)


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (300, "5 minutes"),
        (5400, "1 hour and 30 minutes"),
        (90, "1 minute and 30 seconds"),
        (1, "1 second"),
        (3600, "1 hour"),
        (45, "45 seconds"),
        (0, "0 seconds"),
        (0.4, "0 seconds"),
        (59.6, "1 minute"),
        (61, "1 minute and 1 second"),
        (120, "2 minutes"),
        (600, "10 minutes"),
        (599, "9 minutes and 59 seconds"),
        (629, "10 minutes"),
        (630, "11 minutes"),
        (3599, "1 hour"),
        (3690, "1 hour and 2 minutes"),
        (7200, "2 hours"),
        (9000, "2 hours and 30 minutes"),
        (86400, "1 day"),
        (90061, "1 day, 1 hour and 1 minute"),
        (-5, "0 seconds"),
    ],
)
def test_spoken_duration(seconds, said):
    assert spoken_duration(seconds) == said


@pytest.mark.parametrize(
    ("when", "said"),
    [
        (at(2, 6), "tomorrow at 6 AM"),
        (at(1, 22, 30), "10:30 PM"),
        (at(1, 21, 5), "9:05 PM"),
        (at(2, 10, 30), "tomorrow at 10:30 AM"),
        (at(2, 12), "tomorrow at noon"),
        (at(2, 12, 30), "tomorrow at 12:30 PM"),
        (at(2, 0, 30), "tomorrow at 12:30 AM"),
        (at(2, 0), "midnight"),  # tonight's midnight
        (at(3, 0), "tomorrow at midnight"),
        (at(3, 9), "9 AM"),  # further away: the caller says the day
        (at(1, 23, 45), "11:45 PM"),
    ],
)
def test_spoken_clock(when, said):
    assert spoken_clock(when, now=datetime(2026, 1, 1, 20, 0)) == said


def test_spoken_clock_at_noon_today():
    assert spoken_clock(at(1, 12), now=at(1, 9)) == "noon"
    assert spoken_clock(at(1, 18), now=at(1, 9)) == "6 PM"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Remind me to call mum at six.", "6 PM"),
        ("Wake me up at 7:15 a.m. tomorrow.", "tomorrow at 7:15 AM"),
        ("tomorrow at noon", "tomorrow at noon"),
        ("at midnight", "midnight"),
        ("tomorrow at midnight", "tomorrow at midnight"),
        ("half past ten", "10:30 PM"),
    ],
)
def test_a_time_heard_is_said_back(text, said):
    found = find_clock_time(text, AFTERNOON)
    assert found is not None
    assert spoken_clock(found[0], AFTERNOON) == said


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Set a timer for five minutes.", "5 minutes"),
        ("in an hour and a half", "1 hour and 30 minutes"),
        ("a minute and a half", "1 minute and 30 seconds"),
        ("three quarters of an hour", "45 minutes"),
        ("Set a 10-minute timer.", "10 minutes"),
    ],
)
def test_a_duration_heard_is_said_back(text, said):
    found = find_duration(text)
    assert found is not None
    assert spoken_duration(found.value) == said
