import json
from pathlib import Path

import pytest

from voiced.cli import main
from voiced.config import DEFAULT_CONFIG_FILE, Settings, load_settings, merge_layer, read_layer
from voiced.errors import EXIT_CONFIG, ConfigError


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def test_shipped_defaults_file_matches_the_built_in_defaults():
    assert merge_layer(Settings(), read_layer(DEFAULT_CONFIG_FILE), "x") == Settings()


def test_layers_apply_in_order_and_later_wins(tmp_path, monkeypatch):
    user = tmp_path / "xdg" / "voiced" / "voiced.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[vad]\nend_silence_ms = 900\naggressiveness = 3\n")
    extra = tmp_path / "extra.toml"
    extra.write_text("[vad]\nend_silence_ms = 450\n[llm]\ntemperature = 1\n")
    settings = load_settings(extra)
    assert settings.vad.end_silence_ms == 450
    assert settings.vad.aggressiveness == 3
    assert settings.llm.temperature == 1.0 and isinstance(settings.llm.temperature, float)


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return info.value.message.splitlines()


def test_unknown_keys_wrong_types_and_impossible_values_are_all_named(tmp_path):
    lines = problems_of(
        tmp_path,
        '[vad]\nend_silnce_ms = 3\naggressiveness = 7\n[stt]\nbeam_size = "big"\n[colour]\nx = 1\n',
    )
    path = tmp_path / "bad.toml"
    assert lines == [
        f"{path}: vad.end_silnce_ms: unknown key",
        f"{path}: vad.aggressiveness: must be between 0 and 3",
        f"{path}: stt.beam_size: must be an integer",
        f"{path}: colour: unknown section",
    ]


def test_booleans_are_not_numbers_and_lists_are_checked(tmp_path):
    lines = problems_of(tmp_path, "[llm]\nthreads = true\nstop = [1, 2]\n")
    assert [line.split(": ", 1)[1] for line in lines] == [
        "llm.threads: must be an integer",
        "llm.stop: must be a list of strings",
    ]


def test_malformed_toml_is_one_clear_line(tmp_path):
    (line,) = problems_of(tmp_path, "[vad\nx=")
    assert line.startswith(f"{tmp_path / 'bad.toml'}: not valid TOML")


def test_a_bad_config_exits_78_with_the_key_on_stderr(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("[tts]\nlength_scale = 9\n")
    assert main(["ask", "hi", "--config", str(path)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert err == f"voiced: {path}: tts.length_scale: must be between 0.3 and 3\n"


def test_a_missing_config_file_is_a_config_error(tmp_path, capsys):
    assert main(["ask", "hi", "--config", str(tmp_path / "nope.toml")]) == EXIT_CONFIG
    assert "no such config file" in capsys.readouterr().err


def test_config_show_tells_where_each_value_came_from(tmp_path, capsys):
    extra = tmp_path / "extra.toml"
    extra.write_text("[vad]\nend_silence_ms = 450\n")
    assert main(["config", "show", "--json", "--config", str(extra)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["vad"]["end_silence_ms"] == {"value": 450, "source": str(extra)}
    assert shown["vad"]["pause_ms"]["source"] == str(DEFAULT_CONFIG_FILE)
    assert main(["config", "show", "--config", str(extra)]) == 0
    assert f"vad.end_silence_ms = 450  # {extra}" in capsys.readouterr().out.splitlines()


def test_config_check_passes_good_layers_and_fails_bad_ones_with_78(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text("[llm]\nmax_sentences = 3\n")
    assert main(["config", "check", "--config", str(good)]) == 0
    assert str(good) in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text("[llm]\nmax_sentences = 0\n")
    assert main(["config", "check", "--config", str(bad)]) == EXIT_CONFIG
    assert capsys.readouterr().err == f"voiced: {bad}: llm.max_sentences: must be at least 1\n"


def test_the_raspberry_pi_profile_is_a_valid_layer_that_shares_four_cores():

    pi = load_settings(DEFAULT_CONFIG_FILE.parent / "pi.toml")
    assert pi.stt.threads + pi.llm.threads <= 6  # they rarely run at the same moment
    assert max(pi.stt.threads, pi.llm.threads, pi.tts.threads) <= 3  # one core for audio
    assert pi.vad.end_silence_ms > load_settings(None).vad.end_silence_ms


def test_command_line_overrides_are_the_last_layer(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[llm]\ntemperature = 0.7\n[vad]\nend_silence_ms = 500\n")
    settings = load_settings(cfg, ["llm.temperature=0.4", "audio.input_device=USB Audio"])
    assert settings.llm.temperature == 0.4  # over the file
    assert settings.vad.end_silence_ms == 500  # the file still applies elsewhere
    assert settings.audio.input_device == "USB Audio"  # not TOML: taken as a string
    assert main(["config", "show", "--config", str(cfg), "--set", "llm.temperature=0.4"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert "llm.temperature = 0.4  # --set" in shown
    assert f"vad.end_silence_ms = 500  # {cfg}" in shown
    assert main(["config", "check", "--set", "llm.temperature=9"]) == EXIT_CONFIG
    assert main(["config", "check", "--set", "temperature"]) == EXIT_CONFIG
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "voiced: --set: llm.temperature: must be between 0 and 2",
        "voiced: --set temperature: expected SECTION.KEY=VALUE",
    ]


def test_the_language_model_is_named_or_a_path():
    from voiced.config import DEFAULT_MODELS_DIR

    default = Settings()
    assert default.llm.model == "standard"
    assert default.llm_path == DEFAULT_MODELS_DIR / "llm/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    small = merge_layer(default, {"llm": {"model": "small"}}, "x.toml")
    assert small.llm_path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    own = merge_layer(default, {"llm": {"model": "/opt/m/mine.gguf"}}, "x.toml")
    assert str(own.llm_path) == "/opt/m/mine.gguf"
    with pytest.raises(ConfigError, match=r'x.toml: llm.model: must be a named model \("standard"'):
        merge_layer(default, {"llm": {"model": "tiny"}}, "x.toml")
