"""The bench's facts run: how its scene is laid out, and how it reads the replies."""

import wave

import numpy as np

from voiced.measure import facts
from voiced.measure.prompts import Prompt
from voiced.types import SAMPLE_RATE_HZ


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    return (np.sin(2 * np.pi * 220 * t) * 12000).astype(np.int16)


def test_each_follow_up_comes_its_fixed_time_after_its_statement(tmp_path):
    prompts = [Prompt(f"p{i}", tone(1.0 + 0.2 * i), True) for i in range(4)]
    facts.lay_out(prompts, tmp_path / "scene.wav")
    statement, follow_up, next_statement = prompts[0], prompts[1], prompts[2]
    assert abs(follow_up.start_s - statement.speech_end_s - facts.FOLLOW_AFTER_S) < 0.05
    assert abs(next_statement.start_s - follow_up.speech_end_s - facts.NEXT_AFTER_S) < 0.05
    with wave.open(str(tmp_path / "scene.wav")) as wav:
        assert wav.getnframes() / wav.getframerate() > prompts[-1].speech_end_s


def test_the_gap_is_from_the_replys_last_sound_to_the_follow_up():
    rate = 22050
    replies = np.zeros(rate * 10, dtype=np.int16)
    replies[rate * 2 : rate * 5] = 8000  # a reply from 2 s to 5 s
    follow_up = Prompt("q", tone(1.0), True, start_s=6.2)
    assert facts.gap_after_reply(follow_up, replies, rate) == 1.2
    assert facts.gap_after_reply(follow_up, np.zeros(rate * 10, dtype=np.int16), rate) is None


def test_the_report_says_the_difference_against_the_noise():
    report = {
        name: {
            "follow_up_median_s": value,
            "statement_median_s": 1.5,
            "gap_after_reply_s": 1.1,
            "answered": 12,
            "readings": 6 if name == "on" else 0,
            "facts_kept": 7 if name == "on" else 0,
            "reading_cpu_median_s": 5.0 if name == "on" else None,
            "cpu_s": 100.0,
        }
        for name, value in (("off", 1.40), ("on", 1.45), ("off again", 1.30))
    }
    report["noise_s"], report["on_minus_off_s"] = 0.1, 0.1
    text = "\n".join(facts.format_facts(report))
    assert "on − off: 0.1 s; run-to-run noise (off, off again): 0.1 s" in text
    assert "6 readings, 7 facts kept, 5.0 s of CPU each" in text
