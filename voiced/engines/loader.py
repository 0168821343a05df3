"""One factory per engine, so commands load only what they need and tests can swap in fakes."""

from __future__ import annotations

import logging

from voiced.config import Settings
from voiced.engines import (
    ChatModel,
    Completer,
    Embedder,
    Reader,
    SpeechToText,
    TextToSpeech,
    TurnJudge,
    VoiceActivity,
    WakeWords,
)
from voiced.paths import cache_dir

log = logging.getLogger(__name__)


def make_vad(settings: Settings) -> VoiceActivity:
    from voiced.engines.webrtc import WebRtcVad

    return WebRtcVad(settings.vad.aggressiveness)


def make_judge(settings: Settings) -> TurnJudge | None:
    """The end-of-turn judge the configuration names (None: off)."""
    if not settings.vad.turn_model:
        return None
    from voiced.engines.smart_turn import SmartTurn

    return SmartTurn(settings.model_path(settings.vad.turn_model))


def make_wake(settings: Settings) -> WakeWords | None:
    """The wake word models, in wake mode with wake_source = "acoustic" (None otherwise)."""
    if not settings.activation.acoustic:
        return None
    from voiced.engines.wakeword import MicroWakeWords

    return MicroWakeWords(settings.activation.wake_words)


def make_stt(settings: Settings) -> SpeechToText:
    """Whisper here; with backend = "wyoming", a Wyoming server in front of it."""
    from voiced.engines.whisper import WhisperStt

    local = WhisperStt(settings.stt, settings.model_path(settings.stt.model))
    s = settings.stt
    if s.backend == "wyoming":
        from voiced.engines.remote import FallbackStt, WyomingStt

        return FallbackStt(WyomingStt(s.uri, s.language, s.timeout_s), local, s.retry_s)
    return local


def make_llm(settings: Settings) -> ChatModel:
    """The local GGUF model; with backend = "openai", a remote server in front of it
    (the local model answers whenever the remote does not)."""
    from voiced.engines.llama import LlamaChat

    local = LlamaChat(settings.llm, settings.llm_path)
    if settings.llm.backend == "openai":
        from voiced.engines.remote import remote_llm

        return remote_llm(settings.llm, local)
    return local


def make_reader(settings: Settings, llm: ChatModel) -> Reader | Completer | None:
    """What reads the facts in what is said ([memory] llm_facts), or None: off, or a
    model too small for it. A remote model answers the reading whole (falling back to
    the local one); the local one reads in a context of its own, in pieces."""
    from voiced.engines.llama import LlamaChat, LlamaReader
    from voiced.engines.remote import FallbackChat
    from voiced.models import manifest

    if not settings.memory.llm_facts:
        return None
    entry = manifest.for_file(settings.llm_path)
    if entry is not None and not entry.reads_facts:
        log.info("[memory] llm_facts is off with the %s model: it misreads facts", entry.name)
        return None
    if isinstance(llm, FallbackChat):
        return llm  # the remote model reads it whole, or the local one if it is away
    return LlamaReader(llm, cache_dir()) if isinstance(llm, LlamaChat) else None


def make_embedder(settings: Settings) -> Embedder | None:
    """The sentence embedding model that finds facts by meaning ([memory] embeddings); None
    if off, or if its files are missing (one line: facts are then found by their words)."""
    from voiced.engines.minilm import MiniLm
    from voiced.errors import ModelError

    if not settings.memory.embeddings:
        return None
    try:
        return MiniLm(settings.model_path("minilm"))
    except ModelError as exc:
        log.warning("%s: remembered facts are found by their words alone", exc)
        return None


def make_tts(settings: Settings) -> TextToSpeech:
    """Piper here; with backend = "wyoming", a Wyoming server in front of it."""
    from voiced.engines.piper import PiperTts

    local = PiperTts(settings.tts, settings.model_path(settings.tts.voice))
    s = settings.tts
    if s.backend == "wyoming":
        from voiced.engines.remote import FallbackTts, WyomingTts

        remote = WyomingTts(s.uri, s.remote_voice, local.sample_rate_hz, s.timeout_s)
        return FallbackTts(remote, local, s.retry_s)
    return local
