"""A model file that is truncated, replaced by an HTML page, or missing: refused at start-up,
the file named, exit 78, before the microphone is opened, never a traceback."""

import shutil

import pytest

from tests.conftest import DATA, ROOT, voiced
from voiced.errors import EXIT_CONFIG

pytestmark = pytest.mark.slow

MODELS = ROOT / "models"
HTML = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>nope</body></html>\n"


def _spoil(path, how):
    if how == "missing":
        path.unlink()
    elif how == "html":
        path.write_bytes(HTML)
    else:  # truncated, as an interrupted download leaves it
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])


@pytest.mark.parametrize("how", ["truncated", "html", "missing"])
@pytest.mark.parametrize(
    ("section", "key", "source", "inner"),
    [
        ("stt", "model", "whisper-tiny.en", "model.bin"),
        ("llm", "model", "llm/SmolLM2-135M-Instruct.Q4_1.gguf", ""),
        ("tts", "voice", "piper/en_US-joe-medium.onnx", ""),
    ],
)
def test_a_spoiled_model_is_refused_at_start_up(tmp_path, section, key, source, inner, how):
    original = MODELS / source
    if original.is_dir():
        copy = tmp_path / original.name
        shutil.copytree(original, copy)
        spoiled = copy / inner
    else:
        copy = spoiled = tmp_path / original.name
        shutil.copy(original, copy)
        extra = original.with_name(original.name + ".json")
        if extra.exists():
            shutil.copy(extra, tmp_path / extra.name)
    _spoil(spoiled, how)
    run = voiced(
        "run",
        "--input-file",
        str(DATA / "voice2json_what_time_is_it.wav"),
        "--set",
        f"{section}.{key}={copy}",
        "--output-file",
        str(tmp_path / "out.wav"),
    )
    assert run.returncode == EXIT_CONFIG, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert copy.name in lines[0] or spoiled.name in lines[0], lines
