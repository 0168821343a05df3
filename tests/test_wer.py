from tests.wer import wer


def test_wer_counts_substitutions_insertions_and_deletions():
    assert wer("the cat sat", "the cat sat") == 0
    assert wer("the cat sat", "the bat sat") == 1 / 3
    assert wer("the cat sat", "the cat sat down") == 1 / 3
    assert wer("the cat sat", "cat") == 2 / 3


def test_wer_ignores_case_punctuation_and_spelled_titles():
    assert wer("NOR IS MISTER QUILTER'S MANNER", "Nor is Mr. Quilter's manner.") == 0
