"""Talking to systemd: sd_notify(3) over $NOTIFY_SOCKET, and the watchdog interval.

Plain stdlib (a datagram to a Unix socket); every call is a no-op outside systemd.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    """Sends READY=1, STATUS=…, WATCHDOG=1 and friends to the service manager."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        if self._address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog_s = int(usec) / 1e6 if usec.isdigit() and mine else None
        """How often systemd wants a WATCHDOG=1 (None: no watchdog)."""

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def send(self, **fields: str | int) -> None:
        """send(READY=1, STATUS="listening") → "READY=1\\nSTATUS=listening"."""
        if self._socket is None:
            return
        message = "\n".join(f"{key}={value}" for key, value in fields.items())
        try:
            self._socket.sendto(message.encode(), self._address)
        except OSError as exc:  # the manager went away: nothing to tell
            log.debug("sd_notify failed: %s", exc)

    def status(self, text: str) -> None:
        self.send(STATUS=text)

    def extend_timeout(self, seconds: float) -> None:
        self.send(EXTEND_TIMEOUT_USEC=int(seconds * 1e6))

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
