"""`voiced run` as a child process, measured from the outside: its CPU and memory from the
kernel, its turn log, its CPU while idle.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voiced.audio.files import write_wav
from voiced.types import SAMPLE_RATE_HZ

BENCH_SETTINGS = ["--set", "memory.facts=false", "--set", "activation.skills=false"]


@dataclass
class RunStats:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    listening_cpu_s: float = 0.0
    listening_wall_s: float = 0.0
    stderr: list[str] = field(default_factory=list)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_loop(
    args: list[str], env: dict[str, str] | None = None, scene: Callable[[], None] | None = None
) -> RunStats:
    """Run `voiced run ARGS` and account for its CPU and memory. With a scene (played on
    devices): once it listens, the scene is played, and then the loop is stopped."""
    stats = RunStats()
    started = time.monotonic()
    # `voiced bench -v`: the loops log what they heard and said as well
    verbose = ["-v"] if logging.getLogger().isEnabledFor(logging.DEBUG) else []
    child = subprocess.Popen(
        # the prompts are not the user's life: nothing of them goes into the memory; and the
        # model answers every prompt (a skill would answer "what time is it" at once)
        [sys.executable, "-m", "voiced", "run", *verbose, *BENCH_SETTINGS, *args],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    marks: dict[str, float] = {}
    listening = threading.Event()

    def read_stderr() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            stats.stderr.append(line.rstrip("\n"))
            if line.rstrip().endswith("INFO voiced: listening"):
                marks["cpu"], marks["wall"] = _cpu_s(child.pid), time.monotonic()
                listening.set()
        listening.set()  # it ended without listening: nothing to wait for

    def play() -> None:
        listening.wait()
        if child.poll() is None and scene is not None:
            try:
                scene()
            finally:
                child.terminate()

    reader = threading.Thread(target=read_stderr)
    reader.start()
    player = threading.Thread(target=play)
    if scene is not None:
        player.start()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    if scene is not None:
        player.join()
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


def logged_turns(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line.split(" turn ", 1)[1]) for line in lines if " turn {" in line]


def idle_cpu_percent(
    out_dir: Path, heard: str, said: str, audio: np.ndarray, args: list[str]
) -> float | None:
    """CPU while the loop listens to audio (written as heard.wav; its replies as
    said.wav), in % of one core (None: it never got to listening)."""
    source = out_dir / f"{heard}.wav"
    write_wav(source, audio, SAMPLE_RATE_HZ)
    idle = run_loop(
        ["--input-file", str(source), "--output-file", str(out_dir / f"{said}.wav"), *args]
    )
    if not idle.listening_wall_s:
        return None
    return round(100 * idle.listening_cpu_s / idle.listening_wall_s, 2)
