"""Shared fixtures: the real default models (loaded once), the shared speech clips."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from voiced.config import Settings

DATA = Path(__file__).parent / "data"

# Whatever the tests tell the assistant must not land in the real user's memory.
_STATE = tempfile.mkdtemp(prefix="voiced-test-state-")
os.environ["XDG_STATE_HOME"] = _STATE
ROOT = Path(__file__).parent.parent

# The tests whose subject is not what the model says (the loop, barge-in, the service,
# memory's plumbing, bad input ...) run on the small model: with the 1.5B default, `make
# test` would take twice as long. The tests of what it says (tests/measure/test_brain.py) and
# the default's own loading ask for the default by name. Every `voiced` child process
# reads this layer as the user's configuration.
TEST_LLM = "small"
_CONFIG = Path(tempfile.mkdtemp(prefix="voiced-test-config-"))
(_CONFIG / "voiced").mkdir()
(_CONFIG / "voiced" / "voiced.toml").write_text(f'[llm]\nmodel = "{TEST_LLM}"\n')
os.environ["XDG_CONFIG_HOME"] = str(_CONFIG)


@dataclass(frozen=True)
class Clip:
    path: Path
    transcript: str


def clips() -> list[Clip]:
    with (DATA / "manifest.tsv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [Clip(DATA / r["file"], r["transcript"]) for r in rows]


SPEECH_CLIPS = [c for c in clips() if c.transcript]


def clip(name: str) -> Clip:
    """The clip whose file is tests/data/NAME."""
    return next(c for c in clips() if c.path.name == name)


NOISE_CLIPS = [c for c in clips() if not c.transcript]


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The shipped defaults, on the tests' small model (above)."""
    return replace(Settings(), llm=replace(Settings().llm, model=TEST_LLM))


@pytest.fixture(scope="session")
def stt(settings):
    from voiced.engines.loader import make_stt

    return make_stt(settings)


@pytest.fixture(scope="session")
def tts(settings):
    from voiced.engines.loader import make_tts

    return make_tts(settings)


@pytest.fixture(scope="session")
def llm(settings):
    from voiced.engines.loader import make_llm

    return make_llm(settings)


def voiced(*args: str, env: dict[str, str] | None = None, timeout: float = 300, **kw):
    """Run the real command line in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "voiced", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=kw.get("cwd", ROOT),
    )


@pytest.fixture(scope="session")
def embedder(settings):
    from voiced.engines.loader import make_embedder

    return make_embedder(settings)


MODEL_FIXTURES = {"stt", "tts", "llm", "daemon", "embedder"}
"""Fixtures that load real models (`daemon`: a `voiced run` child process)."""


def pytest_collection_modifyitems(items):
    """A test that loads a real model is slow, whether its module says so or not: `make
    unit` stays quick (so is one that starts `voiced` in a child process: it is marked)."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
