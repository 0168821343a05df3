"""What `voiced serve` runs: the Wyoming server and, when asked, the satellite, until
SIGINT or SIGTERM (or until the satellite's input file has been heard)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable
from pathlib import Path

import numpy as np

from voiced.config import Settings
from voiced.errors import UsageError
from voiced.network.wyoming import serve
from voiced.turn.load import load_runner

log = logging.getLogger("voiced")


def serve_until_stopped(
    settings: Settings,
    uri: str,
    satellite_uri: str,
    input_audio: np.ndarray | None,
    output_file: Path | None,
) -> None:
    """The models loaded and warmed, then the servers on their (checked) addresses."""
    runner = load_runner(settings, rings=False)  # no speaker to say a timer when due
    runner.warm_up()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        jobs = [listening(serve(runner, uri, Path(settings.tts.voice).stem), "--wyoming", uri)]
        if satellite_uri:
            from voiced.network.satellite import serve_satellite

            rate = runner.engines.tts.sample_rate_hz
            job = serve_satellite(settings, rate, satellite_uri, input_audio, output_file)
            jobs.append(listening(job, "--satellite", satellite_uri))
        running = [asyncio.ensure_future(job) for job in jobs]
        try:  # until cancelled, or the satellite's input file has been heard
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for finished in done:
                finished.result()
        except asyncio.CancelledError:
            log.info("wyoming: stopping")
        finally:
            for unfinished in running:
                unfinished.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            runner.workers.shutdown()

    asyncio.run(main())


async def listening(job: Awaitable[None], option: str, uri: str) -> None:
    """A server's address that cannot be listened on is the user's to fix: one line."""
    try:
        await job
    except OSError as exc:
        raise UsageError(f"{option}: cannot listen on {uri}: {exc.strerror}") from None
