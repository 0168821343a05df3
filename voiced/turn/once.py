"""One turn in a process of its own: `voiced ask`, `voiced respond` and `voiced say`.

The same router and runner as the voice loop; nothing here can say a timer when it is
due (no loop runs on), so the runner is loaded without a ringer, and what the model
reads after the reply (the facts it keeps) is settled before the process ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from voiced.config import Settings
from voiced.turn.load import load_runner, skills_router
from voiced.turn.request import Origin, Request, TurnResult
from voiced.turn.runner import TurnRunner, text_turn
from voiced.types import TurnTimings

T = TypeVar("T")


def needs_ringer(settings: Settings, text: str) -> bool:
    """Whether the request sets something that must be said when due (a timer)."""
    return skills_router(settings).decide(Request.typed(text, Origin.TEXT)).needs_ringer


def ask(settings: Settings, text: str, show: Callable[[str], None] | None = None) -> str:
    """A typed request's reply, in words; show(reply) is called as soon as it is known,
    before the facts the model reads after the reply are kept (a few seconds more)."""
    runner = load_runner(settings, rings=False)

    async def turn() -> str:
        result = await text_turn(runner, text)
        if show is not None:
            show(result.reply)
        await runner.settle()  # the facts the model reads after the reply are kept
        return result.reply

    return _run(runner, turn())


def respond(settings: Settings, audio: np.ndarray) -> tuple[TurnResult, np.ndarray, int]:
    """A spoken request (16 kHz float audio) heard and answered: the turn, and the reply's
    sound with its sample rate."""
    from voiced.audio.files import BufferSink

    runner = load_runner(settings, rings=False)
    sink = BufferSink(runner.engines.tts.sample_rate_hz, runner.clock)

    async def turn() -> TurnResult:
        runner.clock.restart()
        timings = TurnTimings(speech_end_s=0.0, endpoint_s=0.0)
        result = await runner.respond(runner.hear(audio, 0.0), sink, timings)
        await runner.settle()
        return result

    result = _run(runner, turn())
    return result, sink.audio(), sink.sample_rate_hz


def say(settings: Settings, text: str, out: Path | None) -> None:
    """The text in the configured voice: written to out, or played on the speaker."""
    from voiced.engines.loader import make_tts
    from voiced.text import speakable

    tts = make_tts(settings)
    chunks = list(tts.synthesize(speakable(text)))
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    if out:
        from voiced.audio.files import write_wav

        write_wav(out, audio, tts.sample_rate_hz)
        return
    from voiced.audio import StreamClock
    from voiced.audio.devices import SpeakerSink

    clock = StreamClock()
    sink = SpeakerSink(settings.audio.output_device, tts.sample_rate_hz, clock)
    try:
        sink.play(audio)
        time.sleep(max(0.0, sink.busy_until() - clock.now()))
        sink.drain()
    finally:
        sink.close()


def _run(runner: TurnRunner, turn: Coroutine[Any, Any, T]) -> T:
    """The turn run to its end; the runner's workers stopped whatever happens."""

    async def run() -> T:
        try:
            return await turn
        finally:
            runner.workers.shutdown()

    return asyncio.run(run())
