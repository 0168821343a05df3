"""The device bench's bookkeeping: finding the prompts in a recording, moving the loop's
clock onto the prompts' timeline, and the command line's word on a missing server."""

import numpy as np
import pytest

from tests.conftest import DATA, voiced
from voiced.engines.whisper import read_audio_file
from voiced.errors import EXIT_AUDIO_DEVICE
from voiced.measure.barge_in import BargeIn, barge_in_figures
from voiced.measure.files import on_prompt_time
from voiced.measure.prompts import Prompt
from voiced.measure.recording import voice_onset_s
from voiced.measure.soundroom import find


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


def test_a_live_barge_in_is_timed_from_the_user_s_onset_in_the_microphone():
    question = (read_audio_file(DATA / "voice2json_what_time_is_it.wav") * 32767).astype(np.int16)
    voiced_at = voice_onset_s(question)  # its words, after a rumble
    rng = np.random.default_rng(1)
    mic, speaker = rng.normal(0, 20, 16000 * 20), rng.normal(0, 20, 16000 * 20)
    # the microphone's recording started 0.5 s after the speaker's
    said, mic_start, speaker_start = 105.0, 100.5, 100.0
    at = int((said - mic_start + 0.05) * 16000)  # the clip was heard 50 ms after it was started
    mic[at : at + len(question)] += question
    onset = said + 0.05 + voiced_at - speaker_start  # on the speaker's recording
    speaker[int(2 * 16000) : int((onset + 0.12) * 16000)] += 3000  # the story, stopped 120 ms in
    speaker[int((onset + 3.5) * 16000) : int((onset + 5) * 16000)] += 3000  # the answer
    spoken = Prompt("what time", question, True)
    scenes = [BargeIn(spoken, 1.0, said), BargeIn(Prompt("Stop.", question, False), 1.0, None)]
    answered, missed = barge_in_figures(
        scenes, mic.astype(np.int16), mic_start, speaker.astype(np.int16), speaker_start
    )
    assert answered["playing"] and answered["answered"]
    assert answered["stop_latency_s"] == pytest.approx(0.12, abs=0.002)
    assert answered["onset_s"] == pytest.approx(onset, abs=0.002)
    assert missed == {"interruption": "Stop.", "after_s": 1.0, "onset_s": None,
                      "stop_latency_s": None, "playing": False, "answered": None}  # fmt: skip
    # the same answer after the scene was over (the next one's) does not count
    scenes[0].over_s = said + 3.0
    (late,) = barge_in_figures(scenes[:1], mic.astype(np.int16), mic_start,
                               speaker.astype(np.int16), speaker_start)  # fmt: skip
    assert late["answered"] is False
    # a question whose reply never came, over a speaker that was quiet before it
    quiet = np.zeros_like(speaker, dtype=np.int16)
    (silent,) = barge_in_figures(scenes[:1], mic.astype(np.int16), mic_start, quiet, speaker_start)
    assert not silent["playing"] and silent["stop_latency_s"] is None
    assert silent["answered"] is False
