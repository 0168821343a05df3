"""File digests: how the model files are pinned (models/manifest.toml) and checked.

Hashing the 1.1 GB language model takes several seconds, so a file once found right is
remembered by its size, modification time and inode (in the user's cache): a re-run of
`make run` on a set-up machine checks it again only if it changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voiced"


def _stamps_file() -> Path:
    return cache_root() / "verified.json"


def _identity(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


def _stamps() -> dict[str, list]:
    try:
        data = json.loads(_stamps_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def matches(path: Path, sha256: str) -> bool:
    """Whether the file is there with this sha256 (hashed only when it changed since it
    was last found right)."""
    if not path.is_file():
        return False
    key = str(path.resolve())
    stamps = _stamps()
    identity = _identity(path)
    if stamps.get(key) == [*identity, sha256]:
        return True
    if sha256_of(path) != sha256:
        return False
    stamps[key] = [*identity, sha256]
    with contextlib.suppress(OSError):  # a read-only cache: the next check hashes again
        target = _stamps_file()
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=target.parent, delete=False) as tmp:
            json.dump(stamps, tmp)
        Path(tmp.name).replace(target)
    return True
