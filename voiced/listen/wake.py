"""Asleep until the wake word: whether the microphone's frames reach the turn at all.

In wake mode (wake_source = "acoustic") the wake word models hear every frame; nothing
else does until one fires. Awake: for LISTEN_S after a wake word (the request may follow
in the same breath, or after a moment), for as long as the user then speaks, while the
assistant speaks and for follow_up_s after it (follow-ups need no wake word; at least
ANSWER_S when the reply asked something). The rest of the time the voice activity detector
and the recogniser never see the room's sound.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from voiced.engines import Wake, WakeWords
from voiced.listen.activation import answer_window

log = logging.getLogger(__name__)

LISTEN_S = 5.0
"""After a wake word, a request may start this late."""
ALONE_S = 0.7
"""A wake word followed by this long without speech came alone: it is acknowledged."""


class WakeGate:
    def __init__(
        self, words: WakeWords, follow_up_s: float, asked: Callable[[], bool] = lambda: False
    ) -> None:
        self.words = words
        self.follow_up_s = follow_up_s
        self.asked = asked
        """Whether the last reply asked something (its answer is awaited, follow-ups or not)."""
        self.wakes = 0
        """Wake words heard since the start."""
        self.last: Wake | None = None
        """The last wake word heard."""
        self._awake_until_s = float("-inf")

    def hear(self, frame: np.ndarray, start_s: float) -> Wake | None:
        """A frame of the microphone (the echo taken out while anything may be playing)."""
        wake = self.words.hear(frame, start_s)
        if wake is not None:
            self.wakes += 1
            self.last = wake
            self._awake_until_s = max(self._awake_until_s, wake.at_s + LISTEN_S)
            log.info("woken by %r at %.2f s (%.3f)", wake.phrase, wake.at_s, wake.probability)
        return wake

    def awake(self, now_s: float, speaking_until_s: float) -> bool:
        """Whether what is heard at now_s may be the user's turn; speaking_until_s: when
        the assistant's sound ends (or ended; 0: it has said nothing yet)."""
        window_s = answer_window(self.follow_up_s, self.asked())
        if speaking_until_s > 0 and now_s < speaking_until_s + window_s:
            return True
        return now_s < self._awake_until_s
