"""`voiced bench`: the real `voiced run` loop on files, measured from the outside.

Spoken prompts (human recordings from tests/data and questions synthesised
with the configured voice), non-speech clips and two barge-in scenes (the user
talking over a long reply: "stop", and a new question) are laid out with
silences between them; then the hesitation scene: real recordings with a pause of
600 or 900 ms put between two of their words (a speaker thinking), where a reply
that starts before the speaker has finished is a cut-off. `voiced run --input-file
--output-file` runs as a child process for each run, side by side: as configured
(with a simulated room echo, so the echo canceller is part of the measurement), the
same with the small model, and with every overlap switched off (sequential, half
duplex) as the baseline. End of speech → first reply sound is
read from the time-aligned output file (and compared with the loop's own turn
log); peak RSS and CPU come from the kernel's accounting of the child; idle CPU
from a run on silence. Writes bench.json and bench.png (per-stage breakdown).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from voiced.measure.barge_in import format_barge_ins
from voiced.measure.devices import measure_on_devices
from voiced.measure.facts import format_facts, measure_facts
from voiced.measure.feelings import PERSONA_BEFORE
from voiced.measure.files import STAGES, measure
from voiced.measure.loop import idle_cpu_percent
from voiced.measure.prompts import build_prompts, lay_out
from voiced.measure.wake import format_wake, measure_wake
from voiced.types import SAMPLE_RATE_HZ

PROMPT_RUNS = ("voiced", "persona-before", "small", "sequential", "pulseaudio", "pipewire")
"""The runs over the prompts, side by side."""


RUNS = (*PROMPT_RUNS, "wake", "facts")
"""As configured; the same with the persona before issue 35 (what the longer one costs the
first token); the same on the small model; the sequential baseline (configured model);
as configured through real devices: a private PulseAudio, and PipeWire (its PulseAudio
server, WirePlumber), each with a speaker that leaks into the microphone; the wake word; and
what reading facts after each turn costs the next (measure/facts.py)."""


DEVICE_RUNS = ("pulseaudio", "pipewire")


LABELS = {
    "voiced": "voiced",
    "persona-before": "voiced, the persona before",
    "small": "voiced, small model",
    "sequential": "sequential baseline",
    "pulseaudio": "voiced on PulseAudio devices",
    "pipewire": "voiced on PipeWire devices",
}


def chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [(LABELS[name], report[name]) for name in PROMPT_RUNS if name in report]
    fig, ax = plt.subplots(figsize=(9, 1.6 + 1.1 * len(runs)))
    markers = "osD^vP"
    for row, (_, run) in enumerate(runs):
        for i, ((stage, _), marker) in enumerate(zip(STAGES, markers, strict=True)):
            at = run["stage_median_s"].get(stage)
            if at is None:
                continue
            ax.barh(row, at, color=f"C{i}", alpha=0.25, height=0.5)
            ax.plot(at, row, marker, color=f"C{i}", label=stage if row == 0 else None)
        cut = run["cut_offs"].get("0.9")
        ax.text(
            (run["latency_median_s"] or 0) + 0.03,
            row + 0.3,
            f"{run['latency_median_s']} s to the first sound (from the output file); "
            f"cut off {cut} of {run['hesitant_utterances'].get('0.9')} at 900 ms pauses",
            fontsize=8,
        )
    ax.set_yticks(range(len(runs)), [label for label, _ in runs])
    ax.set_ylim(len(runs) - 0.4, -0.6)
    ax.set_xlim(0, max((run["latency_median_s"] or 0) for _, run in runs) + 2.2)
    ax.set_xlabel("seconds after the end of speech (median of the turns)")
    ax.set_title(f"When each stage is done; baseline / voiced = {report['ratio']}×")
    ax.legend(ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.3), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def chosen_runs(spec: str, barge_in_only: bool) -> tuple[str, ...]:
    """The runs named by `--runs` ("voiced,small,..."), each known and able to run here."""
    from voiced.errors import AudioDeviceError, UsageError
    from voiced.measure.soundroom import missing_tools

    runs = tuple(name.strip() for name in spec.split(",") if name.strip())
    unknown = [name for name in runs if name not in RUNS]
    if unknown or not runs:
        raise UsageError(
            f"--runs: unknown run {', '.join(unknown) or '(none)'}; choose from {', '.join(RUNS)}"
        )
    for name in runs:
        if name in DEVICE_RUNS and (missing := missing_tools(name)):
            raise AudioDeviceError(
                f"--runs {name}: {name} is not installed (missing {', '.join(missing)}); "
                "scripts/system_deps.sh test installs it"
            )
    if barge_in_only and (files := [name for name in runs if name not in DEVICE_RUNS]):
        raise UsageError(
            f"--barge-in-only: {', '.join(files)} is not a device run; choose from "
            f"{', '.join(DEVICE_RUNS)}"
        )
    return runs


def bench(
    out_dir: Path, idle_s: float = 30.0, echo_gain: float = 0.3, runs: tuple[str, ...] = RUNS
) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    prompts = build_prompts()
    source = out_dir / "prompts.wav"
    lay_out(prompts, source)
    baseline_config = out_dir / "sequential.toml"
    baseline_config.write_text("[pipeline]\nsequential = true\n[audio]\nhalf_duplex = true\n")
    echo = ["--echo-gain", str(echo_gain), "--echo-delay-ms", "60"] if echo_gain else []
    persona_before = out_dir / "persona-before.toml"
    persona_before.write_text(f"[llm]\npersona = {json.dumps(PERSONA_BEFORE)}\n")
    extra = {
        "voiced": echo,
        "persona-before": [*echo, "--config", str(persona_before)],
        "small": [*echo, "--set", "llm.model=small"],
        "sequential": ["--config", str(baseline_config)],
    }
    report: dict[str, Any] = {
        name: (
            measure_on_devices(prompts, source, out_dir, name, echo_gain)
            if name in DEVICE_RUNS
            else measure(prompts, source, out_dir, name, extra[name])
        )
        for name in runs
        if name in PROMPT_RUNS
    }
    if "wake" in runs:
        report["wake"] = measure_wake(out_dir, idle_s)
    if "facts" in runs:
        report["facts"] = measure_facts(out_dir)
    fast, slow = (report.get(k, {}).get("latency_median_s") for k in ("voiced", "sequential"))
    report["ratio"] = round(slow / fast, 2) if fast and slow else None
    report["echo_gain"] = echo_gain
    for name in DEVICE_RUNS:  # through devices against the same loop on files
        here = report.get(name, {}).get("latency_median_s")
        report[f"{name}_minus_files_s"] = round(here - fast, 3) if here and fast else None
    report["idle_cpu_percent"] = None
    if idle_s:
        silence = np.zeros(int(idle_s * SAMPLE_RATE_HZ), dtype=np.int16)
        report["idle_cpu_percent"] = idle_cpu_percent(out_dir, "silence", "idle", silence, [])
    (out_dir / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    if any(name in report for name in PROMPT_RUNS):
        chart(report, out_dir / "bench.png")
    return report


def format_barge_in_report(report: dict[str, Any]) -> str:
    lines = []
    for name in DEVICE_RUNS:
        if name in report:
            lines += [f"{LABELS[name]}:", *format_barge_ins(report[name])]
    return "\n".join(lines)


def format_report(report: dict[str, Any]) -> str:
    names = [name for name in PROMPT_RUNS if name in report]
    runs = [report[name] for name in names]
    heads = {
        "voiced": "voiced",
        "persona-before": "persona0",
        "small": "small",
        "sequential": "baseline",
        "pulseaudio": "pulse",
        "pipewire": "pipewire",
    }
    lines = [f"{'prompt':<52}" + "".join(f"{heads[n]:>10}" for n in names) + "  stop"]

    def cell(value: float | None) -> str:
        return f"{value:.3f}" if value is not None else "-"

    def latency(turn: dict[str, Any]) -> str:
        if turn.get("cut_off"):
            return "CUT OFF"
        return cell(turn["latency_s"]) if turn["answered"] else "none"

    for row in zip(*(run["turns"] for run in runs), strict=True):
        first = row[0]
        name = re.sub(r"\s+", " ", first["prompt"])[:50]
        mark = "" if first["speech"] else " *"
        lines.append(
            f"{name + mark:<52}"
            + "".join(f"{latency(t):>10}" for t in row)
            + "  "
            + "/".join(cell(t.get("stop_latency_s")) for t in row if "stop_latency_s" in t)
        )
    lines.append("(* non-speech or a stop command: should get no reply; latencies in seconds)")
    lines.append("")
    for name, run in zip(names, runs, strict=True):
        cuts = ", ".join(
            f"{run['cut_offs'][k]}/{run['hesitant_utterances'][k]} at {float(k) * 1000:.0f} ms"
            for k in run["cut_offs"]
        )
        lines += [
            f"{LABELS[name]}: end of speech → first reply sound median {run['latency_median_s']} s,"
            f" p90 {run['latency_p90_s']} s; cut-offs {cuts} pauses (hesitant turns answered in "
            f"{run['hesitant_latency_median_s']} s, median)",
            "  stages done after end of speech, medians: "
            + ", ".join(f"{k} {v}" for k, v in run["stage_median_s"].items()),
            f"  barge-in: stop latency median {run['stop_latency_median_s']} s; replies "
            f"interrupted {run['interrupted_replies']} (expected "
            f"{run['expected_interruptions']}); spoken prompts answered "
            f"{run['answered_spoken']}/{run['spoken_prompts']}; false replies to non-speech "
            f"{run['false_replies_to_non_speech']}",
            f"  peak RSS {run['peak_rss_mb']} MB; CPU {run['cpu_s']} s over {run['wall_s']} s",
        ]
        if "barge_ins" in run:
            lines += format_barge_ins(run)
    lines += [
        f"{LABELS[name]}: median {report[f'{name}_minus_files_s']:+.3f} s against files"
        for name in DEVICE_RUNS
        if report.get(f"{name}_minus_files_s") is not None
    ]
    if "wake" in report:
        lines += format_wake(report["wake"])
    if "facts" in report:
        lines += format_facts(report["facts"])
    lines += [
        f"baseline / voiced = {report['ratio']}×; room echo gain {report['echo_gain']}; "
        f"idle CPU while listening to silence {report['idle_cpu_percent']} %",
    ]
    return "\n".join(lines)
