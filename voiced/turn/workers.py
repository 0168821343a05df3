"""Where blocking work runs: one thread per engine, off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Workers:
    """One single-thread executor per engine: calls to one model never overlap; and one
    for quick work that needs no model (answers known from skills or memory, handing freed
    memory back), so it never waits behind a busy one."""

    def __init__(self) -> None:
        self._pools = {
            name: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"voiced-{name}")
            for name in ("stt", "llm", "tts", "turn", "answers", "home")
        }

    def run(self, name: str, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        return asyncio.get_running_loop().run_in_executor(self._pools[name], fn, *args)

    def call(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        """Run on that engine's thread and wait (outside the event loop: at start-up).
        llama.cpp's and CTranslate2's OpenMP keep a team of threads per calling thread: a
        model run from a second thread then has two teams on two cores (the 1.5B wrote a
        token in 60 ms, against 40 from one thread)."""
        return self._pools[name].submit(fn, *args).result()

    def shutdown(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
