"""A timeout that never swallows a cancellation.

Python 3.11's `asyncio.wait_for` loses a cancellation that arrives just as the awaited
work completes: it returns the result, and the task it runs in goes on as if never
cancelled (python/cpython#86296, fixed in 3.12). On a loop that awaits a microphone frame
every 30 ms that moment comes: a stopping daemon, or a test, then waits forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(work: Awaitable[T], timeout_s: float) -> T | None:
    """The work's result, or None if it is not done in timeout_s (it is cancelled then).
    A cancellation of the caller is always raised, and cancels the work too."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout_s)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        return None
    return task.result()
