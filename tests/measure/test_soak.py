"""The soak's arithmetic and verdicts (the soak itself is `make soak`: 45 minutes)."""

from __future__ import annotations

import os

from voiced.measure.soak import Sample, SoakRun, _proc, format_summary, summarise, verdicts


def _run(turns: int, rss: list[float], fds: int = 12, late_latency: float = 1.0) -> SoakRun:
    run = SoakRun(exit_code=0)
    run.turns = [
        {"response_latency_s": 1.0 if i < turns // 2 else late_latency} for i in range(turns)
    ]
    step = max(1, turns // len(rss))
    run.samples = [
        Sample(at_s=i * 5.0, rss_mb=mb, fds=fds, threads=12, turns=min(turns, i * step))
        for i, mb in enumerate(rss)
    ]
    return run


def _failed(summary) -> set[str]:
    return {what for what, _, ok in verdicts(summary) if not ok}


def test_a_steady_run_passes_every_target():
    summary = summarise(_run(300, [700.0] + [760.0] * 10 + [780.0]))
    assert summary["rss_mb_after_warm_up"] == 760.0  # the first sample after warm-up
    assert summary["rss_growth"] == round(780 / 760 - 1, 4)
    assert _failed(summary) == set()
    assert "NO" not in format_summary(summary)


def test_each_missed_target_is_named():
    summary = summarise(_run(178, [700.0] + [760.0] * 10 + [900.0], late_latency=1.5))
    failed = _failed(summary)
    assert "turns (at least 300)" in failed
    assert "RSS growth after warm-up (< 10 %)" in failed
    assert "p90 latency, last 50 / first 50 (within 20 %)" in failed
    assert "NO" in format_summary(summary)


def test_a_crash_fails_the_soak():
    run = _run(300, [760.0] * 12)
    run.exit_code = -9
    assert _failed(summarise(run)) == {"crashes, failed turns"}


def test_this_process_is_measured_from_proc():
    sample = _proc(os.getpid())
    assert sample is not None
    assert sample.rss_mb > 1 and 0 < sample.anon_mb <= sample.rss_mb
    assert sample.fds >= 3 and sample.threads >= 1
