"""One factory per engine, so commands load only what they need and tests can swap in fakes."""

from __future__ import annotations

from voiced.config import Settings
from voiced.engines import ChatModel, SpeechToText, TextToSpeech, VoiceActivity


def make_vad(settings: Settings) -> VoiceActivity:
    from voiced.engines.webrtc import WebRtcVad

    return WebRtcVad(settings.vad.aggressiveness)


def make_stt(settings: Settings) -> SpeechToText:
    from voiced.engines.whisper import WhisperStt

    return WhisperStt(settings.stt, settings.model_path(settings.stt.model))


def make_llm(settings: Settings) -> ChatModel:
    from voiced.engines.llama import LlamaChat

    return LlamaChat(settings.llm, settings.model_path(settings.llm.model))


def make_tts(settings: Settings) -> TextToSpeech:
    from voiced.engines.piper import PiperTts

    return PiperTts(settings.tts, settings.model_path(settings.tts.voice))
