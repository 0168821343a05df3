"""Talking to systemd: sd_notify(3) over $NOTIFY_SOCKET, and the watchdog interval.

Plain stdlib (a datagram to a Unix socket); every call is a no-op outside systemd.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    from voiced.config import Settings

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


def network_drop_in(settings: Settings) -> str:
    """The unit drop-in the configuration's network features need, or "" for none.

    The units allow Unix sockets alone (and the system unit has no network at all);
    a remote engine or the metrics port needs AF_INET, and only the hosts it names."""
    uses: list[str] = []
    hosts: set[str] = set()

    def remote(key: str, address: str) -> None:
        host = urlparse(address).hostname
        if host:
            uses.append(f"{key} ({host})")
            hosts.add(host)

    if settings.llm.backend == "openai":
        remote("llm.url", settings.llm.url)
    for key, section in (("stt", settings.stt), ("tts", settings.tts)):
        if section.backend == "wyoming" and section.uri.startswith("tcp://"):
            remote(f"{key}.uri", section.uri)
    if settings.home_assistant.url:
        remote("home_assistant.url", settings.home_assistant.url)
    if settings.service.metrics_port:
        uses.append(f"service.metrics_port ({settings.service.metrics_port})")
        hosts.add("127.0.0.1")
    if not uses:
        return ""
    allowed = ["localhost"]
    for host in sorted(hosts - {"localhost", "127.0.0.1", "::1"}):
        try:
            allowed.append(str(ipaddress.ip_address(host)))
        except ValueError:  # a host name: its address is not known here
            allowed = []
            break
    lines = [
        f"# written by `voiced config drop-in` for {', '.join(uses)}",
        "[Service]",
        "PrivateNetwork=no",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    ]
    if allowed:
        lines += ["IPAddressDeny=any", f"IPAddressAllow={' '.join(allowed)}"]
    return "\n".join(lines) + "\n"
