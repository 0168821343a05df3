"""faster-whisper behind the SpeechToText interface."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from voiced.config import SttSettings
from voiced.errors import AudioFileError, ModelError
from voiced.text import is_filler
from voiced.types import SAMPLE_RATE_HZ, Transcript

log = logging.getLogger(__name__)
FETCH_HINT = "run `make install` (or .venv/bin/python scripts/fetch_models.py) to fetch it"


def check_model_dir(path: Path) -> None:
    """faster-whisper takes an unknown path for a hub model name: refuse before it tries."""
    if not (path / "model.bin").is_file():
        raise ModelError(f"speech model not found: {path / 'model.bin'}; {FETCH_HINT}")


class WhisperStt:
    def __init__(self, settings: SttSettings, model_dir: Path) -> None:
        from faster_whisper import WhisperModel

        check_model_dir(model_dir)
        self._settings = settings
        try:
            self._model = WhisperModel(
                str(model_dir),
                device="cpu",
                compute_type=settings.compute_type,
                cpu_threads=settings.threads,
                local_files_only=True,
            )
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError on bad files
            raise ModelError(
                f"speech model in {model_dir} cannot be loaded ({exc}); {FETCH_HINT}"
            ) from None

    def transcribe(self, audio: np.ndarray) -> Transcript:
        if audio.dtype == np.int16:
            audio = audio.astype(np.float32) / 32768.0
        s = self._settings
        segments, _info = self._model.transcribe(
            audio,
            language=s.language or None,
            beam_size=s.beam_size,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=True,
            temperature=0.0,  # no re-decoding fallbacks: they cost seconds on noise
        )
        kept, worst_no_speech = [], 0.0
        for segment in segments:  # decoding happens here, inside the worker thread
            worst_no_speech = max(worst_no_speech, segment.no_speech_prob)
            if (
                segment.no_speech_prob > s.no_speech_threshold
                and segment.avg_logprob < s.logprob_threshold
            ):
                log.debug(
                    "not speech: %r (no_speech %.2f, logprob %.2f)",
                    segment.text,
                    segment.no_speech_prob,
                    segment.avg_logprob,
                )
                continue
            kept.append(segment.text.strip())
        text = " ".join(t for t in kept if t).strip()
        if not text:
            return Transcript("", worst_no_speech, dropped="noise")
        if is_filler(text):
            return Transcript("", worst_no_speech, dropped="filler")
        return Transcript(text, worst_no_speech)


def read_audio_file(path: Path) -> np.ndarray:
    """Any file faster-whisper can decode, as 16 kHz mono float32."""
    from faster_whisper import decode_audio

    if not path.is_file():
        raise AudioFileError(f"{path}: no such audio file")
    try:
        audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE_HZ)
    except Exception as exc:
        raise AudioFileError(f"{path}: cannot read audio ({type(exc).__name__})") from None
    if audio.size == 0:
        raise AudioFileError(f"{path}: holds no audio")
    return np.asarray(audio, dtype=np.float32)
