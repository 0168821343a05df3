"""Word error rate with the normalisation transcripts need (case, punctuation, spelled titles)."""

from __future__ import annotations

from voiced.text import normalize_words

_SPELLINGS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}


def words(text: str) -> list[str]:
    return [_SPELLINGS.get(w, w) for w in normalize_words(text.replace("-", " ")).split()]


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1] / max(1, len(ref))
