"""Prometheus metrics on a loopback port (off by default): turn latency per stage, counts.

The text exposition format, written by hand (a few dozen lines do not earn a
dependency), served by a minimal HTTP responder on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

from voiced.types import TurnTimings

log = logging.getLogger(__name__)

BUCKETS_S = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
STAGES = {
    "endpoint": "endpoint_s",
    "transcript": "transcript_s",
    "first_token": "first_token_s",
    "first_sentence": "first_sentence_s",
    "first_audio": "first_audio_s",
    "first_played": "first_played_s",
}
"""Each stage's latency is measured from the end of the user's speech."""


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * len(BUCKETS_S)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.total += 1
        self.sum += value
        for i, bound in enumerate(BUCKETS_S):
            if value <= bound:
                self.counts[i] += 1

    def lines(self, name: str, labels: str) -> list[str]:
        sep = "," if labels else ""
        out = [
            f'{name}_bucket{{{labels}{sep}le="{bound}"}} {count}'
            for bound, count in zip(BUCKETS_S, self.counts, strict=True)
        ]
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.total}')
        out.append(f"{name}_sum{{{labels}}} {self.sum:.6f}")
        out.append(f"{name}_count{{{labels}}} {self.total}")
        return out


class Metrics:
    """What a turn and the audio path report; rendered on each scrape."""

    def __init__(
        self,
        overflows: Callable[[], int] = lambda: 0,
        errors: Callable[[], Mapping[str, int]] = dict,
    ) -> None:
        self.stages = {stage: Histogram() for stage in STAGES}
        self.turns: dict[str, int] = {}
        self.wakes: dict[str, int] = {}
        """Wake words heard, by wake word."""
        self.errors = errors
        """Failed turns by the stage that failed (stt, llm, tts, turn)."""
        self.overflows = overflows

    def turn(self, timings: TurnTimings, outcome: str) -> None:
        self.turns[outcome] = self.turns.get(outcome, 0) + 1
        end = timings.speech_end_s
        if end is None:
            return
        for stage, field in STAGES.items():
            at = getattr(timings, field)
            if at is not None:
                self.stages[stage].observe(max(0.0, at - end))

    def wake(self, name: str) -> None:
        self.wakes[name] = self.wakes.get(name, 0) + 1

    def render(self) -> str:
        errors = self.errors()
        lines = [
            "# HELP voiced_stage_latency_seconds Time from the end of speech to each stage.",
            "# TYPE voiced_stage_latency_seconds histogram",
        ]
        for stage, histogram in self.stages.items():
            lines += histogram.lines("voiced_stage_latency_seconds", f'stage="{stage}"')
        lines += [
            "# HELP voiced_turns_total Turns, by outcome.",
            "# TYPE voiced_turns_total counter",
        ]
        lines += [f'voiced_turns_total{{outcome="{k}"}} {v}' for k, v in sorted(self.turns.items())]
        lines += [
            "# HELP voiced_wakes_total Wake words heard, by wake word.",
            "# TYPE voiced_wakes_total counter",
        ]
        lines += [
            f'voiced_wakes_total{{wake_word="{k}"}} {v}' for k, v in sorted(self.wakes.items())
        ]
        lines += [
            "# HELP voiced_turn_errors_total Turns that failed inside an engine.",
            "# TYPE voiced_turn_errors_total counter",
            f"voiced_turn_errors_total {sum(errors.values())}",
            "# HELP voiced_stage_errors_total Turns that failed, by the stage that failed.",
            "# TYPE voiced_stage_errors_total counter",
            *(f'voiced_stage_errors_total{{stage="{k}"}} {v}' for k, v in sorted(errors.items())),
            "# HELP voiced_audio_overflows_total Microphone frames lost to overflows.",
            "# TYPE voiced_audio_overflows_total counter",
            f"voiced_audio_overflows_total {self.overflows()}",
        ]
        return "\n".join(lines) + "\n"


class MetricsServer:
    """GET /metrics on 127.0.0.1:port; anything else is a 404. Never blocks the loop."""

    def __init__(self, metrics: Metrics, port: int) -> None:
        self.metrics = metrics
        self.port = port
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        log.info("metrics: http://127.0.0.1:%d/metrics", self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)).strip():
                pass  # the headers: nothing in them matters here
            parts = request.split()
            if len(parts) >= 2 and parts[0] == b"GET" and parts[1].split(b"?")[0] == b"/metrics":
                status, body = "200 OK", self.metrics.render().encode()
            else:
                status, body = "404 Not Found", b"only /metrics here\n"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await asyncio.wait_for(writer.drain(), 5)
        except (TimeoutError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()
