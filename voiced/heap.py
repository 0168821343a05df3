"""glibc's allocator, tuned for a process that lives for months with a few busy threads.

By default glibc gives each thread that allocates its own arena (up to 8 per core), and
memory freed in one is rarely handed back: the soak saw RSS climb by a sixth over 300 turns.
Two arenas, and the freed top of the heap given back after each turn, keep it level. On
other C libraries (musl) both are no-ops."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger(__name__)

M_ARENA_MAX = -8


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_arenas(arenas: int = 2) -> None:
    """At start-up, before the engines start their threads."""
    libc = _glibc()
    if libc is not None and not libc.mallopt(M_ARENA_MAX, arenas):
        log.debug("mallopt(M_ARENA_MAX) refused")


def give_back() -> None:
    """Hand freed memory back to the system (blocking; a few milliseconds)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
