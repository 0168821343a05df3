"""Acoustic wake words: microWakeWord models (pymicro-wakeword, with its own TensorFlow
Lite runtime and the models it ships), listening to the raw microphone stream.

The audio's features are computed once, every 10 ms, and each chosen model reads them.
A model's probability, averaged over its last few readings, stays above its cutoff for a
while after the word: one wake is reported, then the model is not heard again until
REFIRE_S has passed.
"""

from __future__ import annotations

import numpy as np

from voiced.engines import Wake, WakeWords
from voiced.errors import ModelError
from voiced.models.wake_words import WAKE_WORDS
from voiced.types import SAMPLE_RATE_HZ

CHUNK = SAMPLE_RATE_HZ // 100
"""The features' step: 10 ms."""
REFIRE_S = 1.5
"""After a wake, the same model is not heard for this long (it is still above its cutoff
for a few readings, and "hey jarvis, hey jarvis" is one call)."""


class MicroWakeWords:
    """One or more wake word models over one audio stream."""

    def __init__(self, names: list[str]) -> None:
        unknown = [n for n in names if n not in WAKE_WORDS]
        if unknown or not names:
            raise ModelError(
                f"unknown wake word {', '.join(unknown) or '(none)'}; "
                f"known: {', '.join(WAKE_WORDS)}"
            )
        try:
            from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model
        except ImportError as exc:  # a broken install: say so, not a traceback
            raise ModelError(f"the wake word runtime cannot be loaded ({exc})") from None
        self.names = list(dict.fromkeys(names))
        self._models = {name: MicroWakeWord.from_builtin(Model(name)) for name in self.names}
        self._features = MicroWakeWordFeatures()
        self._quiet_until = dict.fromkeys(self.names, float("-inf"))
        self._pending = np.zeros(0, np.int16)

    def hear(self, frame: np.ndarray, start_s: float) -> Wake | None:
        """One frame of 16 kHz int16 audio that started at start_s: the wake it completes,
        if any (the first, when two models fire in one frame)."""
        end_s = start_s + len(frame) / SAMPLE_RATE_HZ
        audio = np.concatenate([self._pending, frame.astype(np.int16)])
        whole = len(audio) - len(audio) % CHUNK
        self._pending = audio[whole:]
        first_end_s = end_s - (len(audio) - CHUNK) / SAMPLE_RATE_HZ
        woke = None
        for i in range(whole // CHUNK):
            at_s = first_end_s + i * CHUNK / SAMPLE_RATE_HZ
            chunk = audio[i * CHUNK : (i + 1) * CHUNK].tobytes()
            for features in self._features.process_streaming(chunk):
                for name, model in self._models.items():
                    probability = model.process_streaming_prob(features) or 0.0
                    if probability > model.probability_cutoff and at_s >= self._quiet_until[name]:
                        self._quiet_until[name] = at_s + REFIRE_S
                        if woke is None:
                            woke = Wake(name, WAKE_WORDS[name], round(at_s, 3), probability)
        return woke

    def reset(self) -> None:
        """A new stream (a client's, a file's): nothing of the last one is carried."""
        for model in self._models.values():
            model.reset()
        self._features.reset()
        self._quiet_until = dict.fromkeys(self.names, float("-inf"))
        self._pending = np.zeros(0, np.int16)


def wakes_in(words: WakeWords, audio: np.ndarray, frame: int = 480) -> list[Wake]:
    """Every wake in a whole recording (16 kHz int16), from its start; a second of silence
    after it lets a word at its very end be heard."""
    words.reset()
    padded = np.concatenate([audio.astype(np.int16), np.zeros(SAMPLE_RATE_HZ, np.int16)])
    found = []
    for start in range(0, len(padded), frame):
        wake = words.hear(padded[start : start + frame], start / SAMPLE_RATE_HZ)
        if wake is not None:
            found.append(wake)
    return found
