"""Every way in goes through one router: the spoken loop, `voiced ask` with and without the
daemon, `voiced respond`, a Wyoming conversation. Here: the faults that came from each
entry point taking its own way, each as a test."""

import json
from datetime import datetime, timedelta

import numpy as np
import pytest

from tests.conftest import voiced
from tests.fakes import ScriptedLlm, ScriptedStt
from tests.fakes import speech_and_silence as audio_of
from voiced.config import Settings
from voiced.mind.conversation import Conversation
from voiced.skills import default_skills
from voiced.turn.request import Origin, Outcome, Request
from voiced.turn.router import Router
from voiced.types import Transcript


def router(mode="conversation"):
    from dataclasses import replace

    settings = Settings()
    activation = replace(settings.activation, mode=mode, wake_source="transcript")
    settings = replace(settings, activation=activation)
    return Router(
        settings, Conversation("persona", lambda t: len(t.split()), 500), default_skills()
    )


def clock_says_now(before):
    """What the clock skill says in the minute of `before` or the one after (on the hour
    it says "It's 3 AM.")."""
    from voiced.skills import Context
    from voiced.skills.alarms import Alarms
    from voiced.skills.clock import spoken_time

    return {
        spoken_time(Context(before + timedelta(minutes=m), Alarms(None), "", None)) for m in (0, 1)
    }


def heard(text, carried="", started_s=0.0):
    return Request.heard(Transcript(text), np.zeros(0, dtype=np.int16), started_s, carried)


def test_the_router_decides_on_the_whole_request():
    r = router()
    assert r.decide(heard("is it?", carried="What time")).outcome is Outcome.SKILL
    assert r.decide(heard("is it?")).outcome is Outcome.GENERATE
    assert r.decide(heard("Stop.", carried="Tell me a")).outcome is Outcome.STOP
    assert r.decide(heard("")).outcome is Outcome.NOTHING
    assert r.decide(Request.typed("What time is it?", Origin.TEXT)).outcome is Outcome.SKILL


def test_in_wake_mode_held_back_words_keep_their_wake_phrase():
    r = router("wake")
    assert r.decide(heard("What time is it?", started_s=50.0)).outcome is Outcome.IGNORED
    route = r.decide(heard("is it?", carried="Hey Sam, what time", started_s=50.0))
    assert route.outcome is Outcome.SKILL and route.request == "What time is it?"
    assert r.decide(heard("Hey Sam.")).outcome is Outcome.WAKE
    # typed and text clients mean it, whatever the mode
    assert r.decide(Request.typed("Tell me a joke.")).outcome is Outcome.GENERATE


def test_a_held_back_time_question_is_answered_by_the_clock(tmp_path):
    from tests.test_pipeline import SlowFirstLlm, make_pipeline, run

    # "What time" ends a turn on its pause; the user goes on before its reply is heard:
    # the whole request goes to the router, and the clock answers it, not the model
    stt = ScriptedStt(["What time", "is it?"])
    llm = SlowFirstLlm(["I cannot tell."])
    audio = audio_of([("speech", 0.6), ("silence", 0.4), ("speech", 0.6), ("silence", 2.0)])
    pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path)
    pipeline.runner.router.skills = default_skills()
    before = datetime.now()
    run(pipeline)
    (turn,) = pipeline.turns
    assert turn.outcome is Outcome.SKILL and turn.request == "What time is it?"
    assert turn.reply in clock_says_now(before), turn.reply
    assert all(p[-1]["content"] != "What time is it?" for p in llm.prompts)


def test_a_skill_heard_on_a_pause_does_nothing_until_the_turn_is_over(tmp_path):
    from tests.test_pipeline import make_pipeline, run
    from voiced.skills.alarms import Alarms

    # "Set a timer for five" on a pause, then "minutes": one timer, of five minutes
    stt = ScriptedStt(["Set a timer for five", "Set a timer for five minutes."])
    audio = audio_of([("speech", 0.6), ("silence", 0.35), ("speech", 0.4), ("silence", 2.0)])
    pipeline, _, _ = make_pipeline(stt, ScriptedLlm([]), audio, tmp_path)
    pipeline.runner.router.skills = default_skills()
    pipeline.runner.router.alarms = alarms = Alarms(None)
    run(pipeline)
    assert [round(a.seconds) for a in alarms.pending()] == [300]


@pytest.mark.slow
def test_voiced_ask_without_the_daemon_uses_the_clock_and_the_memory(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path)}
    before = datetime.now()
    clock = voiced("ask", "What time is it?", env=env)
    assert clock.returncode == 0, clock.stderr
    assert clock.stdout.strip() in clock_says_now(before), clock.stdout

    assert voiced("ask", "My name is Ada.", env=env).returncode == 0
    recalled = voiced("ask", "What is my name?", env=env)
    assert recalled.returncode == 0, recalled.stderr
    assert "Ada" in recalled.stdout, recalled.stdout
    facts = json.loads(voiced("memory", "list", "--json", env=env).stdout)
    assert [f["key"] for f in facts] == ["name"]

    # nothing here can ring a timer: it is declined, and the daemon's timers are untouched
    timer = voiced("ask", "Set a timer for ten minutes.", env=env)
    assert "I can only keep timers" in timer.stdout, timer.stdout
    assert not (tmp_path / "voiced" / "alarms.json").exists()


@pytest.mark.slow
def test_a_fact_told_through_voiced_ask_is_recalled_by_the_spoken_loop(tmp_path, tts):
    from voiced.audio.files import write_wav
    from voiced.engines.whisper import read_audio_file

    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    assert voiced("ask", "My sister is called Sophie.", env=env).returncode == 0
    question = tmp_path / "q.wav"
    write_wav(question, np.concatenate(list(tts.synthesize("What is my sister's name?"))), 22050)
    spoken = (read_audio_file(question) * 32767).astype(np.int16)
    silence = np.zeros(16000 * 8, dtype=np.int16)
    source = tmp_path / "in.wav"
    write_wav(source, np.concatenate([silence[:8000], spoken, silence]), 16000)
    run = voiced("run", "-v", "--input-file", str(source), "--output-file", str(tmp_path / "o.wav"),
                 env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr
    said = [line.split(", said ", 1)[1] for line in run.stderr.splitlines() if ", said " in line]
    assert said and "Sophie" in said[0], run.stderr[-2000:]


@pytest.mark.slow
def test_voiced_respond_never_touches_the_daemons_timers(tmp_path, tts):
    from voiced.audio.files import write_wav

    env = {"XDG_STATE_HOME": str(tmp_path)}
    request = tmp_path / "timer.wav"
    audio = np.concatenate(list(tts.synthesize("Set a timer for five minutes.")))
    write_wav(request, audio, tts.sample_rate_hz)
    result = voiced("respond", str(request), "--out", str(tmp_path / "out.wav"), "--json", env=env)
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)["reply"]
    assert "I can only keep timers" in reply, reply
    assert not (tmp_path / "voiced" / "alarms.json").exists()


@pytest.mark.parametrize("sequential", [True, False])
def test_a_reload_keeps_the_command_line_overrides_down_to_the_segmenter(tmp_path, sequential):
    from dataclasses import replace

    from tests.test_pipeline import SETTINGS, make_pipeline
    from voiced.config import PipelineSettings
    from voiced.service.daemon import Daemon, RunOptions

    settings = replace(SETTINGS, pipeline=PipelineSettings(sequential=sequential))
    pipeline, _, _ = make_pipeline(
        ScriptedStt([]), ScriptedLlm([]), audio_of([("silence", 0.1)]), tmp_path, settings
    )
    daemon = Daemon(
        settings, RunOptions(overrides=[f"pipeline.sequential={str(sequential).lower()}"])
    )
    daemon.pipeline, daemon.runner = pipeline, pipeline.runner
    daemon.reload()
    assert pipeline.runner.settings.pipeline.sequential is sequential
    reports_pauses = pipeline.listener.segmenter.endpointer.pause_frames > 0
    assert reports_pauses is not sequential
    pipeline.runner.workers.shutdown()


def test_louder_without_a_loop_around_it_turns_up_the_voice_it_speaks_with(tmp_path):
    # `voiced respond`, a typed turn: no microphone loop is the device, the speaker's
    # volume still is
    import asyncio

    from tests.fakes import ManualClock, ToneTts
    from voiced.turn.runner import Engines, TurnRunner, text_turn
    from voiced.turn.workers import Workers

    llm = ScriptedLlm([])
    engines = Engines(stt=ScriptedStt([]), llm=llm, tts=ToneTts())
    conversation = Conversation("persona", llm.count_tokens, 500)
    runner = TurnRunner(engines, Settings(), ManualClock(), conversation, Workers())
    runner.router.skills = default_skills()
    result = asyncio.run(text_turn(runner, "Louder please."))
    runner.workers.shutdown()
    assert result.outcome is Outcome.SKILL and runner.volume.level > 1.0


def played(r, text, until_s, reply=""):
    """The router keeps a reply that sounded until until_s (cut: only `reply` was heard)."""
    from voiced.turn.request import TurnResult
    from voiced.turn.router import Route

    result = TurnResult(Transcript("What time is it?"), Outcome.SKILL, reply=reply, played=text)
    r.finish(Route(Outcome.SKILL, "what time is it"), result, True, until_s)


def test_its_own_words_heard_over_its_reply_are_its_echo_not_a_request():
    r = router()
    played(r, "It's 3:04 PM. Anything else?", until_s=11.2, reply="It's")
    assert r.own_voice("It's three.", 10.5)  # numbers compare as values
    assert r.own_voice("three oh four", 11.4) is False  # "oh" was not said
    assert r.own_voice("3 4 PM", 11.4)  # begun just after the sound ended: its echo still
    assert not r.own_voice("It's three.", 12.0)  # long after: the user, quoting it
    assert not r.own_voice("What time is it?", 10.5)
    assert not r.own_voice("PM it's", 10.5)  # not in the order it was said
    assert not r.own_voice("", 10.5)
    played(r, "Say stop when you have heard enough.", until_s=20.0)
    assert not r.own_voice("Stop.", 19.0)  # a stop command is always the user's


def test_a_stop_heard_after_the_echo_of_the_reply_s_first_words_is_a_stop():
    from voiced.turn.request import Request

    r = router()
    played(r, "Sure! Once upon a time,", until_s=5.0, reply="Sure!")

    def heard(text, at_s):
        return r.decide(Request.heard(Transcript(text), np.zeros(0, np.int16), at_s)).outcome

    assert heard("Sure stop.", 4.5) is Outcome.STOP
    assert heard("Sure, once upon a time, stop.", 4.5) is Outcome.STOP
    assert heard("Sure stop.", 9.0) is not Outcome.STOP  # long after: the user's own words
    assert heard("Time to stop.", 4.5) is not Outcome.STOP  # "to" was not said by it
    # its "st" drowned by the echo: what tiny.en made of "Stop." in the device bench
    for misheard in ("Drop.", "Up.", "That.", "without."):
        assert heard(misheard, 4.5) is Outcome.STOP, misheard
    assert heard("Why?", 4.5) is not Outcome.STOP and heard("What", 4.5) is not Outcome.STOP
    assert heard("Louder.", 4.5) is Outcome.SKILL
    assert heard("Drop.", 9.0) is not Outcome.STOP  # said to it in the quiet: a word to answer
    assert heard("Drop it.", 4.5) is not Outcome.STOP


def test_a_reply_cut_off_is_kept_as_its_whole_sentences_for_the_model_to_copy():
    from voiced.turn.request import TurnResult
    from voiced.turn.router import Route

    r = router()
    cut = (
        "Sure!",
        "Sure! Here's a story about",
        "Once upon a time, there was a brave little robot who",
        "Once upon a time, there was a robot. It lived in",
    )
    for reply in cut:
        result = TurnResult(Transcript("Tell me a story."), reply=reply, interrupted=True)
        r.finish(Route(Outcome.GENERATE, "Tell me a story."), result, True, 5.0)
    whole = TurnResult(Transcript("Hello."), reply="Hi there, how are", interrupted=False)
    r.finish(Route(Outcome.GENERATE, "Hello."), whole, True, 5.0)
    # with such replies in its history, the 1.5B asked for a story again answered "Sure!"
    # alone, or one clause ("Once upon a time, there was a brave little robot who")
    assert [m["content"] for m in r.conversation.history] == [
        "Tell me a story.",
        "Once upon a time, there was a robot.",
        "Hello.",
        "Hi there, how are",  # not cut off: kept as it was said
    ]


def test_its_echo_is_dropped_and_the_words_held_back_before_it_are_answered():
    import asyncio

    from tests.fakes import ManualClock, ToneTts
    from voiced.turn.runner import Engines, TurnRunner
    from voiced.turn.workers import Workers

    llm = ScriptedLlm([])
    stt = ScriptedStt(["It's three.", "It's three.", "It's 3 PM.", "What time is it?"])
    engines = Engines(stt=stt, llm=llm, tts=ToneTts())
    runner = TurnRunner(
        engines, Settings(), ManualClock(), Conversation("p", llm.count_tokens, 500), Workers()
    )
    played(runner.router, "It's 3:04 PM.", until_s=11.0)
    short, long = np.zeros(8000, dtype=np.int16), np.zeros(32000, dtype=np.int16)
    try:
        alone = asyncio.run(runner.hear(short, 10.4))  # over by 10.9 s: its echo only
        carried = asyncio.run(runner.hear(short, 8.0, "What time is it?", audio_start_s=10.4))
        # its echo drowned the user's first words, and they went on for 1.5 s after it
        drowned = asyncio.run(runner.hear(long, 10.4))
    finally:
        runner.workers.shutdown()
    assert alone.text == "" and alone.transcript.dropped == "own voice"
    assert runner.router.decide(alone).outcome is Outcome.NOTHING
    assert carried.text == "What time is it?"  # the user's question, cut by the echo, stands
    assert drowned.text == "What time is it?"
    assert stt.heard[-1] == 32000 - round((11.0 + 0.3 - 10.4) * 16000)
