"""`voiced doctor`: one line per check, the fix for what is wrong, exit 5 when it blocks."""

import json

import pytest

from tests.conftest import ROOT, voiced
from voiced.service.doctor import EXIT_BLOCKED


def findings(result):
    return {f["check"]: f for f in json.loads(result.stdout)}


@pytest.mark.slow
def test_the_default_models_pass_their_sha256_and_the_machine_is_described():
    result = voiced("doctor", "--json")
    found = findings(result)
    checks = ("config", "stt model", "llm model", "tts voice", "end-of-turn model", "cpu", "memory")
    for check in checks:
        assert found[check]["level"] == "ok", found[check]
    assert "sha256 checked" in found["llm model"]["message"]
    # no sound card here: the devices fail, and that blocks running
    assert found["microphone"]["level"] == "FAIL" and found["microphone"]["fix"]
    assert result.returncode == EXIT_BLOCKED


@pytest.mark.slow
def test_a_corrupt_model_file_is_caught_with_its_fix(tmp_path):
    models = tmp_path / "models"
    for name in ("llm", "piper", "smart-turn"):
        (models / name).mkdir(parents=True)
        for real in (ROOT / "models" / name).iterdir():
            (models / name / real.name).symlink_to(real)
    stt = models / "whisper-tiny.en"
    stt.mkdir()
    for real in (ROOT / "models" / "whisper-tiny.en").iterdir():
        if real.name != "config.json":
            (stt / real.name).symlink_to(real)
    original = (ROOT / "models" / "whisper-tiny.en" / "config.json").read_text()
    (stt / "config.json").write_text(original + " ")  # one byte more: another sha256
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'models_dir = "{models}"\n')
    result = voiced("doctor", "--config", str(cfg))
    assert result.returncode == EXIT_BLOCKED
    line = next(x for x in result.stdout.splitlines() if "stt model" in x)
    assert line.startswith("FAIL  stt model:") and "sha256" in line and "make models" in line
    assert next(x for x in result.stdout.splitlines() if "llm model" in x).startswith("ok")


@pytest.mark.slow
def test_a_missing_model_and_a_bad_config_are_each_one_line(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[llm]\nmodel = "nowhere.gguf"\n')
    line = next(x for x in voiced("doctor", "--config", str(cfg)).stdout.splitlines() if "llm" in x)
    assert line.startswith("FAIL  llm model: missing ") and "nowhere.gguf" in line
    cfg.write_text("[llm]\ntemperature = -1\n")
    result = voiced("doctor", "--config", str(cfg))
    assert result.returncode == EXIT_BLOCKED
    assert result.stdout.splitlines()[0].startswith(f"FAIL  config: {cfg}: llm.temperature")


@pytest.mark.slow
def test_remote_engines_are_checked_for_reach():
    import socket

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        up = listening.getsockname()[1]
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            down = closed.getsockname()[1]
        result = voiced(
            "doctor",
            "--set", "llm.backend=openai",
            "--set", f"llm.url=http://127.0.0.1:{up}/v1",
            "--set", "llm.remote_model=x",
            "--set", "stt.backend=wyoming",
            "--set", f"stt.uri=tcp://127.0.0.1:{down}",
        )  # fmt: skip
    lines = result.stdout.splitlines()
    assert f"ok    remote llm: http://127.0.0.1:{up}/v1 reachable" in lines
    (stt,) = [line for line in lines if line.startswith("warn  remote stt:")]
    assert "unreachable" in stt and 'stt.backend = "local"' in stt


def test_a_machine_too_small_for_the_model_is_told_the_smaller_one(monkeypatch):
    from voiced.config import Settings
    from voiced.service import doctor

    sizes = {"MemTotal": 1900.0, "MemAvailable": 1500.0}  # a 2 GB Raspberry Pi
    monkeypatch.setattr(doctor, "_meminfo_mb", sizes.get)
    (finding,) = doctor.memory(Settings())
    assert finding.level == "FAIL" and "2300 MB" in finding.message
    assert 'model = "small"' in finding.fix and "make models MODEL=small" in finding.fix
    sizes.update(MemTotal=8000.0, MemAvailable=7000.0)
    assert next(doctor.memory(Settings())).level == "ok"


def test_the_sound_server_is_named_from_what_pactl_says():
    from voiced.service.doctor import server_named_in

    pipewire = "Server Name: PulseAudio (on PipeWire 0.3.65)\nServer Version: 15.0.0\n"
    pulse = "Server Name: pulseaudio\nServer Version: 16.1\nDefault Sink: vspk\n"
    assert server_named_in(pipewire) == "PipeWire 0.3.65 (its PulseAudio server)"
    assert server_named_in(pulse) == "PulseAudio 16.1"
    assert server_named_in("") == ""
