import pytest

from voiced.text import SentenceSplitter, is_filler, normalize_words, speakable, split_sentences


@pytest.mark.parametrize(
    ("raw", "spoken"),
    [
        ("**Paris** is the _capital_.", "Paris is the capital."),
        ("# Title\n- one\n- two", "Title one two"),
        ("See https://example.org/x?y=1 for more.", "See a link for more."),
        ("Run `ls -la` now.", "Run ls -la now."),
        ("Here:\n```python\nprint(1)\n```\nDone.", "Here: Done."),
        ("Great job! 🎉😀 Keep going.", "Great job! Keep going."),
        ("[the docs](http://x.y) say so", "the docs say so"),
        ("Assistant: Hello there.", "Hello there."),
        ("1. First\n2. Second", "First Second"),
    ],
)
def test_speakable_strips_what_a_voice_should_not_read(raw, spoken):
    assert speakable(raw) == spoken


def test_splitter_hands_out_sentences_as_they_complete():
    splitter = SentenceSplitter()
    got = []
    for piece in ["Hel", "lo there", ". How are", " you? I am", " fine"]:
        got.append(splitter.feed(piece))
    assert got == [[], [], ["Hello there."], ["How are you?"], []]
    assert splitter.flush() == "I am fine"


def test_splitter_keeps_abbreviations_initials_and_decimals_together():
    text = "Dr. Smith met J. R. Tolkien at 3.5 pm. It went well! Really."
    assert split_sentences(text) == [
        "Dr. Smith met J. R. Tolkien at 3.5 pm.",
        "It went well!",
        "Really.",
    ]


def test_splitter_does_not_cut_at_colons_or_semicolons():
    assert split_sentences("Note: it is late; go to bed now. Yes.") == [
        "Note: it is late; go to bed now.",
        "Yes.",
    ]


@pytest.mark.parametrize(
    "text", ["", "  ", "Um.", "uh", "Hmm...", "[Music]", "(upbeat music)", "♪♪", "You"]
)
def test_fillers_and_noise_captions_are_not_worth_answering(text):
    assert is_filler(text)


@pytest.mark.parametrize("text", ["What time is it?", "Thank you.", "No.", "Okay, stop."])
def test_real_requests_are_kept(text):
    assert not is_filler(text)


def test_normalize_words():
    assert normalize_words("Hello, World!  It's  3 o’clock.") == "hello world it's 3 o'clock"
