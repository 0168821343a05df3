"""Piper behind the TextToSpeech interface."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from voiced.config import TtsSettings
from voiced.engines.whisper import FETCH_HINT
from voiced.errors import ModelError


class PiperTts:
    def __init__(self, settings: TtsSettings, voice_path: Path) -> None:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig, SynthesisConfig

        config_path = Path(f"{voice_path}.json")
        for path in (voice_path, config_path):
            if not path.is_file():
                raise ModelError(f"voice file not found: {path}; {FETCH_HINT}")
        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = settings.threads
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(
                str(voice_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(f"voice {voice_path} cannot be loaded ({exc}); {FETCH_HINT}") from None
        self._voice = PiperVoice(config=config, session=session)
        self._syn = SynthesisConfig(length_scale=settings.length_scale, volume=settings.volume)
        self.sample_rate_hz: int = config.sample_rate

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        for chunk in self._voice.synthesize(text, self._syn):
            yield chunk.audio_int16_array
