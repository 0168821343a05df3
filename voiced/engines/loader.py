"""One factory per engine, so commands load only what they need and tests can swap in fakes."""

from __future__ import annotations

from voiced.config import Settings
from voiced.engines import (
    ChatModel,
    SpeechToText,
    TextToSpeech,
    TurnJudge,
    VoiceActivity,
    WakeWords,
)


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
