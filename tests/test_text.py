import pytest

from voiced.text import (
    SentenceSplitter,
    is_filler,
    normalize_words,
    settled_words,
    speakable,
    split_sentences,
)


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


def _pieces(text, first_clause_words=4):
    splitter = SentenceSplitter(first_clause_words)
    pieces = []
    for token in text.split(" "):  # streamed word by word, as a model writes
        pieces += splitter.feed(token + " ")
    rest = splitter.flush()
    return pieces + ([rest] if rest else [])


def test_the_first_piece_ends_before_a_new_phrase_so_the_voice_starts_sooner():
    assert _pieces("Living is a wonderful experience that brings joy and fulfillment.") == [
        "Living is a wonderful experience",
        "that brings joy and fulfillment.",
    ]
    assert _pieces("I can't turn on the living room lamp yet. Sorry.") == [
        "I can't turn on",
        "the living room lamp yet.",
        "Sorry.",
    ]
    # a comma is the better place, after two words already: the voice pauses there anyway
    assert _pieces("Well, I think that the best way is to ask")[0] == "Well, I think that"
    assert _pieces("Sure thing, I can help with that today.") == [
        "Sure thing,",
        "I can help with that today.",
    ]
    assert _pieces("I'm doing well, thank you for asking!")[0] == "I'm doing well,"
    # ... but not when the sentence ends right after it
    assert _pieces("No idea, sorry. Ask me again.")[0] == "No idea, sorry."
    assert _pieces("Paris is lovely in spring, when the trees bloom.")[0] == (
        "Paris is lovely in spring,"
    )


def test_a_short_sentence_is_never_split_near_its_end():
    assert _pieces("I am sorry to hear that.") == ["I am sorry to hear that."]
    assert _pieces("The capital of France is Paris.") == ["The capital of France is Paris."]
    assert _pieces("It is nice to meet you in person.") == ["It is nice to meet you in person."]
    # once the first pieces have a few words, the sentences go whole
    assert _pieces("I can tell you that. It is about the brave little dragon and his friends.") == [
        "I can tell you that.",
        "It is about the brave little dragon and his friends.",
    ]


def test_a_first_piece_of_a_word_or_two_lets_the_next_be_a_clause_too():
    # "Sure!" is over before the whole sentence after it is written: the voice would stop
    assert _pieces("Sure! Once upon a time, there was a brave little dragon named Zephyr.") == [
        "Sure!",
        "Once upon a time,",
        "there was a brave little dragon named Zephyr.",
    ]
    assert _pieces("Yes. I will tell you about the brave little dragon and his friends.") == [
        "Yes.",
        "I will tell you",
        "about the brave little dragon and his friends.",
    ]


def test_a_later_piece_ends_at_a_comma_once_it_is_as_long_as_the_pieces_before_it():
    story = (
        "Sure, here's a story about a brave little dragon: once upon a time, there was"
        " a little dragon named Sparky, who lived alone in a cave."
    )
    assert _pieces(story) == [
        "Sure, here's a story",
        "about a brave little dragon:",  # 5 words after 4
        # 4 words after 9 go on; then 16 after 9 may end at the comma
        "once upon a time, there was a little dragon named Sparky,",
        "who lived alone in a cave.",
    ]


@pytest.mark.parametrize(
    ("draft", "settled"),
    [
        ("The child almost hurt the s-", "The child almost hurt the"),
        ("The child, um...", "The child"),  # the speaker may go on after "child"
        ("At that high level, the air is...", "At that high level, the air"),
        ("Amen.", ""),  # one word: it may still change
        ("", ""),
    ],
)
def test_the_settled_words_of_speech_going_on_are_all_but_the_last(draft, settled):
    assert settled_words(draft) == settled


def _fed(tokens, first_clause_words=0):
    """What the splitter hands out after each token of a model's stream."""
    splitter = SentenceSplitter(first_clause_words)
    return [splitter.feed(token) for token in tokens]


def test_a_mark_that_cannot_go_on_ends_the_piece_without_waiting_for_the_next_token():
    # a model writes " word" tokens: the space after "!" would come a token later
    hello = _fed(["Hello", "!", " How", " can", " I", " help", "?"])
    assert hello == [[], ["Hello!"], [], [], [], [], ["How can I help?"]]
    assert _fed(["It", " is", " late", "."])[-1] == ["It is late."]
    clause = _fed(["Well", ",", " I", " think", " so", ",", " yes"], first_clause_words=4)
    assert clause[5] == ["Well, I think so,"]


def test_a_mark_that_may_go_on_waits_for_the_next_token():
    decimal = _fed(["It", " is", " 3", ".", "5", " degrees", "."])
    assert decimal == [[], [], [], [], [], [], ["It is 3.5 degrees."]]
    assert _fed(["Ask", " Dr", ".", " Smith", "."])[2:] == [[], [], ["Ask Dr. Smith."]]
    thousands = _fed(["It", " costs", " about", " 1", ",", "000", " dollars"], 3)
    assert thousands[4:6] == [[], []]  # not "It costs about 1,"
