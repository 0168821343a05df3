"""Smart Turn v3 (pipecat-ai, BSD-2-Clause) behind the TurnJudge interface.

The model hears the last 8 s of the turn as Whisper-style log-mel features (80 bins, 10 ms
hops, the waveform normalised first; silence in front when the turn is shorter) and says
how likely it is that the speaker has finished: the prosody of a question that is over,
against the rising or held voice of someone who is thinking. About 45 ms per call here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voiced.errors import ModelError
from voiced.types import SAMPLE_RATE_HZ

WINDOW_S = 8


class SmartTurn:
    def __init__(self, model_path: Path, threads: int = 1) -> None:
        import onnxruntime as ort
        from faster_whisper.feature_extractor import FeatureExtractor

        from voiced.models import manifest

        entry = manifest.for_file(model_path)
        hint = entry.fetch_hint() if entry is not None else "run `make models` to fetch it"
        if not model_path.is_file():
            raise ModelError(f"end-of-turn model not found: {model_path}; {hint}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(
                str(model_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(
                f"end-of-turn model {model_path} cannot be loaded ({exc}); {hint}"
            ) from None
        self._features = FeatureExtractor(feature_size=80, chunk_length=WINDOW_S)

    def finished(self, audio: np.ndarray) -> float:
        """The probability that the speech so far (16 kHz) ends the speaker's turn."""
        samples = WINDOW_S * SAMPLE_RATE_HZ
        if audio.dtype == np.int16:
            audio = audio.astype(np.float32) / 32768.0
        audio = audio[-samples:]
        window = np.zeros(samples, np.float32)
        window[samples - len(audio) :] = audio
        window = (window - window.mean()) / np.sqrt(window.var() + 1e-7)
        features = self._features(window, padding=0)[:, : samples // 160]
        (probability,) = self._session.run(None, {"input_features": features[None]})
        return float(np.asarray(probability).reshape(-1)[0])
