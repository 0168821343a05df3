"""The turns of a run over the prompts, measured from its time-aligned output file and its
turn log: latency, stages, barge-in on a simulated echo, cut-offs in hesitations.
"""

from __future__ import annotations

import statistics
import wave
from pathlib import Path
from typing import Any

import numpy as np

from voiced.measure.loop import RunStats, logged_turns, median, percentile, run_loop
from voiced.measure.prompts import HESITATIONS_S, Prompt
from voiced.measure.recording import (
    LOUD,
    first_sound_after,
    sounded_on_s,
    voice_onset_s,
)

STAGES = [
    ("end of turn decided", "endpoint_s"),
    ("transcript ready", "transcript_s"),
    ("first LLM token", "first_token_s"),
    ("first sentence", "first_sentence_s"),
    ("first audio synthesised", "first_audio_s"),
    ("first sound played", "first_played_s"),
]
"""Milestones of a turn, each measured from the end of speech (they overlap: a transcript
made on a pause can be ready before the end of the turn is decided)."""


def cut_off(prompt: Prompt, replies: np.ndarray, rate: int, logged: list[dict]) -> bool:
    """Whether a hesitant speaker was answered before they had finished: a reply sounded
    after the pause began and before the speech ended, or a turn that ended in the pause
    was answered (its reply came later, but to half the request)."""
    paused_s = prompt.start_s + prompt.pause_at_s
    early = first_sound_after(replies, rate, paused_s)
    if early is not None and early < prompt.speech_end_s:
        return True
    resumed_s = paused_s + prompt.pause_s
    return any(
        prompt.start_s <= (t["speech_end_s"] or -1) <= resumed_s and t.get("first_played_s")
        for t in logged
    )


def measure(
    prompts: list[Prompt], source: Path, out_dir: Path, name: str, extra: list[str]
) -> dict:
    """One run of the loop over the prompts; per-turn latency from the output file."""
    output = out_dir / f"{name}.wav"
    stats = run_loop(["--input-file", str(source), "--output-file", str(output), *extra])
    (out_dir / f"{name}.log").write_text("\n".join(stats.stderr) + "\n")
    with wave.open(str(output)) as wav:
        rate = wav.getframerate()
        replies = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return analyse(prompts, replies, rate, logged_turns(stats.stderr), stats)


TIME_KEYS = ("speech_start_s", "speech_end_s", "reply_done_s", "stopped_s", "interrupt_s")
"""The moments in a logged turn besides its STAGES (the rest of its *_s are durations)."""


def on_prompt_time(logged: list[dict[str, Any]], prompts: list[Prompt]) -> list[dict[str, Any]]:
    """The logged turns with their moments moved from the loop's clock onto the prompts'
    timeline: by the median gap between each turn's end of speech and the nearest prompt's
    (a device run's clock starts when it starts, not when the prompts do)."""
    ends = np.array([p.speech_end_s for p in prompts])
    timed = [t["speech_end_s"] for t in logged if t.get("speech_end_s") is not None]
    if not timed:
        return logged
    first = timed[0] - ends[0]  # the first turn is the first prompt's: a rough offset
    offset = statistics.median(end - ends[np.abs(ends - end + first).argmin()] for end in timed)
    keys = [key for _, key in STAGES] + list(TIME_KEYS)
    return [
        {k: (round(v - offset, 4) if k in keys and v is not None else v) for k, v in t.items()}
        for t in logged
    ]


def analyse(
    prompts: list[Prompt],
    replies: np.ndarray,
    rate: int,
    logged: list[dict[str, Any]],
    stats: RunStats,
) -> dict:
    """Per-turn figures from the replies (on the prompts' timeline) and the turn log."""
    turns: list[dict[str, Any]] = []
    for i, prompt in enumerate(prompts):
        window_end = prompts[i + 1].start_s if i + 1 < len(prompts) else len(replies) / rate
        log_turn = next(
            (t for t in logged if prompt.start_s <= (t["speech_end_s"] or -1) <= window_end), None
        )
        first = first_sound_after(replies, rate, prompt.speech_end_s)
        answered = bool(first is not None and first < window_end)
        turn: dict[str, Any] = {
            "prompt": prompt.name,
            "start_s": round(prompt.start_s, 3),
            "speech_end_s": round(prompt.speech_end_s, 3),
            "speech": prompt.speech,
            "answered": answered,
            "latency_s": round(first - prompt.speech_end_s, 3) if answered and first else None,
            "logged_latency_s": log_turn["response_latency_s"] if log_turn else None,
            "stages": {
                stage: round(log_turn[key] - log_turn["speech_end_s"], 3)
                for stage, key in STAGES
                if log_turn and log_turn.get(key) is not None
            },
        }
        if prompt.interrupts:
            onset = prompt.start_s + voice_onset_s(prompt.audio)
            before = replies[int((onset - 0.5) * rate) : int(onset * rate)]
            playing = bool(np.abs(before).max() > LOUD)
            # the answer to the interruption, as logged, may come within HEARD_ON_S
            answer_s = (log_turn or {}).get("first_played_s")
            last = sounded_on_s(replies, rate, onset, answer_s)
            turn["stop_latency_s"] = round(last, 3) if playing else None
            turn["logged_stop_latency_s"] = next(
                (
                    round(t["stopped_s"] - onset, 3)
                    for t in logged
                    if t.get("interrupted") and abs(t.get("interrupt_s", -9) - onset) < 1.0
                ),
                None,
            )
            # an answer to the interruption comes after the old reply stopped
            first = first_sound_after(replies, rate, max(prompt.speech_end_s, onset + last + 0.05))
            turn["answered"] = bool(first is not None and first < window_end)
            turn["latency_s"] = (
                round(first - prompt.speech_end_s, 3) if turn["answered"] and first else None
            )
        if prompt.pause_s:
            turn["pause_s"] = prompt.pause_s
            turn["cut_off"] = cut_off(prompt, replies, rate, logged)
            if turn["cut_off"]:
                turn["latency_s"] = None
        turns.append(turn)

    hesitant = [t for t in turns if t.get("pause_s")]
    spoken = [t for t in turns if t["speech"] and not t.get("pause_s")]
    latencies = [t["latency_s"] for t in spoken if t["latency_s"] is not None]
    stop_latencies = [t["stop_latency_s"] for t in turns if t.get("stop_latency_s") is not None]
    interrupted = sum(1 for t in logged if t.get("interrupted"))
    hesitant_latencies = [t["latency_s"] for t in hesitant if t["latency_s"] is not None]
    return {
        "turns": turns,
        "cut_offs": {
            f"{pause_s:.1f}": sum(t["cut_off"] for t in hesitant if t["pause_s"] == pause_s)
            for pause_s in HESITATIONS_S
        },
        "hesitant_utterances": {
            f"{pause_s:.1f}": sum(t["pause_s"] == pause_s for t in hesitant)
            for pause_s in HESITATIONS_S
        },
        "hesitant_latency_median_s": median(hesitant_latencies),
        "spoken_prompts": len(spoken),
        "answered_spoken": sum(t["answered"] for t in spoken),
        "false_replies_to_non_speech": sum(t["answered"] for t in turns if not t["speech"]),
        "interrupted_replies": interrupted,
        "expected_interruptions": sum(p.interrupts for p in prompts),
        "latency_median_s": median(latencies),
        "latency_p90_s": percentile(latencies, 90),
        "stop_latency_median_s": median(stop_latencies),
        "stage_median_s": {
            stage: median([t["stages"][stage] for t in spoken if stage in t["stages"]])
            for stage, _ in STAGES
        },
        "hesitant_stage_median_s": {
            stage: median([t["stages"][stage] for t in hesitant if stage in t["stages"]])
            for stage, _ in STAGES
        },
        "peak_rss_mb": round(stats.peak_rss_mb, 1),
        "cpu_s": round(stats.cpu_s, 2),
        "wall_s": round(stats.wall_s, 2),
    }
