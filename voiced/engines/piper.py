"""Piper behind the TextToSpeech interface."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from voiced.config import TtsSettings
from voiced.engines.whisper import FETCH_HINT
from voiced.errors import ModelError
from voiced.text import readable_by


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
            # its threads sleep when a sentence is done, not spin: on two cores a spinning
            # thread slows the language model writing the next one
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = onnxruntime.InferenceSession(
                str(voice_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(f"voice {voice_path} cannot be loaded ({exc}); {FETCH_HINT}") from None
        self._voice = PiperVoice(config=config, session=session)
        self._settings = settings
        self._styles: dict[float, SynthesisConfig] = {}
        self._config = SynthesisConfig
        self.sample_rate_hz: int = config.sample_rate
        self._language = str(config.espeak_voice or "en")

    def synthesize(self, text: str, pace: float = 1.0) -> Iterator[np.ndarray]:
        style = self._styles.get(pace)
        if style is None:
            softer = min(1.0, 1.0 / pace)  # a slower voice for a low mood is a softer one
            style = self._styles[pace] = self._config(
                length_scale=self._settings.length_scale * pace,
                volume=self._settings.volume * softer,
            )
        text = readable_by(text, self._language)
        if not any(ch.isalnum() for ch in text):
            return  # nothing this voice can say
        for chunk in self._voice.synthesize(text, style):
            yield chunk.audio_int16_array
