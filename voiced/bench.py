"""`voiced bench`: the real `voiced run` loop on files, measured from the outside.

Spoken prompts (human recordings from tests/data and questions synthesised
with the configured voice) and a non-speech clip are laid out with silences
between them. `voiced run --input-file --output-file` runs as a child process;
end of speech → first reply sound is read from the time-aligned output file
(and compared with the loop's own turn log), with peak RSS and CPU from the
kernel's accounting of the child, and idle CPU from a run on silence.
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

from voiced.audio import Resampler
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
GAP_S = 10.0
LOUD = 500  # int16 peak that counts as sound


@dataclass
class Prompt:
    name: str
    audio: np.ndarray
    speech: bool
    start_s: float = 0.0
    speech_end_s: float = 0.0


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


def first_sound_after(audio: np.ndarray, rate: int, after_s: float) -> float | None:
    start = int(after_s * rate)
    loud = np.flatnonzero(np.abs(audio[start:]) > LOUD)
    return float(start + loud[0]) / rate if len(loud) else None


def build_prompts() -> list[Prompt]:
    from voiced.config import load_settings
    from voiced.engines.loader import make_tts
    from voiced.engines.whisper import read_audio_file

    prompts = [
        Prompt(name, (read_audio_file(DATA / name) * 32767).astype(np.int16), True)
        for name in HUMAN_PROMPTS
    ]
    tts = make_tts(load_settings())
    for text in SYNTHETIC_PROMPTS:
        audio = np.concatenate(list(tts.synthesize(text)))
        prompts.append(
            Prompt(text, Resampler(tts.sample_rate_hz, SAMPLE_RATE_HZ).process(audio), True)
        )
    prompts += [
        Prompt(name, (read_audio_file(DATA / name) * 32767).astype(np.int16), False)
        for name in NOISE_CLIPS
    ]
    return prompts


def lay_out(prompts: list[Prompt], path: Path) -> None:
    parts, t = [np.zeros(SAMPLE_RATE_HZ, dtype=np.int16)], 1.0
    for prompt in prompts:
        prompt.start_s = t
        prompt.speech_end_s = t + last_sound_s(prompt.audio, SAMPLE_RATE_HZ)
        parts += [prompt.audio, np.zeros(int(GAP_S * SAMPLE_RATE_HZ), dtype=np.int16)]
        t += len(prompt.audio) / SAMPLE_RATE_HZ + GAP_S
    write_wav(path, np.concatenate(parts), SAMPLE_RATE_HZ)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_loop(args: list[str]) -> RunStats:
    """Run `voiced run ARGS` and account for its CPU and memory."""
    stats = RunStats()
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "voiced", "run", *args], stderr=subprocess.PIPE, text=True
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


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def bench(out_dir: Path, idle_s: float = 30.0) -> dict[str, object]:
    out_dir.mkdir(parents=True, exist_ok=True)
    prompts = build_prompts()
    source, output = out_dir / "prompts.wav", out_dir / "replies.wav"
    lay_out(prompts, source)
    stats = run_loop(["--input-file", str(source), "--output-file", str(output)])

    with wave.open(str(output)) as wav:
        rate = wav.getframerate()
        replies = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    logged = [json.loads(line.split(" turn ", 1)[1]) for line in stats.stderr if " turn {" in line]
    turns: list[dict[str, Any]] = []
    for i, prompt in enumerate(prompts):
        window_end = prompts[i + 1].start_s if i + 1 < len(prompts) else len(replies) / rate
        first = first_sound_after(replies, rate, prompt.speech_end_s)
        answered = bool(first is not None and first < window_end)
        log_turn = next(
            (t for t in logged if prompt.start_s <= (t["speech_end_s"] or -1) <= window_end), None
        )
        turns.append(
            {
                "prompt": prompt.name,
                "speech": prompt.speech,
                "answered": answered,
                "latency_s": round(first - prompt.speech_end_s, 3) if answered and first else None,
                "logged_latency_s": log_turn["response_latency_s"] if log_turn else None,
                "stages": {
                    k: round(log_turn[k] - log_turn["speech_end_s"], 3)
                    for k in (
                        "endpoint_s",
                        "transcript_s",
                        "first_token_s",
                        "first_sentence_s",
                        "first_audio_s",
                        "first_played_s",
                    )
                    if log_turn and log_turn.get(k) is not None
                },
            }
        )
    latencies = [float(t["latency_s"]) for t in turns if t["speech"] and t["latency_s"] is not None]

    silence = out_dir / "silence.wav"
    write_wav(silence, np.zeros(int(idle_s * SAMPLE_RATE_HZ), dtype=np.int16), SAMPLE_RATE_HZ)
    idle = run_loop(["--input-file", str(silence), "--output-file", str(out_dir / "idle.wav")])

    report = {
        "turns": turns,
        "spoken_prompts": sum(p.speech for p in prompts),
        "answered_spoken": sum(t["answered"] for t in turns if t["speech"]),
        "answered_noise": sum(t["answered"] for t in turns if not t["speech"]),
        "latency_median_s": round(statistics.median(latencies), 3) if latencies else None,
        "latency_p90_s": round(percentile(latencies, 90), 3) if latencies else None,
        "peak_rss_mb": round(stats.peak_rss_mb, 1),
        "cpu_s": round(stats.cpu_s, 2),
        "wall_s": round(stats.wall_s, 2),
        "idle_cpu_percent": round(100 * idle.listening_cpu_s / idle.listening_wall_s, 2)
        if idle.listening_wall_s
        else None,
    }
    (out_dir / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = ["prompt                                     answered  latency  (log)"]
    for t in report["turns"]:
        name = re.sub(r"\s+", " ", t["prompt"])[:42]
        lat = f"{t['latency_s']:.3f}" if t["latency_s"] is not None else "-"
        logged = f"{t['logged_latency_s']:.3f}" if t["logged_latency_s"] is not None else "-"
        lines.append(f"{name:<42} {'yes' if t['answered'] else 'no':>8}  {lat:>7}  ({logged})")
    lines += [
        f"end of speech → first reply sound: median {report['latency_median_s']} s, "
        f"p90 {report['latency_p90_s']} s",
        f"spoken prompts answered {report['answered_spoken']}/{report['spoken_prompts']}, "
        f"noise answered {report['answered_noise']}",
        f"peak RSS {report['peak_rss_mb']} MB; CPU {report['cpu_s']} s over {report['wall_s']} s; "
        f"idle CPU while listening to silence {report['idle_cpu_percent']} %",
    ]
    return "\n".join(lines)
