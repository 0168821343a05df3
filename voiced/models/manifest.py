"""The model manifest (models/manifest.toml): which models exist, by name, and where they go.

Language models have names the configuration can use instead of a path
(`[llm] model = "small"`), and the memory they need, which `voiced doctor` checks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

MANIFEST = Path(__file__).resolve().parents[2] / "models" / "manifest.toml"
FETCH_COMMAND = "make models"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    role: str
    """"stt", "tts", "llm" or "turn" (the end-of-turn judge)."""
    description: str
    files: dict[str, str]
    """Each file it puts under models/ (a path relative to it) and that file's sha256."""
    memory_mb: int = 0
    """Peak RSS of `voiced run` with it (language models only), as measured."""
    raw: Any = None
    """The manifest's table, for the fetcher."""

    @property
    def reads_facts(self) -> bool:
        """Whether the language model reads the facts in what is said well enough to keep
        them (`[memory] llm_facts`); the 135M `small` does not."""
        return bool(self.raw.get("reads_facts", True)) if self.raw is not None else True

    @property
    def main_file(self) -> str:
        return next(iter(self.files))

    def fetch_hint(self) -> str:
        return f"run `{FETCH_COMMAND} MODEL={self.name}` to fetch it"


@functools.cache
def load(path: Path = MANIFEST) -> tuple[ModelEntry, ...]:
    """The manifest's entries, read once per process (config checks and paths ask often)."""
    if not path.is_file():
        return ()
    entries = []
    for table in tomllib.loads(path.read_text())["model"]:
        if "parts" in table:  # one file assembled from several packages
            files = {table["dest"]: table["sha256"]}
        else:
            files = {f["dest"]: f["sha256"] for f in table["files"]}
        entries.append(
            ModelEntry(
                table["name"],
                table.get("role", ""),
                table.get("description", ""),
                files,
                int(table.get("memory_mb", 0)),
                table,
            )
        )
    return tuple(entries)


def language_models(path: Path = MANIFEST) -> dict[str, ModelEntry]:
    """The named language models, the default first."""
    return {m.name: m for m in load(path) if m.role == "llm"}


def named(model: str, role: str = "llm") -> ModelEntry | None:
    """The manifest's entry for a model named in the configuration (a name, or the path
    a named model is unpacked to); None for a model of the user's own."""
    for entry in load():
        if entry.role == role and (model == entry.name or model in entry.files):
            return entry
    return None


def for_file(path: Path) -> ModelEntry | None:
    """The entry whose model file this is (by its name), to say how to fetch it."""
    return next((m for m in load() if Path(m.main_file).name == path.name), None)


def is_name(model: str) -> bool:
    """A bare word ("small") rather than a path ("llm/x.gguf", "/home/me/x.gguf")."""
    return "/" not in model and "." not in model
