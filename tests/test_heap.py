"""The allocator tuning the soak called for, on this machine's real glibc."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

from voiced import heap


def _rss_mb() -> float:
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_memory_in_the_middle_of_the_heap_goes_back_to_the_system():
    assert heap._glibc() is not None
    heap.limit_arenas()
    blocks = [bytearray(64 * 1024) for _ in range(3000)]  # ~190 MB through malloc
    for block in blocks:
        block[::4096] = b"x" * len(block[::4096])  # touch every page
    del blocks[:-1:2]  # every other block freed, the last kept: holes glibc keeps
    before = _rss_mb()
    heap.give_back()
    after = _rss_mb()
    assert before - after > 50, (before, after)
    del blocks
