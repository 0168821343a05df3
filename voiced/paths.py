"""Where voiced keeps things: the XDG base directories, or systemd's own for a system unit."""

from __future__ import annotations

import os
from pathlib import Path


def _dir(systemd_var: str, xdg_var: str, fallback: Path) -> Path:
    # A system unit's RuntimeDirectory=/StateDirectory= come as $RUNTIME_DIRECTORY etc.
    given = os.environ.get(systemd_var, "").split(":")[0] if systemd_var else ""
    if given:
        return Path(given)
    base = os.environ.get(xdg_var, "")
    return (Path(base) if base else fallback) / "voiced"


def runtime_dir() -> Path:
    """Sockets and other files that live as long as the process."""
    return _dir("RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR", Path(f"/tmp/voiced-{os.getuid()}"))


def state_dir() -> Path:
    """Memory and history: what the assistant learns about its user."""
    return _dir("STATE_DIRECTORY", "XDG_STATE_HOME", Path.home() / ".local" / "state")


def cache_dir() -> Path:
    """What can be made again, kept to save time (a model's reading of a fixed prompt)."""
    return _dir("CACHE_DIRECTORY", "XDG_CACHE_HOME", Path.home() / ".cache")


def data_dir() -> Path:
    """Models and voices the user adds."""
    return _dir("", "XDG_DATA_HOME", Path.home() / ".local" / "share")


SYSTEM_CONTROL_SOCKET = Path("/run/voiced/control.sock")
"""Where the system unit (RuntimeDirectory=voiced) puts it."""


def control_socket() -> Path:
    return runtime_dir() / "control.sock"


def find_control_socket() -> Path:
    """The running daemon's socket, for a client: the user's own, else the system one."""
    mine = control_socket()
    return SYSTEM_CONTROL_SOCKET if not mine.exists() and SYSTEM_CONTROL_SOCKET.exists() else mine


def private_dir(path: Path) -> Path:
    """Create a directory only its owner can enter (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path
