"""A check's part run in a process of its own, as after a restart: `python -m MODULE ARGS`
with its own memory, its rows read back as JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def run_part(module: str, args: list[str], state: Path, what: str) -> list[dict[str, Any]]:
    """The rows a child printed; it keeps its memory in state ($XDG_STATE_HOME)."""
    env = {**os.environ, "XDG_STATE_HOME": str(state)}
    cmd = [sys.executable, "-m", module, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-2000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def print_rows(rows: Iterable[dict[str, Any]]) -> int:
    """The child's side: one JSON line per row, as each is ready."""
    for row in rows:
        print(json.dumps(row), flush=True)
    return 0
