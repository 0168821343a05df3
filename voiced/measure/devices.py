"""The prompts and the live barge-in scenes through a real sound server (PulseAudio or
PipeWire) with a speaker that leaks into the microphone.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from voiced.audio.files import write_wav
from voiced.measure.barge_in import STOP_WITHIN_S, barge_in_figures, barge_in_scenes, talk_over
from voiced.measure.files import analyse, on_prompt_time
from voiced.measure.loop import logged_turns, median, run_loop
from voiced.measure.prompts import Prompt
from voiced.types import SAMPLE_RATE_HZ

LEAK_DELAY_MS = 60
"""The speaker's sound reaches the microphone this late in the device runs (as the file
runs' simulated echo)."""


TAIL_S = 8.0
"""How long a device run goes on after the last prompt has played (its reply)."""


def measure_on_devices(
    prompts: list[Prompt], source: Path, out_dir: Path, server: str, echo_gain: float
) -> dict:
    """One run of the loop on a private sound server's devices: the prompts played into
    its microphone, the speaker leaking back into it (at echo_gain, LEAK_DELAY_MS late),
    the speaker recorded; both recordings put on the prompts' timeline. Then the live
    barge-in scenes (no prompts: only those)."""
    from voiced.engines.whisper import read_audio_file
    from voiced.measure.soundroom import SoundRoom, find

    scenes = barge_in_scenes()
    with SoundRoom(server, out_dir / f"{server}-room") as room:
        if echo_gain:
            room.leak(echo_gain, LEAK_DELAY_MS)
        heard, speaker = room.record("vmic.monitor"), room.record("vspk.monitor")

        def scene() -> None:
            if prompts:
                room.say(source)
                time.sleep(TAIL_S)
            talk_over(room, speaker, scenes, out_dir)

        stats = run_loop([], env=room.env, scene=scene)
        mic_audio, speaker_audio = heard.stop(), speaker.stop()
        assert heard.start_s is not None and speaker.start_s is not None
    (out_dir / f"{server}.log").write_text("\n".join(stats.stderr) + "\n")
    write_wav(out_dir / f"{server}-mic.wav", mic_audio, SAMPLE_RATE_HZ)
    write_wav(out_dir / f"{server}-speaker.wav", speaker_audio, SAMPLE_RATE_HZ)
    live = barge_in_figures(scenes, mic_audio, heard.start_s, speaker_audio, speaker.start_s)
    stops = [f["stop_latency_s"] for f in live if f["stop_latency_s"] is not None]
    barge_ins = {
        "barge_ins": live,
        "barge_in_scenes": len(live),
        "stops_within_250ms": sum(stop <= STOP_WITHIN_S for stop in stops),
        "live_stop_latency_median_s": median(stops),
        "live_questions_answered": sum(bool(f["answered"]) for f in live),
        "live_questions": sum(s.interruption.speech for s in scenes),
        "own_voice_drops": sum(t.get("dropped") == "own voice" for t in logged_turns(stats.stderr)),
    }
    if not prompts:
        return barge_ins
    played = (read_audio_file(source) * 32767).astype(np.int16)
    # where the prompts began in the microphone's recording: by their first seconds
    first = int(prompts[0].start_s * SAMPLE_RATE_HZ)
    began_s = heard.start_s + find(played[first:], mic_audio) - prompts[0].start_s
    shift = round((began_s - speaker.start_s) * SAMPLE_RATE_HZ)
    replies = speaker_audio[shift:] if shift >= 0 else np.concatenate(
        [np.zeros(-shift, dtype=np.int16), speaker_audio]
    )  # fmt: skip
    write_wav(out_dir / f"{server}.wav", replies, SAMPLE_RATE_HZ)
    logged = on_prompt_time(logged_turns(stats.stderr), prompts)
    return analyse(prompts, replies, SAMPLE_RATE_HZ, logged, stats) | barge_ins


def bench_barge_in(out_dir: Path, echo_gain: float, runs: tuple[str, ...]) -> dict[str, Any]:
    """Only the device runs' live barge-in scenes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        name: measure_on_devices([], out_dir / "prompts.wav", out_dir, name, echo_gain)
        for name in runs
    }
    report["echo_gain"] = echo_gain
    (out_dir / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
