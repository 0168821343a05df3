"""What the benchmarks play: human recordings, questions said by the configured voice,
non-speech, the barge-in requests and the hesitation scene, laid out on one timeline.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voiced.audio import resample
from voiced.audio.files import write_wav
from voiced.measure.recording import last_sound_s, speech_end_s
from voiced.types import SAMPLE_RATE_HZ

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"


HUMAN_PROMPTS = [
    "voice2json_what_time_is_it.wav",
    "wyomingfw_turn_on_the_living_room_lamp.wav",
    "speechbrain_spk2_snt2.wav",
    "speechbrain_spk1_snt1.wav",
]


SYNTHETIC_PROMPTS = [
    "What is the capital of France?",
    "Can you tell me a joke?",
    "How are you today?",
]


NOISE_CLIPS = ["leopard_empty.wav"]


STORY_SUBJECTS = ("dragon", "robot", "lighthouse keeper")
"""The live scenes ask for them one after another (the model asked for a story it was
stopped in says its first words again, and then nothing)."""


INTERRUPTIONS = [("Stop.", False), ("What is your name?", True)]


INTERRUPT_AFTER_S = 3.0
"""After the story request ends: about a second into the reply with the 1.5B model (its first
sound comes about 2.2 s after the end of speech; at 1.5 s the user spoke before the reply had
begun, and no barge-in was measured)."""


GAP_S = 10.0


HESITATION_CLIPS = [
    "forte_test_audio_0.flac",
    "forte_test_audio_1.flac",
    "speechbrain_spk1_snt1.wav",
    "speechbrain_spk1_snt3.wav",
    "speechbrain_spk2_snt2.wav",
    "wyomingfw_turn_on_the_living_room_lamp.wav",
]
"""Each gets a pause after a third and after two thirds of its words: 12 utterances."""


HESITATIONS_S = (0.6, 0.9)


HESITATION_GAP_S = 8.0


@dataclass
class Prompt:
    name: str
    audio: np.ndarray
    speech: bool
    """A request that deserves a reply (False: noise, music)."""
    start_s: float = 0.0
    speech_end_s: float = 0.0
    interrupts: bool = False
    """Played over the previous prompt's reply."""
    pause_s: float = 0.0
    """A hesitation: the length of the pause put into the recording…"""
    pause_at_s: float = 0.0
    """…and where it starts in the clip (a reply sounding after it and before the end of
    the speech cut the speaker off)."""


def story(subject: str = STORY_SUBJECTS[0]) -> str:
    """What a barge-in scene's user asks for: a reply long enough to talk over."""
    return f"Please tell me a story about a brave little {subject}."


def music_clip(seconds: float = 4.0) -> np.ndarray:
    """A synthetic melody with a beat: non-speech that must not get a reply."""
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    notes = np.array([262, 330, 392, 523, 392, 330])[(t * 4).astype(int) % 6]
    tone = np.sin(2 * np.pi * notes * t) + 0.5 * np.sin(4 * np.pi * notes * t)
    beat = (np.sin(2 * np.pi * 2 * t) > 0.95) * np.random.default_rng(3).normal(0, 1, len(t))
    return (0.25 * (tone + beat) / 1.5 * 32767).astype(np.int16)


def recorded(name: str, speech: bool) -> Prompt:
    from voiced.engines.whisper import read_audio_file

    return Prompt(name, (read_audio_file(DATA / name) * 32767).astype(np.int16), speech)


@functools.cache
def _voice() -> Any:
    from voiced.config import load_settings
    from voiced.engines.loader import make_tts

    return make_tts(load_settings())


def synthesised(text: str, interrupts: bool = False) -> Prompt:
    """A prompt spoken by the configured voice."""
    tts = _voice()
    speech = np.concatenate(list(tts.synthesize(text)))
    audio = resample(speech, tts.sample_rate_hz, SAMPLE_RATE_HZ)
    return Prompt(text, audio, True, interrupts=interrupts)


def build_prompts() -> list[Prompt]:
    prompts = [recorded(name, True) for name in HUMAN_PROMPTS]
    prompts += [synthesised(text) for text in SYNTHETIC_PROMPTS]
    prompts += [recorded(name, False) for name in NOISE_CLIPS]
    prompts.append(Prompt("(synthetic music)", music_clip(), False))
    for text, wants_reply in INTERRUPTIONS:
        prompts.append(synthesised(story()))
        interruption = synthesised(text, interrupts=True)
        interruption.speech = wants_reply
        prompts.append(interruption)
    return prompts + hesitations()


@functools.cache
def _word_timer() -> Any:
    from faster_whisper import WhisperModel

    from voiced.config import load_settings

    settings = load_settings()
    return WhisperModel(str(settings.model_path(settings.stt.model)), compute_type="int8")


def word_gaps(audio: np.ndarray) -> list[float]:
    """Where one word ends and the next begins in a 16 kHz recording (the middle of each
    gap, in seconds), from the speech model's word timings."""
    segments, _ = _word_timer().transcribe(audio.astype(np.float32) / 32768, word_timestamps=True)
    words = [w for s in segments for w in (s.words or [])]
    return [(a.end + b.start) / 2 for a, b in zip(words, words[1:], strict=False)]


def hesitant(audio: np.ndarray, at_s: float, pause_s: float) -> np.ndarray:
    """The recording with pause_s of silence put in at at_s."""
    cut = int(at_s * SAMPLE_RATE_HZ)
    silence = np.zeros(int(pause_s * SAMPLE_RATE_HZ), dtype=np.int16)
    return np.concatenate([audio[:cut], silence, audio[cut:]])


def hesitations() -> list[Prompt]:
    """The hesitation scene: each clip paused after a third and two thirds of its words."""
    from voiced.engines.whisper import read_audio_file

    prompts = []
    for pause_s in HESITATIONS_S:
        for name in HESITATION_CLIPS:
            audio = (read_audio_file(DATA / name) * 32767).astype(np.int16)
            gaps = word_gaps(audio)
            for third in (1, 2):
                at_s = gaps[min(len(gaps) - 1, max(0, round(third * (len(gaps) + 1) / 3) - 1))]
                prompt = Prompt(f"{name} ({pause_s:.1f} s pause at {at_s:.2f} s)", audio, True)
                prompt.audio = hesitant(audio, at_s, pause_s)
                prompt.pause_s, prompt.pause_at_s = pause_s, at_s
                prompts.append(prompt)
    return prompts


def lay_out(prompts: list[Prompt], path: Path) -> None:
    parts, t = [np.zeros(SAMPLE_RATE_HZ, dtype=np.int16)], 1.0
    for i, prompt in enumerate(prompts):
        before_next = prompts[i + 1].interrupts if i + 1 < len(prompts) else False
        prompt.start_s = t
        prompt.speech_end_s = t + (
            speech_end_s(prompt.audio)
            if prompt.speech
            else last_sound_s(prompt.audio, SAMPLE_RATE_HZ)
        )
        gap_s = prompt.speech_end_s - t - len(prompt.audio) / SAMPLE_RATE_HZ
        gap_s += INTERRUPT_AFTER_S if before_next else HESITATION_GAP_S if prompt.pause_s else GAP_S
        parts += [prompt.audio, np.zeros(int(gap_s * SAMPLE_RATE_HZ), dtype=np.int16)]
        t += len(prompt.audio) / SAMPLE_RATE_HZ + gap_s
    write_wav(path, np.concatenate(parts), SAMPLE_RATE_HZ)
