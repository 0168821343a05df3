"""The voice of a reply: each sentence synthesised on the TTS worker, at the volume, played
once the end of the turn is confirmed, and fed to the echo canceller's reference.

It keeps what was played when, so that after a barge-in the history holds only what the
user heard. Barge-in cancels the speaking task; its handler stops the sound at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from voiced.audio import AudioSink, StreamClock
from voiced.audio.echo import PlaybackReference
from voiced.device import Volume
from voiced.engines import TextToSpeech
from voiced.text import speakable, split_sentences
from voiced.turn.reply import Reply
from voiced.turn.request import LlmError, TtsError
from voiced.turn.workers import Workers
from voiced.types import TurnTimings

log = logging.getLogger(__name__)

REFERENCE_TAIL_S = 0.15
"""Reference kept past a stop: what the device had buffered still reaches the room, and
the canceller must remove it."""


@dataclass
class _Said:
    text: str
    start_s: float
    end_s: float


@dataclass
class Spoken:
    """What one reply has put out so far."""

    said: list[_Said] = field(default_factory=list)
    stop_s: float | None = None
    """Stream time the sound was stopped (None: it played to the end)."""
    lost: bool = False
    """Some of it was dropped by the device (gone, restarting): never heard."""

    def heard(self) -> str:
        """The words heard before playback stopped (a cut sentence keeps its share)."""
        stop_s = self.stop_s if self.stop_s is not None else float("inf")
        words: list[str] = []
        for part in self.said:
            if part.end_s <= stop_s:
                words += part.text.split()
            elif part.start_s < stop_s:
                share = (stop_s - part.start_s) / max(1e-6, part.end_s - part.start_s)
                words += part.text.split()[: int(len(part.text.split()) * share)]
        return " ".join(words)

    def played(self) -> str:
        """Every sentence that began to sound, whole: what the microphone may hear of the
        assistant's own voice (its echo goes on for a moment after the stop)."""
        stop_s = self.stop_s if self.stop_s is not None else float("inf")
        return " ".join(part.text for part in self.said if part.start_s < stop_s)


class Speaker:
    def __init__(
        self, tts: TextToSpeech, workers: Workers, clock: StreamClock, volume: Volume
    ) -> None:
        self.tts = tts
        self.workers = workers
        self.clock = clock
        self.volume = volume
        self.reference: PlaybackReference | None = None
        """What was played when, for the echo canceller (None: no canceller)."""

    async def say(self, text: str, sink: AudioSink) -> float:
        """Speak a text (not a reply: nothing enters the conversation); returns its length."""
        seconds = 0.0
        for sentence in split_sentences(speakable(text)):
            speech = await self._synthesize(sentence, 1.0)
            if len(speech) and self._play(speech, sink) is not None:
                seconds += len(speech) / sink.sample_rate_hz
        return seconds

    async def speak(
        self,
        reply: Reply,
        sink: AudioSink,
        timings: TurnTimings,
        spoken: Spoken,
        gate: asyncio.Event | None = None,
        pace: float = 1.0,
        voiced: bool = True,
    ) -> None:
        """Each sentence of the reply, as it comes, until the last has played; nothing is
        played before the gate opens. voiced False: words only (a text client)."""
        clock = self.clock
        try:
            while (sentence := await reply.next()) is not None:
                log.debug("sentence %r", sentence)
                timings.mark("first_sentence_s", clock.now())
                if not voiced:
                    reply.voiced_first.set()
                    spoken.said.append(_Said(sentence, clock.now(), clock.now()))
                    continue
                speech = await self._synthesize(sentence, pace)
                reply.voiced_first.set()
                timings.mark("first_audio_s", clock.now())
                if gate is not None:
                    await gate.wait()
                if not spoken.said:  # the first sound of the reply: no silence before it
                    speech = without_lead_in(speech, sink.sample_rate_hz)
                if not len(speech):
                    continue
                start = self._play(speech, sink)
                if start is None:  # the device dropped it: not heard, not a played reply
                    spoken.lost = True
                    continue
                timings.mark("first_played_s", start)
                seconds = len(speech) / sink.sample_rate_hz
                log.debug("playing %.2f s of speech from %.2f s", seconds, start)
                spoken.said.append(_Said(sentence, start, start + seconds))
            await reply.finished()
            if not spoken.said and not spoken.lost and not reply.stop.is_set():
                # nothing by the deadline, or nothing speakable: a failed turn, not silence
                raise LlmError("the language model gave no words to say")
            await played_out(sink, clock)
        except asyncio.CancelledError:  # barge-in, or the turn dropped: silence at once
            if spoken.said:
                planned_end_s = sink.busy_until()
                spoken.stop_s = self.stop(sink)
                timings.extra["cut_s"] = round(max(0.0, planned_end_s - spoken.stop_s), 4)
                timings.extra["stopped_s"] = round(spoken.stop_s, 4)
            raise
        finally:
            reply.stop.set()
            reply.voiced_first.set()

    def stop(self, sink: AudioSink) -> float:
        """Stop what is playing now; returns the stream time the sound stops."""
        stop_s = sink.flush()
        if self.reference is not None:
            self.reference.cut(stop_s + REFERENCE_TAIL_S)
        return stop_s

    def _play(self, speech: np.ndarray, sink: AudioSink) -> float | None:
        """Queue the speech; when it starts (None: the device dropped it, nothing plays)."""
        speech = self.volume.apply(speech)
        start = sink.play(speech)
        if start is not None and self.reference is not None:
            self.reference.add(start, speech, sink.sample_rate_hz)
        return start

    async def _synthesize(self, text: str, pace: float) -> np.ndarray:
        try:
            return await self.workers.run("tts", _synthesize, self.tts, text, pace)
        except Exception as exc:
            raise TtsError(exc) from exc


def _synthesize(tts: TextToSpeech, text: str, pace: float) -> np.ndarray:
    chunks = list(tts.synthesize(text, pace))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


LEAD_IN_QUIET = 100
"""Samples this quiet (about -50 dBFS) before a voice's first sound are silence."""


def without_lead_in(speech: np.ndarray, rate: int, most_s: float = 0.1) -> np.ndarray:
    """The speech less the silence a voice starts with (Piper: about 50 ms), keeping 5 ms
    before the first sound; at most most_s is taken."""
    loud = np.flatnonzero(np.abs(speech[: int(most_s * rate)]) > LEAD_IN_QUIET)
    cut = max(0, int(loud[0]) - rate // 200) if len(loud) else int(most_s * rate)
    return speech[cut:]


async def played_out(sink: AudioSink, clock: StreamClock) -> None:
    """Until the sink's queued audio has played: on the stream clock, which may run
    ahead of real time (files), but never longer than that audio lasts in real time
    (the clock stops when the input ends)."""
    wait_s = sink.busy_until() - clock.now()
    deadline = time.monotonic() + wait_s
    while wait_s > 0 and time.monotonic() < deadline:
        await asyncio.sleep(min(wait_s, 0.02))
        wait_s = sink.busy_until() - clock.now()
