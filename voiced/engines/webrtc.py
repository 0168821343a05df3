"""webrtcvad behind the VoiceActivity interface."""

from __future__ import annotations

import numpy as np

from voiced.types import SAMPLE_RATE_HZ


class WebRtcVad:
    def __init__(self, aggressiveness: int) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)

    def is_speech(self, frame: np.ndarray) -> bool:
        return bool(self._vad.is_speech(frame.astype(np.int16).tobytes(), SAMPLE_RATE_HZ))
