"""`voiced bench --runs facts`: what the model's reading of facts after each turn costs
the next turn.

A scene of things said in passing, each followed about a second after its reply by a
question (said by the configured voice), is played to `voiced run` three times side by
side, each with a memory of its own: with `[memory] llm_facts` off, on, and off again (the
two runs without it give the run-to-run noise). Reported: the follow-ups' end of speech →
first reply sound, median for each run; how long after the reply ended each follow-up
began (read from the output file); and the CPU time each reading took (from the loop's
log).
"""

from __future__ import annotations

import os
import re
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np

from voiced.audio.files import write_wav
from voiced.measure.files import analyse
from voiced.measure.loop import logged_turns, median, run_loop
from voiced.measure.prompts import Prompt, synthesised
from voiced.measure.recording import LOUD, speech_end_s
from voiced.types import SAMPLE_RATE_HZ

SCENE = [
    ("I've started learning to play the piano this autumn.", "What's a good first piece?"),
    ("My sister Clara moved to Lisbon last month.", "Is Lisbon nice in the spring?"),
    ("We've got a tabby cat called Mango.", "How long do cats usually sleep?"),
    ("I work as a librarian at the university.", "What's a good book about history?"),
    ("I'm off to Norway for a week in January.", "What should I pack for the cold?"),
    ("Honestly, I can't stand loud music in restaurants.", "Can you tell me a fun fact?"),
]
FOLLOW_AFTER_S = 7.0
"""From the end of a statement to its follow-up: the reply takes about 2 s to begin and 3-4
s to say, so the follow-up starts about a second after it ends (measured: `gap_after_reply`)."""
NEXT_AFTER_S = 10.0
RUNS = (("off", False), ("on", True), ("off again", False))


def scene() -> list[Prompt]:
    prompts = []
    for statement, question in SCENE:
        prompts += [synthesised(statement), synthesised(question)]
    return prompts


def lay_out(prompts: list[Prompt], path: Path) -> None:
    """Each statement, its follow-up FOLLOW_AFTER_S after its end, the next NEXT_AFTER_S on."""
    parts, t = [np.zeros(SAMPLE_RATE_HZ, dtype=np.int16)], 1.0
    for i, prompt in enumerate(prompts):
        prompt.start_s = t
        prompt.speech_end_s = t + speech_end_s(prompt.audio)
        gap_s = prompt.speech_end_s - t - len(prompt.audio) / SAMPLE_RATE_HZ
        gap_s += FOLLOW_AFTER_S if i % 2 == 0 else NEXT_AFTER_S
        parts += [prompt.audio, np.zeros(int(gap_s * SAMPLE_RATE_HZ), dtype=np.int16)]
        t += len(prompt.audio) / SAMPLE_RATE_HZ + gap_s
    write_wav(path, np.concatenate(parts), SAMPLE_RATE_HZ)


def gap_after_reply(prompt: Prompt, replies: np.ndarray, rate: int) -> float | None:
    """How long before the follow-up began the reply to the statement ended."""
    before = np.flatnonzero(np.abs(replies[: int(prompt.start_s * rate)]) > LOUD)
    return round(prompt.start_s - (before[-1] + 1) / rate, 3) if len(before) else None


_READ = re.compile(r"facts read: (\d+) kept, ([\d.]+) s of CPU")


def measure_facts(out_dir: Path) -> dict[str, Any]:
    prompts = scene()
    source = out_dir / "facts.wav"
    lay_out(prompts, source)
    report: dict[str, Any] = {}
    for name, llm_facts in RUNS:
        output = out_dir / f"facts-{name.replace(' ', '-')}.wav"
        with tempfile.TemporaryDirectory(prefix="voiced-bench-memory-") as state:
            env = {**os.environ, "XDG_STATE_HOME": state}
            stats = run_loop(
                [
                    "--input-file",
                    str(source),
                    "--output-file",
                    str(output),
                    "--set",
                    "memory.facts=true",
                    "--set",
                    f"memory.llm_facts={str(llm_facts).lower()}",
                ],
                env=env,
            )
        (out_dir / f"facts-{name.replace(' ', '-')}.log").write_text("\n".join(stats.stderr))
        with wave.open(str(output)) as wav:
            rate = wav.getframerate()
            replies = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        turns = analyse(prompts, replies, rate, logged_turns(stats.stderr), stats)["turns"]
        follow_ups = turns[1::2]
        readings = [_READ.search(line) for line in stats.stderr]
        cpu = [float(m.group(2)) for m in readings if m]
        report[name] = {
            "follow_up_latency_s": [t["latency_s"] for t in follow_ups],
            "follow_up_median_s": median([t["latency_s"] for t in follow_ups if t["latency_s"]]),
            "statement_median_s": median([t["latency_s"] for t in turns[::2] if t["latency_s"]]),
            "gap_after_reply_s": median(
                [g for p in prompts[1::2] if (g := gap_after_reply(p, replies, rate)) is not None]
            ),
            "answered": sum(t["answered"] for t in turns),
            "readings": len(cpu),
            "facts_kept": sum(int(m.group(1)) for m in readings if m),
            "reading_cpu_median_s": median(cpu),
            "cpu_s": round(stats.cpu_s, 2),
        }
    off, on, again = (report[name]["follow_up_median_s"] for name, _ in RUNS)
    report["noise_s"] = round(abs(off - again), 3) if off and again else None
    report["on_minus_off_s"] = round(on - (off + again) / 2, 3) if on and off and again else None
    return report


def format_facts(report: dict[str, Any]) -> list[str]:
    lines = ["reading facts after each turn ([memory] llm_facts), follow-ups ~1 s after a reply:"]
    for name, _ in RUNS:
        run = report[name]
        lines.append(
            f"  {name:<10} follow-up median {run['follow_up_median_s']} s "
            f"(statements {run['statement_median_s']} s; began {run['gap_after_reply_s']} s "
            f"after the reply, median); {run['answered']}/{2 * len(SCENE)} answered; "
            f"{run['readings']} readings, {run['facts_kept']} facts kept, "
            f"{run['reading_cpu_median_s']} s of CPU each (median); CPU {run['cpu_s']} s"
        )
    lines.append(
        f"  on − off: {report['on_minus_off_s']} s; run-to-run noise (off, off again): "
        f"{report['noise_s']} s"
    )
    return lines
