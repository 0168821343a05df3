"""The control socket: a Unix socket speaking JSON lines, for `voiced status`, `mute` & co.

One request per line, `{"cmd": "status"}`; one reply per request, `{"ok": true, ...}`
or `{"ok": false, "error": "..."}`. `{"cmd": "events"}` turns the connection into a
stream of events, one per line. Only the daemon's own user may connect (checked on
the peer's credentials, on top of the socket's 0600 mode). Nothing a client sends or
fails to read can stall the daemon: lines are bounded, clients are counted, replies
are written with a timeout, and an event stream that falls behind is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from voiced.errors import VoicedError
from voiced.paths import private_dir

log = logging.getLogger(__name__)

MAX_LINE = 16 * 1024
"""The longest request accepted (a `say` text of a few pages)."""
MAX_CLIENTS = 32
LISTEN_BACKLOG = 512
"""Connections the kernel holds until they are accepted: a burst of clients gets a reply
("too many clients" at worst), not a connection that never completes."""
WRITE_TIMEOUT_S = 2.0
EVENT_BACKLOG = 256
"""Events queued for one stream before a client that does not read is dropped."""

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
EXIT_NOT_RUNNING = 3
EXIT_REFUSED = 4


class ControlError(VoicedError):
    """The daemon is not there, or did not answer."""

    exit_code = EXIT_NOT_RUNNING


class Refused(VoicedError):
    """The daemon answered, and refused the request."""

    exit_code = EXIT_REFUSED


class RequestError(Exception):
    """A request the daemon refuses: its message goes back to the client."""


def peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


class ControlServer:
    """Serves requests with `handler` and fans events out to `events` subscribers."""

    def __init__(
        self,
        path: Path,
        handler: Handler,
        uid: int | None = None,
        snapshot: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.path = path
        self.handler = handler
        self.snapshot = snapshot
        """The first event of every stream: how things stand when it starts."""
        self.uid = os.getuid() if uid is None else uid
        self._server: asyncio.AbstractServer | None = None
        self._clients = 0
        self._streams: set[asyncio.Queue[dict[str, Any] | None]] = set()

    async def start(self) -> None:
        private_dir(self.path.parent)
        if self.path.is_socket():
            if await _answers(self.path):
                raise VoicedError(f"another voiced is already running (socket {self.path})")
            self.path.unlink()
        old_umask = os.umask(0o177)  # the socket is born 0600: no window for others
        try:
            self._server = await asyncio.start_unix_server(
                self._serve, path=str(self.path), limit=MAX_LINE, backlog=LISTEN_BACKLOG
            )
        finally:
            os.umask(old_umask)
        self.path.chmod(0o600)
        log.info("control socket: %s", self.path)

    async def close(self) -> None:
        for queue in list(self._streams):
            queue.put_nowait(None)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):  # an idle client must not hold us up
                await asyncio.wait_for(self._server.wait_closed(), WRITE_TIMEOUT_S)
        if self.path.is_socket():
            self.path.unlink()

    def publish(self, event: dict[str, Any]) -> None:
        """Send an event to every stream; a stream that is full is closed."""
        for queue in list(self._streams):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._streams.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)
                log.warning("an event listener fell behind and was disconnected")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sock = writer.get_extra_info("socket")
            if peer_uid(sock) != self.uid:
                log.warning("control: refused a client of another user")
                await _send(writer, _error("permission denied: not the daemon's user"))
                return
            if self._clients >= MAX_CLIENTS:
                # Take in what the client already sent: a Unix socket closed with unread
                # data resets the connection, and the client would not see this reply.
                with contextlib.suppress(TimeoutError, ValueError, asyncio.LimitOverrunError):
                    await asyncio.wait_for(reader.readline(), 1.0)
                await _send(writer, _error("too many clients"))
                return
            self._clients += 1
            try:
                await self._requests(reader, writer)
            finally:
                self._clients -= 1
        except (ConnectionError, TimeoutError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), WRITE_TIMEOUT_S)

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                line = await reader.readline()
            except (asyncio.LimitOverrunError, ValueError):
                await _send(writer, _error(f"message too long (limit {MAX_LINE} bytes)"))
                return
            if not line:
                return
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
                    raise ValueError
            except ValueError:
                await _send(writer, _error('malformed request: expected {"cmd": "..."}'))
                continue
            if request["cmd"] == "events":
                await self._stream(reader, writer)
                return
            try:
                reply = {"ok": True, **await self.handler(request)}
            except RequestError as exc:
                reply = _error(str(exc))
            except Exception as exc:  # one bad request must not take the daemon down
                log.exception("control: %s failed", request["cmd"])
                reply = _error(f"internal error: {type(exc).__name__}: {exc}")
            await _send(writer, reply)

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(EVENT_BACKLOG)
        self._streams.add(queue)
        gone = asyncio.ensure_future(_until_eof(reader))
        try:
            await _send(writer, {"ok": True, "streaming": "events"})
            if self.snapshot is not None:
                await _send(writer, self.snapshot())
            while True:
                next_event = asyncio.ensure_future(queue.get())
                await asyncio.wait({next_event, gone}, return_when=asyncio.FIRST_COMPLETED)
                if not next_event.done():
                    next_event.cancel()
                    return
                event = next_event.result()
                if event is None:
                    return
                await _send(writer, event)
        finally:
            gone.cancel()
            self._streams.discard(queue)


async def _until_eof(reader: asyncio.StreamReader) -> None:
    """What a listener sends is ignored; its end of the connection ends the stream."""
    while await reader.read(1024):
        pass


def _error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


async def _send(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    writer.write(json.dumps(message, default=str).encode() + b"\n")
    await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)


async def _answers(path: Path) -> bool:
    try:
        _, writer = await asyncio.open_unix_connection(str(path))
    except OSError:
        return False
    writer.close()
    return True


class ControlClient:
    """The CLI's side: blocking, one request at a time."""

    def __init__(self, path: Path, timeout_s: float | None = 120.0) -> None:
        self.path = path
        try:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.settimeout(timeout_s)
            self._sock.connect(str(path))
        except OSError as exc:
            raise ControlError(
                f"voiced is not running (no answer on {path}: {exc.strerror or exc}); "
                "start it with `systemctl --user start voiced` or `voiced run`"
            ) from None
        self._file = self._sock.makefile("rb")

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        self._sock.sendall(json.dumps({"cmd": cmd, **fields}).encode() + b"\n")
        return self.read()

    def read(self) -> dict[str, Any]:
        try:
            line = self._file.readline()
        except TimeoutError:
            raise ControlError("voiced did not answer in time") from None
        if not line:
            raise ControlError("voiced closed the connection")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        self._file.close()
        self._sock.close()
