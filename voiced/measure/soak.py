"""`make soak` / `voiced soak`: the real loop on a long file of spoken prompts (300 turns and
more), watched from outside: memory, file descriptors and threads over time, latency early
and late, crashes. It answers one question: does it keep working?"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voiced.audio.files import write_wav
from voiced.pipeline import INPUT_ENDED
from voiced.types import SAMPLE_RATE_HZ

GAP_S = 6.0
"""Silence after each prompt: room for a one-sentence reply before the next one."""
SAMPLE_EVERY_S = 5.0
WARM_UP_TURNS = 20
SHUTDOWN_S = 60.0
WINDOW = 50


@dataclass
class Sample:
    at_s: float
    rss_mb: float
    fds: int
    threads: int
    turns: int = 0
    """Turns logged by the time of the sample."""
    anon_mb: float = 0.0
    """The anonymous part of RSS: what a leak grows. The rest is mapped files (the models),
    which the kernel may drop and read again when memory is short."""


@dataclass
class SoakRun:
    samples: list[Sample] = field(default_factory=list)
    turns: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0
    exit_code: int | None = None
    ended: bool = False


def _proc(pid: int) -> Sample | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return None
    values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss_kb = int(values["VmRSS"].split()[0])
    anon_kb = int(values.get("RssAnon", "0 kB").split()[0])
    return Sample(0.0, rss_kb / 1024, fds, int(values["Threads"]), anon_mb=anon_kb / 1024)


def build_input(turns: int, path: Path) -> list[str]:
    """A WAV of `turns` spoken prompts (the bench's recordings and synthesised questions,
    in turn) separated by silences; the prompts' names, in order."""
    from voiced.measure.prompts import build_prompts

    prompts = [p for p in build_prompts() if p.speech and not p.interrupts]
    gap = np.zeros(int(GAP_S * SAMPLE_RATE_HZ), dtype=np.int16)
    parts, names = [np.zeros(SAMPLE_RATE_HZ, dtype=np.int16)], []
    for i in range(turns):
        prompt = prompts[i % len(prompts)]
        parts += [prompt.audio, gap]
        names.append(prompt.name)
    write_wav(path, np.concatenate(parts), SAMPLE_RATE_HZ)
    return names


def run(source: Path, out_dir: Path) -> SoakRun:
    result = SoakRun()
    state = Path(tempfile.mkdtemp(prefix="voiced-soak-state-"))
    child = subprocess.Popen(
        [sys.executable, "-m", "voiced", "run", "--input-file", str(source)]
        + ["--output-file", str(out_dir / "soak.wav"), "--set", "llm.max_sentences=1"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "XDG_STATE_HOME": str(state)},
    )
    started = time.monotonic()

    def read_log() -> None:
        assert child.stderr is not None
        with (out_dir / "soak.log").open("w") as kept:  # written as it goes: tail -f works
            for line in child.stderr:
                kept.write(line)
                kept.flush()
                if " turn {" in line:
                    result.turns.append(json.loads(line.split(" turn ", 1)[1]))
                elif "turn failed" in line:
                    result.failures += 1
                elif INPUT_ENDED in line:
                    result.ended = True  # shutting down: not the steady state any more

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    while child.poll() is None and not result.ended:
        sample = _proc(child.pid)
        if sample is not None and not result.ended:
            sample.at_s = round(time.monotonic() - started, 1)
            sample.turns = len(result.turns)
            result.samples.append(sample)
        time.sleep(SAMPLE_EVERY_S)
    try:
        result.exit_code = child.wait(timeout=SHUTDOWN_S)
    except subprocess.TimeoutExpired:  # a hang on the way out counts as a crash
        child.kill()
        result.exit_code = child.wait()
    reader.join(timeout=10)
    return result


def _p90(values: list[float]) -> float | None:
    return round(float(np.percentile(values, 90)), 3) if values else None


def summarise(result: SoakRun) -> dict[str, Any]:
    answered = [t for t in result.turns if t.get("response_latency_s") is not None]
    latencies = [float(t["response_latency_s"]) for t in answered]
    warm = [s for s in result.samples if s.turns >= WARM_UP_TURNS]
    base = warm[0] if warm else (result.samples[0] if result.samples else None)
    last = result.samples[-1] if result.samples else None
    first_p90, last_p90 = _p90(latencies[:WINDOW]), _p90(latencies[-WINDOW:])
    steady = warm or result.samples
    return {
        "turns": len(result.turns),
        "answered": len(answered),
        "failed_turns": result.failures,
        "exit_code": result.exit_code,
        "rss_mb_after_warm_up": round(base.rss_mb, 1) if base else None,
        "rss_mb_at_end": round(last.rss_mb, 1) if last else None,
        "rss_growth": round(last.rss_mb / base.rss_mb - 1, 4) if base and last else None,
        "anon_mb_after_warm_up": round(base.anon_mb, 1) if base else None,
        "anon_mb_at_end": round(last.anon_mb, 1) if last else None,
        "fds": [min(s.fds for s in steady), max(s.fds for s in steady)] if steady else None,
        "threads": [min(s.threads for s in steady), max(s.threads for s in steady)]
        if steady
        else None,
        "p90_first_50_s": first_p90,
        "p90_last_50_s": last_p90,
        "p90_ratio": round(last_p90 / first_p90, 3) if first_p90 and last_p90 else None,
        "samples": [vars(s) for s in result.samples],
    }


def verdicts(summary: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(what, measured, within the target) for the summary table."""
    growth, ratio = summary["rss_growth"], summary["p90_ratio"]
    fds, threads = summary["fds"] or [0, 0], summary["threads"] or [0, 0]
    return [
        ("turns (at least 300)", str(summary["turns"]), summary["turns"] >= 300),
        (
            "crashes, failed turns",
            f"exit {summary['exit_code']}, {summary['failed_turns']}",
            summary["exit_code"] == 0 and summary["failed_turns"] == 0,
        ),  # fmt: skip
        (
            "RSS growth after warm-up (< 10 %)",
            f"{summary['rss_mb_after_warm_up']} -> {summary['rss_mb_at_end']} MB"
            f" ({(growth or 0) * 100:+.1f} %)",
            growth is not None and growth < 0.10,
        ),
        ("file descriptors (constant)", f"{fds[0]}..{fds[1]}", fds[1] - fds[0] <= 2),
        ("threads (constant)", f"{threads[0]}..{threads[1]}", threads[1] - threads[0] <= 2),
        (
            "p90 latency, last 50 / first 50 (within 20 %)",
            f"{summary['p90_last_50_s']} / {summary['p90_first_50_s']} s = {ratio}",
            ratio is not None and ratio <= 1.2,
        ),
    ]


def format_summary(summary: dict[str, Any]) -> str:
    rows = verdicts(summary)
    width = max(len(r[0]) for r in rows)
    lines = [f"{'what':<{width}}  {'measured':<34}  ok"]
    lines += [f"{what:<{width}}  {got:<34}  {'yes' if ok else 'NO'}" for what, got, ok in rows]
    return "\n".join(lines)


def soak(out_dir: Path, turns: int = 300) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    source = out_dir / "prompts.wav"
    build_input(turns, source)
    summary = summarise(run(source, out_dir))
    (out_dir / "soak.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
