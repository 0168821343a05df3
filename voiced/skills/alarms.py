"""Timers and reminders: kept on disk so they survive a restart, due by the wall clock.

The store is a small JSON file (`$XDG_STATE_HOME/voiced/alarms.json`, 0600), rewritten
atomically on every change. Times are Unix seconds, so a restart (or a reboot) keeps
them; one that fell due while voiced was away is announced as soon as it is back.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alarm:
    id: int
    kind: str
    """"timer" or "reminder"."""
    due: float
    """Unix seconds."""
    label: str
    """The timer's name ("pasta") or what to be reminded of ("call mum")."""
    seconds: float = 0.0
    """A timer's length, to name an unnamed one ("your 5 minute timer")."""


class Alarms:
    def __init__(
        self, path: Path | None, clock: Callable[[], float] = time.time, rings: bool = True
    ) -> None:
        """path None: kept in memory only (tests, or no state directory). rings False: no
        one here can say them when due (`voiced serve` has no speaker)."""
        self.path = path
        self.rings = rings
        self.clock = clock
        self._alarms: dict[int, Alarm] = {}
        self._next_id = 1
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            for item in data.get("alarms", []):
                alarm = Alarm(**item)
                self._alarms[alarm.id] = alarm
            self._next_id = max(
                [int(data.get("next_id", 1)), *[a.id + 1 for a in self._alarms.values()]]
            )
        except (OSError, ValueError, TypeError) as exc:
            # A damaged file must not stop the assistant; it is kept aside, not lost.
            aside = path.with_name(path.name + ".damaged")
            log.warning("timers file %s unreadable (%s); moved to %s", path, exc, aside)
            path.replace(aside)

    def _save(self) -> None:
        """Write the file anew; a failure (a full disk) is reported, and the timers still
        run from memory until the next write succeeds."""
        if self.path is None:
            return
        try:
            self._write(self.path)
        except OSError as exc:
            log.error("could not save the timers to %s (%s)", self.path, exc)

    def _write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.tmp")
        data = {"next_id": self._next_id, "alarms": [asdict(a) for a in self.pending()]}
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)

    def _add(self, kind: str, due: float, label: str, seconds: float = 0.0) -> Alarm:
        alarm = Alarm(self._next_id, kind, round(due, 3), label, seconds)
        self._next_id += 1
        self._alarms[alarm.id] = alarm
        self._save()
        return alarm

    def add_timer(self, seconds: float, label: str = "") -> Alarm:
        return self._add("timer", self.clock() + seconds, label, seconds)

    def add_reminder(self, due: float, text: str) -> Alarm:
        return self._add("reminder", due, text)

    def pending(self, kind: str | None = None) -> list[Alarm]:
        """Soonest first."""
        found = [a for a in self._alarms.values() if kind is None or a.kind == kind]
        return sorted(found, key=lambda a: (a.due, a.id))

    def left(self, alarm: Alarm) -> float:
        return max(0.0, alarm.due - self.clock())

    def remove(self, alarm_id: int) -> bool:
        if self._alarms.pop(alarm_id, None) is None:
            return False
        self._save()
        return True

    def due(self) -> list[Alarm]:
        """What has fallen due (it stays until `remove`d, once announced)."""
        now = self.clock()
        return [a for a in self.pending() if a.due <= now]

    def find(self, kind: str, label: str = "") -> list[Alarm]:
        """Pending alarms of a kind, those named `label` if given."""
        alarms = self.pending(kind)
        if label:
            alarms = [a for a in alarms if a.label == label]
        return alarms
