"""When a short-window transcript is trusted, and when the full window makes it again."""

from voiced.engines.whisper import SURE_LOGPROB, doubt, repeats


def test_a_decoder_that_runs_on_past_the_words_repeats_itself():
    assert repeats("What time is it? What time is it?")
    assert repeats("What is the capital of France? What is the capital")
    assert repeats("Good morning. How did you sleep? Good morning")
    assert not repeats("Ask not what your country can do for you, ask what you can do")
    assert not repeats("No, no, I said the other one.")  # one word twice is speech
    assert not repeats("What time is it?")


def test_a_sure_short_text_is_kept_and_a_doubtful_one_is_not():
    assert doubt("What time is it?", 6, 23, -0.1) == ""
    assert doubt("Nor is Mr. Colter's manner", 12, 40, SURE_LOGPROB - 0.05).startswith("unsure")
    assert doubt("la " * 20, 20, 20, -0.1) == "too long"
    assert doubt("turn it on turn it on", 7, 30, -0.1) == "repeats itself"
