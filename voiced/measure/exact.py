"""Questions with one right answer (sums, conversions, the calendar), as Whisper writes them,
with the figures a right reply says. The skills answer them exactly; the model guessed ("What
is fifteen percent of eighty?" was "seventy-five"). Asked on Monday 7 December 2026.

A reply is right when it says every figure of the answer (in digits or words), and wrong
when it says none or another.
"""

from __future__ import annotations

import datetime as dt

from voiced.skills.numbers import read_numbers

ASKED_ON = dt.datetime(2026, 12, 7, 10, 0)

QUESTIONS: list[tuple[str, tuple[str, ...]]] = [
    # the four operations, percentages, fractions
    ("What is fifteen percent of eighty?", ("12",)),
    ("What's 15% of 80?", ("12",)),
    ("What is 12 times 7?", ("84",)),
    ("What's 144 divided by 12?", ("12",)),
    ("What is 2.5 plus 3.75?", ("6.25",)),
    ("What's 1,200 divided by 3?", ("400",)),
    ("What is 20 minus 35?", ("minus 15",)),
    ("How much is 3 x 4?", ("12",)),
    ("What is half of 250?", ("125",)),
    ("What's a third of 90?", ("30",)),
    ("What is three quarters of 200?", ("150",)),
    ("What is two thirds of 90?", ("60",)),
    ("What is 7 squared?", ("49",)),
    ("What's the square root of 144?", ("12",)),
    ("What is 10 divided by 3?", ("3.33",)),
    ("What is 0.1 plus 0.2?", ("0.3",)),
    ("What is twelve point five times two?", ("25",)),
    ("What percent of 80 is 12?", ("15",)),
    ("Add 17 and 25.", ("42",)),
    ("Subtract 5 from 12.", ("7",)),
    ("Multiply 6 by 7.", ("42",)),
    ("Divide 100 by 8.", ("12.5",)),
    ("What is 2 to the power of 10?", ("1024",)),
    ("What is one hundred and five divided by seven?", ("15",)),
    ("Can you tell me what 6 times 8 is?", ("48",)),
    # conversions
    ("How many centimetres are in two metres?", ("200",)),
    ("Convert 5 miles to kilometres.", ("8.05",)),
    ("What is 100 degrees Fahrenheit in Celsius?", ("37.8",)),
    ("What's 20 degrees Celsius in Fahrenheit?", ("68",)),
    ("How many ounces in a pound?", ("16",)),
    ("How many pounds is 3 kilograms?", ("6.61",)),
    ("How many millilitres in a pint?", ("568.26", "473.18")),
    ("How many feet are in a mile?", ("5280",)),
    ("Convert 10 stone to kilograms.", ("63.5",)),
    ("What is 6 feet in centimetres?", ("182.88",)),
    ("How many seconds in an hour?", ("3600",)),
    ("How many litres in a gallon?", ("4.55", "3.79")),
    ("What is 60 miles per hour in kilometres per hour?", ("96.56",)),
    # the calendar
    ("How many days are there in a leap year?", ("366",)),
    ("How many days are in February 2028?", ("29",)),
    ("How many days does March have?", ("31",)),
    ("Is 2028 a leap year?", ("yes",)),
    ("What day of the week is the 25th of December?", ("friday",)),
    ("What day of the week was 1 January 2000?", ("saturday",)),
    ("How many days until Christmas?", ("18",)),
    ("How many days until the 14th of March?", ("97",)),
    ("How many weeks are in a year?", ("52",)),
]


def figures(text: str) -> list[str]:
    """The numbers a text says, as digits ("twelve" and "12" are both "12"; "1,024" is
    "1024"), and its words."""
    said: list[str] = []
    for item in read_numbers(text.lower().replace(",", "")):
        if isinstance(item, float):
            said.append(str(int(item)) if item == int(item) else repr(item))
        else:
            said.append(item)
    return said


def right(reply: str, answer: tuple[str, ...]) -> bool:
    """Whether the reply says every figure of the answer."""
    said = " " + " ".join(figures(reply)) + " "
    return all(f" {' '.join(figures(part))} " in said for part in answer)
