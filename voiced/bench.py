"""`voiced bench`: the real `voiced run` loop on files, measured from the outside.

Spoken prompts (human recordings from tests/data and questions synthesised
with the configured voice), non-speech clips and two barge-in scenes (the user
talking over a long reply: "stop", and a new question) are laid out with
silences between them. `voiced run --input-file --output-file` runs as a child
process twice, side by side: as configured (with a simulated room echo, so the
echo canceller is part of the measurement), and with every overlap switched off
(sequential, half duplex) as the baseline. End of speech → first reply sound is
read from the time-aligned output file (and compared with the loop's own turn
log); peak RSS and CPU come from the kernel's accounting of the child; idle CPU
from a run on silence. Writes bench.json and bench.png (per-stage breakdown).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voiced.audio import resample
from voiced.audio.files import write_wav
from voiced.types import SAMPLE_RATE_HZ

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
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
BENCH_SETTINGS = ["--set", "memory.facts=false", "--set", "activation.skills=false"]
STORY = "Please tell me a long story about a brave little dragon."
INTERRUPTIONS = [("Stop.", False), ("What is your name?", True)]
INTERRUPT_AFTER_S = 3.0
"""After the story request ends: about a second into the reply with the 1.5B model (its first
sound comes about 2.2 s after the end of speech; at 1.5 s the user spoke before the reply had
begun, and no barge-in was measured)."""
GAP_S = 10.0
LOUD = 500  # int16 peak that counts as sound
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


@dataclass
class RunStats:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    listening_cpu_s: float = 0.0
    listening_wall_s: float = 0.0
    stderr: list[str] = field(default_factory=list)


def last_sound_s(audio: np.ndarray, rate: int) -> float:
    loud = np.flatnonzero(np.abs(audio) > LOUD)
    return float(loud[-1] + 1) / rate if len(loud) else 0.0


def speech_end_s(audio: np.ndarray) -> float:
    """Where the speech in a 16 kHz clip ends: the last of 3+ voiced 30 ms frames in a row
    (strict webrtcvad), so trailing noise in a recording does not count as speech."""
    from voiced.engines.webrtc import WebRtcVad

    vad, n = WebRtcVad(3), SAMPLE_RATE_HZ * 30 // 1000
    end, run = 0.0, 0
    for i in range(0, len(audio) - n + 1, n):
        run = run + 1 if vad.is_speech(audio[i : i + n]) else 0
        if run >= 3:
            end = (i + n) / SAMPLE_RATE_HZ
    return end or last_sound_s(audio, SAMPLE_RATE_HZ)


def first_sound_after(audio: np.ndarray, rate: int, after_s: float) -> float | None:
    start = int(after_s * rate)
    loud = np.flatnonzero(np.abs(audio[start:]) > LOUD)
    return float(start + loud[0]) / rate if len(loud) else None


def sound_stops_after(audio: np.ndarray, rate: int, after_s: float, quiet_s: float = 0.25) -> float:
    """The first moment after after_s from which the output stays quiet for quiet_s."""
    hop = rate // 100
    start = int(after_s * rate)
    quiet_hops = int(quiet_s * 100)
    run = 0
    for i in range(start, len(audio) - hop, hop):
        run = run + 1 if np.abs(audio[i : i + hop]).max() <= LOUD else 0
        if run >= quiet_hops:
            return (i + hop) / rate - quiet_s
    return len(audio) / rate


def music_clip(seconds: float = 4.0) -> np.ndarray:
    """A synthetic melody with a beat: non-speech that must not get a reply."""
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    notes = np.array([262, 330, 392, 523, 392, 330])[(t * 4).astype(int) % 6]
    tone = np.sin(2 * np.pi * notes * t) + 0.5 * np.sin(4 * np.pi * notes * t)
    beat = (np.sin(2 * np.pi * 2 * t) > 0.95) * np.random.default_rng(3).normal(0, 1, len(t))
    return (0.25 * (tone + beat) / 1.5 * 32767).astype(np.int16)


def build_prompts() -> list[Prompt]:
    from voiced.config import load_settings
    from voiced.engines.loader import make_tts
    from voiced.engines.whisper import read_audio_file

    def recorded(name: str, speech: bool) -> Prompt:
        return Prompt(name, (read_audio_file(DATA / name) * 32767).astype(np.int16), speech)

    tts = make_tts(load_settings())

    def synthesised(text: str, interrupts: bool = False) -> Prompt:
        speech = np.concatenate(list(tts.synthesize(text)))
        audio = resample(speech, tts.sample_rate_hz, SAMPLE_RATE_HZ)
        return Prompt(text, audio, True, interrupts=interrupts)

    prompts = [recorded(name, True) for name in HUMAN_PROMPTS]
    prompts += [synthesised(text) for text in SYNTHETIC_PROMPTS]
    prompts += [recorded(name, False) for name in NOISE_CLIPS]
    prompts.append(Prompt("(synthetic music)", music_clip(), False))
    for text, wants_reply in INTERRUPTIONS:
        prompts.append(synthesised(STORY))
        interruption = synthesised(text, interrupts=True)
        interruption.speech = wants_reply
        prompts.append(interruption)
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
        gap_s += INTERRUPT_AFTER_S if before_next else GAP_S
        parts += [prompt.audio, np.zeros(int(gap_s * SAMPLE_RATE_HZ), dtype=np.int16)]
        t += len(prompt.audio) / SAMPLE_RATE_HZ + gap_s
    write_wav(path, np.concatenate(parts), SAMPLE_RATE_HZ)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_loop(args: list[str]) -> RunStats:
    """Run `voiced run ARGS` and account for its CPU and memory."""
    stats = RunStats()
    started = time.monotonic()
    child = subprocess.Popen(
        # the prompts are not the user's life: nothing of them goes into the memory; and the
        # model answers every prompt (a skill would answer "what time is it" at once)
        [sys.executable, "-m", "voiced", "run", *BENCH_SETTINGS, *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    marks: dict[str, float] = {}

    def read_stderr() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            stats.stderr.append(line.rstrip("\n"))
            if line.rstrip().endswith("INFO voiced: listening"):
                marks["cpu"], marks["wall"] = _cpu_s(child.pid), time.monotonic()

    reader = threading.Thread(target=read_stderr)
    reader.start()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    ended = time.monotonic()
    if child.returncode != 0:
        raise RuntimeError("voiced run failed:\n" + "\n".join(stats.stderr[-10:]))
    stats.wall_s = ended - started
    stats.cpu_s = usage.ru_utime + usage.ru_stime
    stats.peak_rss_mb = usage.ru_maxrss / 1024
    if marks:
        stats.listening_cpu_s = stats.cpu_s - marks["cpu"]
        stats.listening_wall_s = ended - marks["wall"]
    return stats


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


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
    logged = [json.loads(line.split(" turn ", 1)[1]) for line in stats.stderr if " turn {" in line]
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
            onset = prompt.start_s + float(
                np.flatnonzero(np.abs(prompt.audio) > LOUD)[0] / SAMPLE_RATE_HZ
            )
            before = replies[int((onset - 0.5) * rate) : int(onset * rate)]
            playing = bool(np.abs(before).max() > LOUD)
            # the old reply's last sound after the onset (the new reply comes much later)
            window = replies[int(onset * rate) : int((onset + 1.5) * rate)]
            loud = np.flatnonzero(np.abs(window) > LOUD)
            last = float(loud[-1] + 1) / rate if len(loud) else 0.0
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
        turns.append(turn)

    spoken = [t for t in turns if t["speech"]]
    latencies = [t["latency_s"] for t in spoken if t["latency_s"] is not None]
    stop_latencies = [t["stop_latency_s"] for t in turns if t.get("stop_latency_s") is not None]
    interrupted = sum(1 for t in logged if t.get("interrupted"))
    return {
        "turns": turns,
        "spoken_prompts": len(spoken),
        "answered_spoken": sum(t["answered"] for t in spoken),
        "false_replies_to_non_speech": sum(t["answered"] for t in turns if not t["speech"]),
        "interrupted_replies": interrupted,
        "expected_interruptions": sum(p.interrupts for p in prompts),
        "latency_median_s": median(latencies),
        "latency_p90_s": percentile(latencies, 90),
        "stop_latency_median_s": median(stop_latencies),
        "stage_median_s": {
            stage: median([t["stages"][stage] for t in turns if stage in t["stages"]])
            for stage, _ in STAGES
        },
        "peak_rss_mb": round(stats.peak_rss_mb, 1),
        "cpu_s": round(stats.cpu_s, 2),
        "wall_s": round(stats.wall_s, 2),
    }


def chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [("voiced", report["voiced"]), ("sequential baseline", report["sequential"])]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    markers = "osD^vP"
    for row, (_, run) in enumerate(runs):
        for i, ((stage, _), marker) in enumerate(zip(STAGES, markers, strict=True)):
            at = run["stage_median_s"].get(stage)
            if at is None:
                continue
            ax.barh(row, at, color=f"C{i}", alpha=0.25, height=0.5)
            ax.plot(at, row, marker, color=f"C{i}", label=stage if row == 0 else None)
        ax.text(
            (run["latency_median_s"] or 0) + 0.03,
            row + 0.3,
            f"{run['latency_median_s']} s to the first sound (from the output file)",
            fontsize=8,
        )
    ax.set_yticks(range(len(runs)), [label for label, _ in runs])
    ax.set_ylim(len(runs) - 0.4, -0.6)
    ax.set_xlim(0, max((run["latency_median_s"] or 0) for _, run in runs) + 1.4)
    ax.set_xlabel("seconds after the end of speech (median of the turns)")
    ax.set_title(f"When each stage is done; baseline / voiced = {report['ratio']}×")
    ax.legend(ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def bench(out_dir: Path, idle_s: float = 30.0, echo_gain: float = 0.3) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    prompts = build_prompts()
    source = out_dir / "prompts.wav"
    lay_out(prompts, source)
    baseline_config = out_dir / "sequential.toml"
    baseline_config.write_text("[pipeline]\nsequential = true\n[audio]\nhalf_duplex = true\n")
    echo = ["--echo-gain", str(echo_gain), "--echo-delay-ms", "60"] if echo_gain else []
    voiced = measure(prompts, source, out_dir, "voiced", echo)
    sequential = measure(prompts, source, out_dir, "sequential", ["--config", str(baseline_config)])

    silence = out_dir / "silence.wav"
    write_wav(silence, np.zeros(int(idle_s * SAMPLE_RATE_HZ), dtype=np.int16), SAMPLE_RATE_HZ)
    idle = run_loop(["--input-file", str(silence), "--output-file", str(out_dir / "idle.wav")])
    fast, slow = voiced["latency_median_s"], sequential["latency_median_s"]
    report = {
        "voiced": voiced,
        "sequential": sequential,
        "ratio": round(slow / fast, 2) if fast and slow else None,
        "echo_gain": echo_gain,
        "idle_cpu_percent": round(100 * idle.listening_cpu_s / idle.listening_wall_s, 2)
        if idle.listening_wall_s
        else None,
    }
    (out_dir / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    chart(report, out_dir / "bench.png")
    return report


def format_report(report: dict[str, Any]) -> str:
    fast, slow = report["voiced"], report["sequential"]
    lines = [f"{'prompt':<44}{'voiced':>9}{'(log)':>8}{'baseline':>10}{'stop':>7}"]

    def cell(value: float | None) -> str:
        return f"{value:.3f}" if value is not None else "-"

    for f, s in zip(fast["turns"], slow["turns"], strict=True):
        name = re.sub(r"\s+", " ", f["prompt"])[:42]
        mark = "" if f["speech"] else " *"
        got = cell(f["latency_s"]) if f["answered"] else "none"
        base = cell(s["latency_s"]) if s["answered"] else "none"
        lines.append(
            f"{name + mark:<44}{got:>9}{cell(f['logged_latency_s']):>8}{base:>10}"
            f"{cell(f.get('stop_latency_s')):>7}"
        )
    lines += [
        "(* non-speech or a stop command: should get no reply; latencies in seconds)",
        "",
        f"end of speech → first reply sound: voiced median {fast['latency_median_s']} s, "
        f"p90 {fast['latency_p90_s']} s; sequential baseline median {slow['latency_median_s']} s, "
        f"p90 {slow['latency_p90_s']} s; baseline / voiced = {report['ratio']}×",
        "stage done after end of speech, medians (voiced / baseline): "
        + ", ".join(
            f"{k} {v}/{slow['stage_median_s'][k]}" for k, v in fast["stage_median_s"].items()
        ),
        f"barge-in: stop latency median {fast['stop_latency_median_s']} s; "
        f"replies interrupted {fast['interrupted_replies']} "
        f"(expected {fast['expected_interruptions']}), room echo gain {report['echo_gain']}",
        f"spoken prompts answered {fast['answered_spoken']}/{fast['spoken_prompts']}; "
        f"false replies to non-speech {fast['false_replies_to_non_speech']} "
        f"(baseline {slow['false_replies_to_non_speech']})",
        f"peak RSS {fast['peak_rss_mb']} MB (baseline {slow['peak_rss_mb']} MB); "
        f"CPU {fast['cpu_s']} s over {fast['wall_s']} s; "
        f"idle CPU while listening to silence {report['idle_cpu_percent']} %",
    ]
    return "\n".join(lines)
