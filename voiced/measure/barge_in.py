"""The live barge-in scenes on devices: a story asked for and talked over at a moment it is
sounding, and from the recordings, how soon it stopped and whether a question was answered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voiced.audio.files import write_wav
from voiced.measure.prompts import (
    HUMAN_PROMPTS,
    STORY_SUBJECTS,
    Prompt,
    recorded,
    story,
    synthesised,
)
from voiced.measure.recording import (
    LOUD,
    first_sound_after,
    loudness,
    sounded_on_s,
    speech_end_s,
    voice_onset_s,
)
from voiced.types import SAMPLE_RATE_HZ

BARGE_IN_AFTER_S = (0.2, 0.5, 0.8, 1.1, 1.4, 1.7, 2.0, 2.4, 2.8, 3.2)
"""The device runs' live barge-in scenes: the user talks over a story this long after its
first sound, at a moment the speaker is sounding (the first ones while the double-talk
detector has heard little of that reply's echo)."""


BARGE_INS = [
    ("Stop.", False),
    (HUMAN_PROMPTS[0], True),
    ("What is your name?", True),
    ("Stop.", False),
    ("How old are you?", True),
    (HUMAN_PROMPTS[0], True),
    ("Stop.", False),
    ("What is the capital of Italy?", True),
    (HUMAN_PROMPTS[0], True),
    ("Stop.", False),
]
"""What each scene's user says over the story (a file name is a human recording)."""


STOP_WITHIN_S = 0.25


PLAYING_S = 0.25
"""A scene counts if the speaker sounded in this long before the user's onset."""


SETTLE_S = 2.5
"""The speaker quiet this long: a scene is over."""


@dataclass
class BargeIn:
    """A live scene on devices: the story asked for, and talked over after_s into it."""

    interruption: Prompt
    after_s: float
    said_s: float | None = None
    """When the interruption began to be played (monotonic; None: no reply to talk over)."""
    over_s: float | None = None
    """When the scene was over (the speaker quiet again; its reply, if any, before it)."""


def barge_in_scenes() -> list[BargeIn]:
    """The live scenes, each interruption from its first words and as loud as the story
    was asked for (a human recording is scaled to it: the one here was recorded 12 dB
    quieter than the voice, after 0.7 s of rumble)."""
    level = loudness(synthesised(story()).audio)
    scenes = []
    for (what, wants_reply), after_s in zip(BARGE_INS, BARGE_IN_AFTER_S, strict=True):
        said = recorded(what, True) if what.endswith(".wav") else synthesised(what, True)
        lead_in = round(max(0.0, voice_onset_s(said.audio) - 0.1) * SAMPLE_RATE_HZ)
        said.audio = said.audio[lead_in:]  # from its words: a rumble before them is no voice
        scaled = said.audio * (level / loudness(said.audio))
        said.audio = np.clip(scaled, -32768, 32767).astype(np.int16)
        said.speech = wants_reply
        scenes.append(BargeIn(said, after_s))
    return scenes


def _sounding(speaker: Any, loud: bool, hold_s: float, timeout_s: float) -> float | None:
    """Wait until the speaker's last hold_s were loud (any of it) or quiet (all of it); the
    monotonic time it was so, or None if it was not within timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tail = speaker.tail(hold_s)
        heard = len(tail) >= (1 if loud else int(hold_s * SAMPLE_RATE_HZ))
        if heard and bool(np.abs(tail).max() > LOUD) == loud:
            return time.monotonic()
        time.sleep(0.01)
    return None


def talk_over(room: Any, speaker: Any, scenes: list[BargeIn], out_dir: Path) -> None:
    """Play the live barge-in scenes: each asks for the story, waits for its reply to have
    sounded for after_s and to be sounding, and then talks over it."""
    stories = []
    for i, subject in enumerate(STORY_SUBJECTS):
        stories.append(out_dir / f"story-{i}.wav")
        write_wav(stories[-1], synthesised(story(subject)).audio, SAMPLE_RATE_HZ)
    for i, scene in enumerate(scenes):
        asked = stories[i % len(stories)]
        clip = out_dir / f"barge-in-{i}.wav"
        write_wav(clip, scene.interruption.audio, SAMPLE_RATE_HZ)
        _sounding(speaker, loud=False, hold_s=SETTLE_S, timeout_s=60)
        room.say(asked)
        began = _sounding(speaker, loud=True, hold_s=0.03, timeout_s=20)
        if began is not None:
            time.sleep(max(0.0, began + scene.after_s - time.monotonic()))
        if began and _sounding(speaker, loud=True, hold_s=0.03, timeout_s=5) is not None:
            scene.said_s = time.monotonic()
            room.say(clip)
            _sounding(speaker, loud=False, hold_s=0.5, timeout_s=60)  # the story stopped
            if scene.interruption.speech:  # and the question's answer
                _sounding(speaker, loud=True, hold_s=0.03, timeout_s=15)
        _sounding(speaker, loud=False, hold_s=SETTLE_S, timeout_s=60)
        scene.over_s = time.monotonic() - SETTLE_S


def barge_in_figures(
    scenes: list[BargeIn], mic: np.ndarray, mic_start_s: float, replies: np.ndarray, start_s: float
) -> list[dict[str, Any]]:
    """Per live scene, from the recordings (each stamped on the monotonic clock from its
    start): the user's onset, found in the microphone's recording; whether the speaker was
    sounding just before it; when its sound stopped after it; and, for a
    question, whether a reply sounded after it."""
    from voiced.measure.soundroom import find

    rate, figures = SAMPLE_RATE_HZ, []
    for scene in scenes:
        clip = scene.interruption
        figure: dict[str, Any] = {"interruption": clip.name, "after_s": scene.after_s}
        figure.update(onset_s=None, stop_latency_s=None, playing=False, answered=None)
        figures.append(figure)
        if scene.said_s is None:
            continue
        low = max(0, int((scene.said_s - mic_start_s - 0.2) * rate))
        window = mic[low : low + len(clip.audio) + 2 * rate]
        voiced_at = round(voice_onset_s(clip.audio) * rate)
        onset = low + round(find(clip.audio, window) * rate) + voiced_at
        onset += round((mic_start_s - start_s) * rate)  # on the speaker's recording
        figure["onset_s"] = round(onset / rate, 3)
        before = replies[max(0, onset - int(PLAYING_S * rate)) : onset]
        figure["playing"] = bool(len(before) and np.abs(before).max() > LOUD)
        asked_end = onset / rate - voiced_at / rate + speech_end_s(clip.audio)
        # an answer comes only after the question
        stopped = sounded_on_s(replies, rate, onset / rate, asked_end if clip.speech else None)
        if figure["playing"]:
            figure["stop_latency_s"] = round(stopped, 3)
        if clip.speech:
            reply = first_sound_after(replies, rate, max(asked_end, onset / rate + stopped + 0.05))
            over = len(replies) / rate if scene.over_s is None else scene.over_s - start_s
            figure["answered"] = reply is not None and reply < over
    return figures


def format_barge_ins(run: dict[str, Any]) -> list[str]:
    """The live barge-in scenes of a device run, in two lines."""
    return [
        f"  live barge-in: stopped within {STOP_WITHIN_S * 1000:.0f} ms in "
        f"{run['stops_within_250ms']} of {run['barge_in_scenes']} scenes (median "
        f"{run['live_stop_latency_median_s']} s); questions answered "
        f"{run['live_questions_answered']}/{run['live_questions']}; own-voice drops "
        f"{run['own_voice_drops']}",
        "    stop latency per scene: "
        + " ".join("-" if f["stop_latency_s"] is None else f"{f['stop_latency_s']:.3f}"
                   for f in run["barge_ins"]),
    ]  # fmt: skip
