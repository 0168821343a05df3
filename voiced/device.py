"""The assistant itself, as the user may change it by voice: its volume, its microphone."""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

VOLUME_RANGE = (0.25, 2.0)
"""How quiet and how loud "quieter" and "louder" may make it (1.0: as configured)."""


class Volume:
    """The level every reply is spoken at."""

    def __init__(self) -> None:
        self.level = 1.0

    def change(self, step: float) -> float:
        low, high = VOLUME_RANGE
        self.level = round(min(high, max(low, self.level + step)), 2)
        log.info("volume %.0f%%", self.level * 100)
        return self.level

    def apply(self, speech: np.ndarray) -> np.ndarray:
        if self.level == 1.0 or not len(speech):
            return speech
        louder = speech.astype(np.float32) * self.level
        return np.clip(louder, -32768, 32767).astype(np.int16)


class NoMicrophone:
    """The device of a turn with no microphone loop around it (text turns, one file)."""

    def __init__(self, volume: Volume) -> None:
        self.volume = volume

    def change_volume(self, step: float) -> float:
        return self.volume.change(step)

    def mute_microphone(self) -> None:
        log.info("no microphone to mute")
