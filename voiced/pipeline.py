"""The spoken loop: microphone → listener → turns → runner (router, reply, speaker) → sink.

Only this module knows the order. The event loop routes and decides; every blocking model
call runs in that engine's own single-thread executor, so a slow model never stalls
capture or endpointing.

Speed comes from overlap: transcription starts on a short pause and a turn that reads as
finished ends right there; the reply is spoken sentence by sentence (the first clause even
sooner) while the model is still writing. Barge-in: when the user starts speaking over a
reply, playback stops, the unspoken rest is dropped from the history and the new
utterance is answered.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable

from voiced.audio import AudioSink, AudioSource
from voiced.audio.echo import EchoCanceller
from voiced.config import Settings
from voiced.engines import VoiceActivity, Wake
from voiced.listen.endpoint import EndOfTurn
from voiced.listen.listener import Listener
from voiced.listen.segmenter import Event, Segment
from voiced.listen.wake import ALONE_S, WakeGate
from voiced.turn.request import Request, TurnResult
from voiced.turn.ringer import Ringer
from voiced.turn.runner import TurnRunner
from voiced.turn.taking import Turns

log = logging.getLogger(__name__)

INPUT_ENDED = "the input has ended and its last reply with it"
"""Logged when a file source is done: what follows is shutting down (the soak stops
measuring there)."""
GOES_ON_MS = 300
"""Voice a sound just after a turn that ended early needs (or vad.min_speech_ms, if more)
before it is the user going on and the reply waits: a click with its ringing, a breath or
a lip smack reaches 200 ms (voice2json's recording ends with one, 0.5 s after the words:
the reply waited for it, 1.2 s in all), words going on reach 300 ms in a moment."""


class Pipeline:
    """The spoken loop over one audio source and one sink; the assistant's device (what
    skills may change: its volume, its microphone)."""

    def __init__(
        self,
        runner: TurnRunner,
        vad: VoiceActivity,
        source: AudioSource,
        sink: AudioSink,
        on_turn: Callable[[TurnResult], None] | None = None,
        echo: EchoCanceller | None = None,
        on_wake: Callable[[Wake], None] | None = None,
    ) -> None:
        self.runner = runner
        self.source = source
        self.sink = sink
        words = runner.engines.wake
        follow_up_s = runner.settings.activation.follow_up_s
        asked = runner.router.asked_back
        self.wake = WakeGate(words, follow_up_s, asked) if words is not None else None
        self.listener = Listener(runner.settings, vad, sink, echo, runner.reference, self.wake)
        self.on_wake = on_wake
        self._woken: Wake | None = None
        """A wake word whose request has not started yet (acknowledged if none does)."""
        self.floor = Turns(runner, sink, on_turn)
        self.end_of_turn = EndOfTurn(
            runner.settings.vad,
            runner.engines.judge,
            lambda judge, audio: runner.workers.run("turn", judge, audio),
        )
        self.ringer = Ringer(runner, sink, lambda: self.listener.in_speech)
        runner.router.device = self
        self.last_frame_at = time.monotonic()
        """When the last audio frame arrived (monotonic): the audio path is alive."""
        self._ended_early_s: float | None = None
        """When a pause last ended the turn before end_silence_ms had passed."""
        self._onset_s: float | None = None
        """A sound that started just after such an end: words, or a click? (_confirm_onset)"""

    @property
    def settings(self) -> Settings:
        return self.runner.settings

    def configure(self, settings: Settings) -> None:
        """New settings while running (a reload): the runner's and the listener's."""
        self.runner.settings = settings
        self.listener.configure(settings)
        if self.wake is not None:  # the wake words themselves are chosen at start
            self.wake.follow_up_s = settings.activation.follow_up_s
        self.end_of_turn.configure(settings.vad)

    @property
    def turns(self) -> collections.deque[TurnResult]:
        return self.floor.done

    @property
    def failures(self) -> int:
        return sum(self.floor.failures.values())

    # -- the device skills change -----------------------------------------------------

    def change_volume(self, step: float) -> float:
        return self.runner.volume.change(step)

    def mute_microphone(self) -> None:
        self.muted = True
        log.info("microphone muted by voice")

    @property
    def muted(self) -> bool:
        return self.listener.muted

    @muted.setter
    def muted(self, muted: bool) -> None:
        self.listener.muted = muted

    @property
    def talk_held(self) -> bool:
        return self.listener.talk_held

    # -- the loop ---------------------------------------------------------------------

    async def run(self) -> None:
        """Listen and answer until the source ends (then finish the last reply) or cancelled."""
        rings = self.runner.router.alarms.rings
        ringer = asyncio.create_task(self.ringer.run()) if rings else None
        listener = self.listener
        try:
            async for frame, start_s in self.source.frames():
                self.last_frame_at = time.monotonic()
                if listener.deaf(start_s):
                    self.floor.drop_speculation()
                    continue
                segment = listener.push(frame, start_s)
                if listener.woken is not None:
                    self._on_wake(listener.woken)
                    listener.woken = None
                if segment is not None:
                    self._on_segment(segment)
                if self._woken is not None and start_s > self._woken.at_s + ALONE_S:
                    self._woken = None
                    if not listener.in_speech:  # the wake word alone: "Yes?"
                        self.floor.ask(Request.woken())
                if self._onset_s is not None:
                    self._confirm_onset(start_s)
                heard = listener.segmenter
                silence_ms = heard.silence_ms
                if listener.in_speech:
                    self.runner.heard_voice()  # (until the turn ends, pauses included)
                # (a sound just after an early end, not words yet: no judge, nothing read)
                if listener.in_speech and self._onset_s is None:
                    self.end_of_turn.hear(heard.quiet_ms, heard.heard_so_far)
                    if not silence_ms and heard.long_enough:
                        self.floor.hearing(
                            heard.speech_s,
                            heard.started_s,
                            heard.heard_so_far,
                            heard.quiet_ms,
                            heard.voice_ended_s,
                        )
                # a pause: is the turn over?
                if silence_ms and self.end_of_turn.over(silence_ms, self.floor.reads_finished()):
                    now_s = start_s + len(frame) / 16000
                    self._end_turn(now_s)
                    if silence_ms < self.settings.vad.end_silence_ms:
                        self._ended_early_s = now_s
            self._end_turn(self.runner.clock.now())
            await self.floor.finish()
            await self.runner.settle()  # the input is over: the model reads what is left
            log.info("%s", INPUT_ENDED)
        finally:
            if ringer is not None:
                ringer.cancel()
                await asyncio.gather(ringer, return_exceptions=True)
            self.runner.stopping.set()
            self.runner.interrupt(self.runner.clock.now())
            await self.floor.close()
            await self.runner.settle()

    def _end_turn(self, now_s: float) -> None:
        self.end_of_turn.reset()
        if not self.listener.segmenter.in_speech:
            return
        final = self.listener.segmenter.flush(now_s)
        if final is not None:
            self.floor.commit(final)
        else:  # too short to be words (a click): what it held back is answered after all
            self.floor.resume_carried()

    def _on_segment(self, segment: Segment) -> None:
        log.debug("%s at %.2f s", segment.event.value, segment.at_s)
        if segment.event is not Event.PAUSE:
            self.end_of_turn.reset()
        if segment.event is Event.END:
            self._onset_s = None
        if segment.event is Event.START:
            self._woken = None  # its request is coming
            self.ringer.heard_user(segment.at_s)
            ended = self._ended_early_s
            window_s = self.settings.vad.end_silence_ms / 1000
            if self.runner.busy and ended is not None and segment.at_s - ended < window_s:
                # The turn was ended early: a click or a breath after it would have been
                # part of it before. It stops the reply only once it is long enough to be
                # words (then the user went on).
                log.debug("a sound just after the turn at %.2f s: words?", segment.at_s)
                self._onset_s = segment.at_s
                return
            self._user_starts(segment.at_s)
        elif segment.event is Event.PAUSE:
            assert segment.utterance is not None
            # a sound just after an early end that is not words yet (see _confirm_onset) is
            # not transcribed beside the reply being made
            if self._onset_s is None:
                self.floor.speculate(segment.utterance)
        elif segment.event is Event.RESUME:
            self.floor.drop_speculation()
        elif segment.event is Event.END:
            if segment.utterance is None:
                self.floor.resume_carried()
            else:
                self.floor.commit(segment.utterance)

    def _on_wake(self, wake: Wake) -> None:
        """The wake word: what follows is the request; said over a reply, it stops it."""
        self._woken = wake
        if self.on_wake is not None:
            self.on_wake(wake)
        self._user_starts(wake.at_s)

    def _user_starts(self, at_s: float) -> None:
        """The user started speaking while a reply was being made or played: it stops."""
        if not self.runner.busy:
            return
        if self.sink.busy_until() > at_s:
            log.info("barge-in at %.2f s", at_s)
            self.listener.barged_in()
        else:
            log.debug("the user goes on at %.2f s: the reply being prepared waits", at_s)
        self.runner.interrupt(at_s)

    def _confirm_onset(self, now_s: float) -> None:
        """A sound just after an early end: once it has min_speech_ms of voice it is the
        user going on (as if they had started then); if it ends shorter, nothing happens.
        Not words yet when the reply starts to play: it is dropped, and from then the
        double-talk detector decides, as over any reply (the reply's echo must not make a
        click into words)."""
        segmenter = self.listener.segmenter
        if not segmenter.in_speech:
            self._onset_s = None
            return
        needed = max(self.settings.vad.min_speech_ms, GOES_ON_MS) // self.settings.audio.frame_ms
        if segmenter.endpointer.voiced_frames >= needed:
            at_s, self._onset_s, self._ended_early_s = self._onset_s, None, None
            assert at_s is not None
            self._user_starts(at_s)
        elif self.sink.busy_until() > now_s:
            log.debug("the sound at %.2f s was not words: dropped", self._onset_s)
            segmenter.reset()
            self._onset_s = None

    # -- from the control socket ------------------------------------------------------

    def ask(self, text: str) -> asyncio.Task[TurnResult | None]:
        """A typed request, answered aloud in turn like a spoken one."""
        return self.floor.ask(Request.typed(text))

    def cancel(self) -> None:
        """Stop speaking now; the request being answered is dropped, not carried."""
        if not self.floor.cancel() and self.sink.busy_until() > self.runner.clock.now():
            self.runner.speaker.stop(self.sink)  # something said with `say`, or an alarm

    def push_to_talk(self, held: bool) -> None:
        """Pressed: the assistant stops speaking and everything heard is the user's turn;
        let go: the turn ends there."""
        if held and not self.talk_held:
            self.cancel()
        elif not held and self.talk_held:
            self._end_turn(self.runner.clock.now())
        self.listener.talk_held = held

    @property
    def state(self) -> str:
        """muted, waiting (for the microphone), speaking, thinking, hearing or listening."""
        if self.muted:
            return "muted"
        if getattr(self.source, "waiting", None):
            return "waiting"
        if self.sink.busy_until() > self.runner.clock.now():
            return "speaking"
        if self.runner.busy:
            return "thinking"
        if self.listener.in_speech:
            return "hearing"
        return "listening"
