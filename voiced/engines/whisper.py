"""faster-whisper behind the SpeechToText interface."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from voiced.config import SttSettings
from voiced.errors import AudioFileError, ModelError
from voiced.text import is_filler, normalize_words
from voiced.types import SAMPLE_RATE_HZ, Transcript

log = logging.getLogger(__name__)

SHORT_PAD_S = 10.0
"""Silence (zero features) after the audio in a short window: with less, tiny.en runs on
past the end of the words and repeats them (measured here: 6 s repeats, 10 s does not)."""
SHORT_MAX_S = 15.0
"""Longer utterances get the usual 30 s window (the gain shrinks as the window fills)."""
SURE_LOGPROB = -0.2
"""A short-window text less likely than this (average log-probability per token) is made
again with the full window: of the clips here, the misheard ones scored below it (and a few
of the right ones)."""
DRAFT_LOGPROB = -1.0
"""A draft of speech still going on is kept down to this: its words are cut in the middle
(which makes the decoder unsure), its last word is dropped anyway, and a wrong one costs
only the head start it would have given."""
TOKENS_PER_S = 6.0
"""Speech rarely needs more tokens than this per second (plus 10): more is runaway text."""
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
        self._short_prompt = self._prompt() if settings.short_window else None

    def _prompt(self) -> list[int] | None:
        """The decoder's start for a short window: transcribe, in the set language, no
        timestamps (None: a multilingual model with no language set detects it the usual
        way)."""
        from faster_whisper.tokenizer import Tokenizer

        model = self._model
        multilingual = model.model.is_multilingual
        if multilingual and not self._settings.language:
            return None
        language = self._settings.language or None
        tokenizer = Tokenizer(model.hf_tokenizer, multilingual, "transcribe", language)
        return [*tokenizer.sot_sequence, tokenizer.no_timestamps]

    def transcribe(self, audio: np.ndarray) -> Transcript:
        started = time.perf_counter()
        if audio.dtype == np.int16:
            audio = audio.astype(np.float32) / 32768.0
        heard = None
        if self._short_prompt is not None and len(audio) <= SHORT_MAX_S * SAMPLE_RATE_HZ:
            heard = self._short(audio, self._short_prompt)
        if heard is None:
            heard = self._full(audio)
        log.debug(
            "transcribed %.2f s of audio in %.0f ms",
            len(audio) / SAMPLE_RATE_HZ,
            (time.perf_counter() - started) * 1000,
        )
        return heard

    def draft(self, audio: np.ndarray, finished: bool = False) -> Transcript | None:
        """A quick look at speech still going on: the short window only, kept unless very
        unsure (a word cut in the middle makes it unsure) or repeating itself; None then,
        or when the window is off. finished: the speaker has gone quiet and may be done:
        kept only if as sure as a transcript (the full window is not tried: the caller
        has it made if the speaker is done after all)."""
        if audio.dtype == np.int16:
            audio = audio.astype(np.float32) / 32768.0
        if self._short_prompt is None or len(audio) > SHORT_MAX_S * SAMPLE_RATE_HZ:
            return None
        started = time.perf_counter()
        heard = self._short(audio, self._short_prompt, SURE_LOGPROB if finished else DRAFT_LOGPROB)
        log.debug(
            "%s %.2f s of audio in %.0f ms",
            "looked at" if finished else "drafted",
            len(audio) / SAMPLE_RATE_HZ,
            (time.perf_counter() - started) * 1000,
        )
        return heard

    def _short(
        self, audio: np.ndarray, prompt: list[int], sure: float = SURE_LOGPROB
    ) -> Transcript | None:
        """The words in a window as long as the audio plus SHORT_PAD_S of silence, or None
        when that text is doubtful (less likely than `sure`: the full window decides then)."""
        import ctranslate2

        model = self._model
        frames = len(audio) // model.feature_extractor.hop_length
        features = model.feature_extractor(audio)[:, :frames]
        padding = np.zeros((features.shape[0], round(SHORT_PAD_S * 100)), features.dtype)
        window = np.ascontiguousarray(np.concatenate([features, padding], axis=1)[None])
        seconds = len(audio) / SAMPLE_RATE_HZ
        limit = round(TOKENS_PER_S * seconds + 10)
        (result,) = model.model.generate(
            ctranslate2.StorageView.from_array(window),
            [prompt],
            beam_size=self._settings.beam_size,
            max_length=limit,
            return_scores=True,
            return_no_speech_prob=True,
        )
        eot = model.hf_tokenizer.token_to_id("<|endoftext|>")
        tokens = [t for t in result.sequences_ids[0] if t < eot]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        text = model.hf_tokenizer.decode(tokens).strip()
        if not normalize_words(text):  # no words at all, only "." or "...": noise
            return Transcript("", result.no_speech_prob, dropped="noise")
        reason = doubt(text, len(tokens), limit, avg_logprob, sure)
        if reason:
            log.debug("short window doubtful (%s): %r", reason, text)
            return None
        return self._kept(text, result.no_speech_prob)

    def _full(self, audio: np.ndarray) -> Transcript:
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
        return self._kept(" ".join(t for t in kept if t).strip(), worst_no_speech)

    @staticmethod
    def _kept(text: str, no_speech_prob: float) -> Transcript:
        if not text:
            return Transcript("", no_speech_prob, dropped="noise")
        if is_filler(text):
            return Transcript("", no_speech_prob, dropped="filler")
        return Transcript(text, no_speech_prob)


def doubt(
    text: str, tokens: int, limit: int, avg_logprob: float, sure: float = SURE_LOGPROB
) -> str:
    """Why a short-window text should not be trusted ("" if it can be): less likely than
    `sure`, cut at the length limit, or saying the same words twice."""
    if avg_logprob < sure:
        return f"unsure, {avg_logprob:.2f}"
    if tokens >= limit:
        return "too long"
    if repeats(text):
        return "repeats itself"
    return ""


def repeats(text: str) -> bool:
    """Whether the text says something twice: a run of two or more words twice in a row
    ("what time is it what time is it"), or a run of four twice at all ("what is the capital
    of france what is the capital"): the decoder running on past the end of the speech."""
    words = normalize_words(text).split()
    for size in range(2, len(words) // 2 + 1):
        for start in range(len(words) - 2 * size + 1):
            if words[start : start + size] == words[start + size : start + 2 * size]:
                return True
    runs = [tuple(words[i : i + 4]) for i in range(len(words) - 3)]
    if len(set(runs)) < len(runs):
        return True
    # ending on the words it began with ("good morning how did you sleep good morning"):
    # the decoder starting over
    return any(words[:size] == words[-size:] for size in range(2, len(words) // 2 + 1))


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
