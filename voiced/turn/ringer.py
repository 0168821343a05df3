"""Timers and reminders said aloud when due, in a gap in the conversation, again every
RING_EVERY_S until the user answers (any speech), for at most RING_FOR_S."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from voiced.aio import within
from voiced.audio import AudioSink
from voiced.skills.alarms import Alarm, Alarms
from voiced.skills.timers import announcement
from voiced.turn.runner import TurnRunner

log = logging.getLogger(__name__)

RING_EVERY_S = 6.0
"""A due timer is said again this long after it was last said ..."""
RING_FOR_S = 60.0
"""... until the user answers, or this long has passed."""


class Ringer:
    def __init__(self, runner: TurnRunner, sink: AudioSink, hearing: Callable[[], bool]) -> None:
        self.runner = runner
        self.sink = sink
        self.hearing = hearing
        """Whether the user is speaking now (nothing is said over them)."""
        self.poll_s = 0.2
        self._ringing: list[Alarm] = []
        """Due timers and reminders being announced, until the user answers."""
        self._answered = asyncio.Event()

    def heard_user(self, at_s: float) -> None:
        """The user spoke: that answers an alarm being said (and stops its sound)."""
        if not self._ringing or self._answered.is_set():
            return
        log.info("the user answered the alarm at %.2f s", at_s)
        self._answered.set()
        if self.sink.busy_until() > at_s and not self.runner.busy:
            self.runner.speaker.stop(self.sink)

    @property
    def alarms(self) -> Alarms:
        return self.runner.router.alarms

    async def run(self) -> None:
        alarms, clock, router = self.alarms, self.runner.clock, self.runner.router
        while True:
            await asyncio.sleep(self.poll_s)
            due = alarms.due()
            if not due:
                continue
            self._ringing, self._answered = due, asyncio.Event()
            text = announcement(due, alarms.clock())
            log.info("due: %s", ", ".join(f"{a.kind} {a.id}" for a in due))
            first_s, next_s = clock.now(), clock.now()
            while not self._answered.is_set() and clock.now() - first_s < RING_FOR_S:
                now = clock.now()
                talking = self.hearing() or self.runner.busy
                if not talking and self.sink.busy_until() <= now and now >= next_s:
                    seconds = await self.runner.say(text, self.sink)
                    next_s = clock.now() + seconds + RING_EVERY_S
                    # spoken to the user: an answer ("thanks", "stop") needs no wake phrase
                    router.replied_until = clock.now() + seconds
                await within(self._answered.wait(), self.poll_s)
            for alarm in due:
                alarms.remove(alarm.id)
            self._ringing = []
