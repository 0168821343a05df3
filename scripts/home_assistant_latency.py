#!/usr/bin/env python3
"""Two ways to use a real Home Assistant for the house, on the same recording and the same
measure: from the end of the words ("turn on the living room lamp") to the first sound of
the reply ("Turned on the light"), read from the output recording.

  voiced run:       voiced hears, decides the turn is over, asks Home Assistant's
                    conversation API and says its words;
  voiced satellite: voiced hears the wake word and streams the request to Home
                    Assistant's Assist pipeline (voiced's speech to text and text to speech,
                    Home Assistant's agent and its own end of speech), and plays the reply.

Run from the repository after `make test` has set up Home Assistant's environment:
    .venv/bin/python scripts/home_assistant_latency.py [--runs N] [--out DIR]
The two run one after the other (never beside each other: two cores).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.home_assistant import HomeAssistant, free_port  # noqa: E402
from voiced.audio import to_int16  # noqa: E402
from voiced.audio.files import write_wav  # noqa: E402
from voiced.engines.whisper import read_audio_file  # noqa: E402

RATE = 16000
DATA = ROOT / "tests" / "data"
GAP_S = 10.0
SPEECH = 0.02
"""A sample above this (of full scale) is speech in the recording; above LOUD, the reply."""
LOUD = 0.05


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), np.float32)


def stream(runs: int, call: np.ndarray | None) -> tuple[np.ndarray, list[float]]:
    """The command `runs` times (after the wake word, if given), GAP_S apart; and the
    stream times its words end."""
    command = read_audio_file(DATA / "wyomingfw_turn_on_the_living_room_lamp.wav")
    words_end_s = np.flatnonzero(np.abs(command) > SPEECH)[-1] / RATE
    parts, ends = [quiet(1.5)], []
    for _ in range(runs):
        if call is not None:
            parts += [call, quiet(0.3)]
        ends.append(sum(map(len, parts)) / RATE + words_end_s)
        parts += [command, quiet(GAP_S)]
    return np.concatenate(parts), ends


def first_sounds(played: np.ndarray, ends: list[float]) -> list[float]:
    found = []
    for end_s in ends:
        after = np.flatnonzero(np.abs(played[round(end_s * RATE) :]) > LOUD)
        if len(after):
            found.append(round(float(after[0]) / RATE, 3))
    return found


def through_run(home: HomeAssistant, runs: int, out: Path) -> list[float]:
    audio, ends = stream(runs, None)
    source, played = out / "run-in.wav", out / "run-out.wav"
    write_wav(source, to_int16(audio), RATE)
    env = {**os.environ, "VOICED_HA_TOKEN": home.token, "XDG_STATE_HOME": str(out / "state")}
    done = subprocess.run(
        [sys.executable, "-m", "voiced", "run", "--input-file", str(source)]
        + ["--output-file", str(played), "--set", f'home_assistant.url="{home.url}"'],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.exit(f"voiced run failed: {done.stderr[-2000:]}")
    return first_sounds(read_audio_file(played), ends)


def through_satellite(home: HomeAssistant, runs: int, out: Path) -> list[float]:
    audio, ends = stream(runs, read_audio_file(DATA / "wake" / "hey_jarvis_2.wav"))
    source, played = out / "satellite-in.wav", out / "satellite-out.wav"
    write_wav(source, to_int16(audio), RATE)
    port, satellite_port = free_port(), free_port()
    with (out / "satellite.log").open("w") as log:
        serve = subprocess.Popen(
            [sys.executable, "-m", "voiced", "serve", "--wyoming", f"tcp://127.0.0.1:{port}"]
            + ["--satellite", f"tcp://127.0.0.1:{satellite_port}"]
            + ["--input-file", str(source), "--output-file", str(played)],
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
    while True:
        try:
            socket.create_connection(("127.0.0.1", satellite_port), timeout=1).close()
            break
        except OSError:
            if serve.poll() is not None:
                sys.exit(f"voiced serve failed: see {out / 'satellite.log'}")
            time.sleep(0.3)
    args = [home.url, home.token, "127.0.0.1", str(port), str(satellite_port)]
    added = subprocess.run(
        [home.python, str(ROOT / "tests" / "ha_assist.py"), "satellite", *args],
        capture_output=True,
        text=True,
    )
    if added.returncode:
        serve.kill()
        sys.exit(f"adding the satellite failed: {added.stderr[-2000:]}")
    serve.wait()
    return first_sounds(read_audio_file(played), ends)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="voiced-ha-"))
    out.mkdir(parents=True, exist_ok=True)
    home = HomeAssistant(out / "home-assistant")
    home.start()
    try:
        run = through_run(home, args.runs, out)
        satellite = through_satellite(home, args.runs, out)
    finally:
        home.stop()
    print(f"end of the words -> first sound of the reply, {args.runs} requests each (s):")
    ways = (("voiced run + conversation API", run), ("voiced as a satellite", satellite))
    for name, found in ways:
        median = statistics.median(found) if found else float("nan")
        heard = f"{len(found)} of {args.runs} answered"
        print(f"  {name:31} median {median:.3f}  ({heard}: {' '.join(map(str, found))})")
    if run and satellite:
        print(f"  satellite / run: {statistics.median(satellite) / statistics.median(run):.2f}")
    print(f"recordings in {out}")


if __name__ == "__main__":
    main()
