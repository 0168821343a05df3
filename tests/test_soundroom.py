"""The device bench's bookkeeping: finding the prompts in a recording, moving the loop's
clock onto the prompts' timeline, and the command line's word on a missing server."""

import numpy as np
import pytest

from tests.conftest import DATA, voiced
from voiced.bench import Prompt, on_prompt_time
from voiced.engines.whisper import read_audio_file
from voiced.errors import EXIT_AUDIO_DEVICE
from voiced.soundroom import find


def test_a_clip_is_found_in_a_recording_of_it_beside_louder_sound():
    speech = (read_audio_file(DATA / "voice2json_what_time_is_it.wav") * 32767).astype(np.int16)
    rng = np.random.default_rng(0)
    recording = rng.normal(0, 20, 16000 * 8)
    recording[16000 : 16000 * 3] += rng.normal(0, 8000, 16000 * 2)  # something loud first
    at = int(4.321 * 16000)
    recording[at : at + len(speech)] += 0.5 * speech  # the clip, quieter, later
    recording[at + 1000 : at + 1000 + len(speech)] += 0.1 * speech  # and its echo
    assert find(speech, recording.astype(np.int16)) == pytest.approx(4.321, abs=1 / 16000)


def test_a_silent_clip_cannot_be_found():
    with pytest.raises(ValueError):
        find(np.zeros(1600, np.int16), np.ones(16000, np.int16))


def test_the_loop_s_turns_are_moved_onto_the_prompts_timeline():
    prompts = [Prompt("a", np.zeros(1), True), Prompt("b", np.zeros(1), True)]
    prompts[0].speech_end_s, prompts[1].speech_end_s = 3.0, 14.0
    # the loop's clock started 7.5 s after the prompts did; its ends are a little late
    logged = [
        {"speech_end_s": 3.06 - 7.5, "first_played_s": 4.0 - 7.5, "response_latency_s": 0.94},
        {"speech_end_s": 14.04 - 7.5, "first_played_s": None, "cut_s": 0.2},
    ]
    moved = on_prompt_time(logged, prompts)
    assert moved[0]["speech_end_s"] == pytest.approx(3.0, abs=0.03)
    assert moved[0]["first_played_s"] == pytest.approx(3.94, abs=0.03)
    assert moved[0]["response_latency_s"] == 0.94  # a duration stays as it is
    assert moved[1]["first_played_s"] is None and moved[1]["cut_s"] == 0.2
    assert on_prompt_time([], prompts) == []


def test_a_device_run_on_a_server_that_is_not_installed_is_one_clear_line(tmp_path):
    bare = tmp_path / "bin"  # a PATH without any sound server's tools
    bare.mkdir()
    result = voiced("bench", "--runs", "pipewire", "--out", str(tmp_path), env={"PATH": str(bare)})
    assert result.returncode == EXIT_AUDIO_DEVICE, result.stderr
    assert result.stderr.strip().splitlines() == [
        "voiced: --runs pipewire: pipewire is not installed (missing pipewire, pipewire-pulse, "
        "wireplumber, dbus-daemon, pactl, pacat); scripts/system_deps.sh test installs it"
    ]
