"""Skills answered before the LLM: intent tables with transcripts as Whisper writes them,
timers on a fake clock, and what survives a restart."""

from datetime import datetime

import pytest

from voiced.skills import Context, default_skills
from voiced.skills.alarms import Alarms
from voiced.skills.timers import announcement

NOW = datetime(2026, 11, 26, 15, 0, 0)  # a Thursday, 3 PM


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class FakeDevice:
    def __init__(self) -> None:
        self.volume = 1.0
        self.muted = False

    def change_volume(self, step):
        self.volume += step
        return self.volume

    def mute_microphone(self):
        self.muted = True


@pytest.fixture
def ctx(tmp_path):
    clock = FakeClock(NOW.timestamp())
    alarms = Alarms(tmp_path / "alarms.json", clock)
    return Context(NOW, alarms, "It is sunny.", FakeDevice())


def ask(ctx, text):
    handler = default_skills().match(text)
    assert handler is not None, f"no skill for {text!r}"
    return handler(ctx)


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("What time is it?", "It's 3 PM."),
        ("what's the time", "It's 3 PM."),
        ("Hey, what time is it now?", "It's 3 PM."),
        ("Do you know what time it is?", "It's 3 PM."),
        ("What's the date today?", "Today is Thursday, the 26th of November 2026."),
        ("What is today's date?", "Today is Thursday, the 26th of November 2026."),
        ("What day is it?", "It's Thursday."),
        ("What day of the week is it today?", "It's Thursday."),
        ("Repeat that.", "It is sunny."),
        ("Say that again, please.", "It is sunny."),
        ("What can you do?", None),
    ],
)
def test_clock_and_assistant_phrasings(ctx, said, answer):
    got = ask(ctx, said)
    assert got == answer if answer is not None else "timers" in got


@pytest.mark.parametrize(
    "said",
    [
        "What time is it in Tokyo?",  # not the local clock
        "What time does the shop open?",
        "Tell me about the time I went to Paris.",
        "Write me a poem about timers and clocks.",
        "Why do we need to remember things?",
        "I had a great day.",
    ],
)
def test_what_is_not_a_skill_goes_to_the_model(said):
    assert default_skills().match(said) is None


def test_time_with_minutes(ctx):
    ctx.now = datetime(2026, 11, 26, 9, 5)
    assert ask(ctx, "What time is it?") == "It's 9:05 AM."
    ctx.now = datetime(2026, 11, 26, 0, 30)
    assert ask(ctx, "What time is it?") == "It's 12:30 AM."


def test_volume_and_mute(ctx):
    assert ask(ctx, "Louder, please.") == "Is this better?" and ctx.device.volume == 1.25
    assert ask(ctx, "Turn it down.") == "Is this better?" and ctx.device.volume == 1.0
    assert ask(ctx, "Stop listening.").startswith("Okay") and ctx.device.muted


@pytest.mark.parametrize(
    ("said", "answer", "seconds", "label"),
    [
        ("Set a timer for 5 minutes.", "Timer set for 5 minutes.", 300, ""),
        ("Set a timer for five minutes.", "Timer set for 5 minutes.", 300, ""),
        ("Start a timer for an hour and a half.", "Timer set for 1 hour and 30 minutes.", 5400, ""),
        ("Set a 10-minute timer for the pasta.", "Pasta timer set for 10 minutes.", 600, "pasta"),
        ("Set a pasta timer for 10 minutes.", "Pasta timer set for 10 minutes.", 600, "pasta"),
        (
            "Timer for 3 minutes called eggs.",
            "Eggs timer set for 3 minutes.",
            180,
            "eggs",
        ),
        ("Set a timer for ninety seconds.", "Timer set for 1 minute and 30 seconds.", 90, ""),
    ],
)
def test_setting_timers(ctx, said, answer, seconds, label):
    assert ask(ctx, said) == answer
    (timer,) = ctx.alarms.pending("timer")
    assert (timer.seconds, timer.label) == (seconds, label)
    assert timer.due == pytest.approx(NOW.timestamp() + seconds)


@pytest.mark.parametrize(
    "said", ["Set a timer for five minutes.", "Remind me to call mum at six.", "Cancel my timers."]
)
def test_where_nothing_could_say_them_timers_are_declined_not_set(said):
    """`voiced serve` (Home Assistant's conversation agent) has no speaker to ring them."""
    alarms = Alarms(None, FakeClock(NOW.timestamp()), rings=False)
    ctx = Context(NOW, alarms, "", FakeDevice())
    assert "device I speak from" in ask(ctx, said)
    assert alarms.pending() == []
    assert ask(ctx, "What time is it?") == "It's 3 PM."  # the rest still answers


def test_several_timers_how_long_is_left_and_cancel(ctx):
    ask(ctx, "Set a pasta timer for 10 minutes.")
    ask(ctx, "Set a timer for 5 minutes for the eggs.")
    ctx.alarms.clock.t += 130  # 2 min 10 s pass
    assert ask(ctx, "How long is left on the pasta timer?") == (
        "7 minutes and 50 seconds left on the pasta timer."
    )
    assert ask(ctx, "How much time is left?") == (
        "2 minutes and 50 seconds left on the eggs timer, "
        "and 7 minutes and 50 seconds left on the pasta timer."
    ).replace(", and", " and")
    assert ask(ctx, "Cancel the eggs timer.") == "Cancelled the eggs timer."
    assert [t.label for t in ctx.alarms.pending("timer")] == ["pasta"]
    assert ask(ctx, "Cancel all timers.") == "Cancelled the pasta timer."
    assert ask(ctx, "How long is left on my timer?") == "You have no timers running."


@pytest.mark.parametrize(
    ("said", "answer", "due"),
    [
        (
            "Remind me to call mum at six.",
            "Okay, I'll remind you to call mum at 6 PM.",
            datetime(2026, 11, 26, 18, 0),
        ),
        (
            "Remind me to call my mum at 6 p.m.",
            "Okay, I'll remind you to call your mum at 6 PM.",
            datetime(2026, 11, 26, 18, 0),
        ),
        (
            "Remind me in twenty minutes to take the bread out.",
            "Okay, I'll remind you to take the bread out in 20 minutes.",
            datetime(2026, 11, 26, 15, 20),
        ),
        (
            "Remind me to water the plants tomorrow at nine.",
            "Okay, I'll remind you to water the plants tomorrow at 9 AM.",
            datetime(2026, 11, 27, 9, 0),
        ),
    ],
)
def test_reminders(ctx, said, answer, due):
    assert ask(ctx, said) == answer
    (reminder,) = ctx.alarms.pending("reminder")
    assert reminder.due == due.timestamp()


def test_a_reminder_without_a_time_asks_for_one(ctx):
    assert ask(ctx, "Remind me to call mum.").startswith("When should I remind you?")
    assert ctx.alarms.pending() == []


def test_timers_and_reminders_survive_a_restart_and_fall_due_on_the_clock(ctx, tmp_path):
    ask(ctx, "Set a timer for 5 minutes.")
    ask(ctx, "Remind me to call mum at six.")
    clock = FakeClock(ctx.alarms.clock.t)
    again = Alarms(tmp_path / "alarms.json", clock)  # the daemon restarted
    assert [a.kind for a in again.pending()] == ["timer", "reminder"]
    assert (tmp_path / "alarms.json").stat().st_mode & 0o777 == 0o600
    clock.t += 299
    assert again.due() == []
    clock.t += 1
    (timer,) = again.due()
    assert announcement([timer], clock.t) == "Your 5 minute timer is done."
    again.remove(timer.id)
    clock.t = datetime(2026, 11, 26, 18, 10).timestamp()  # ten minutes late: voiced was away
    (reminder,) = again.due()
    assert announcement([reminder], clock.t) == "I missed a reminder while I was away: call mum."
    assert announcement([reminder], reminder.due + 1) == "Here's your reminder: call mum."


def test_a_damaged_timers_file_is_kept_aside_not_fatal(tmp_path):
    path = tmp_path / "alarms.json"
    path.write_text("{ not json")
    alarms = Alarms(path)
    assert alarms.pending() == []
    assert (tmp_path / "alarms.json.damaged").read_text() == "{ not json"


def _ringing_run(tmp_path, pattern, heard, due_in_s):
    from tests.fakes import ScriptedLlm, ScriptedStt, speech_and_silence
    from tests.test_pipeline import make_pipeline, run

    stt, llm = ScriptedStt(heard), ScriptedLlm(["A reply of six words here."] * len(heard))
    pipeline, tts, _ = make_pipeline(stt, llm, speech_and_silence(pattern), tmp_path)
    clock = pipeline.runner.clock
    alarms = Alarms(None, lambda: NOW.timestamp() + clock.now())
    alarms.add_timer(due_in_s, "tea")
    pipeline.runner.router.alarms = alarms
    pipeline.ringer.poll_s = 0.001
    said_at: list[tuple[str, float]] = []
    synthesize = tts.synthesize

    def noting(text, pace=1.0):
        said_at.append((text, clock.now()))
        return synthesize(text, pace)

    tts.synthesize = noting
    run(pipeline)
    return pipeline, alarms, said_at


@pytest.mark.slow
def test_a_due_timer_is_said_when_idle_and_again_until_answered(tmp_path):
    pattern = [("silence", 1.0), ("silence", 15.0), ("speech", 0.6), ("silence", 12.0)]
    pipeline, alarms, said_at = _ringing_run(tmp_path, pattern, ["Thanks."], due_in_s=1.0)
    rings = [t for text, t in said_at if text == "Your tea timer is done."]
    assert len(rings) >= 2 and rings[0] < 3.0  # at once (the test's clock runs 15x fast)
    assert all(b - a >= 6.0 for a, b in zip(rings, rings[1:], strict=False))  # not a barrage
    assert all(t < 16.0 for t in rings)  # the user answered at 16 s: no more
    assert alarms.pending() == []


@pytest.mark.slow
def test_a_due_timer_waits_for_a_gap_while_the_user_talks(tmp_path):
    pattern = [("silence", 0.5), ("speech", 2.0), ("silence", 8.0)]
    pipeline, _, said_at = _ringing_run(tmp_path, pattern, ["Tell me a story."], due_in_s=1.0)
    (turn,) = pipeline.turns
    reply_end = turn.timings.reply_done_s
    rings = [t for text, t in said_at if text == "Your tea timer is done."]
    # due at 1 s, in the middle of the user's words: said only after they and the reply end
    assert rings and rings[0] >= reply_end - 0.05, (rings, reply_end)


@pytest.mark.parametrize(
    "said, kind",
    [
        ("Turn on the living room lamp.", "device"),
        ("would you please turn on the living room lamp", "device"),
        ("switch the kitchen lights off", "device"),
        ("Can you make it a bit brighter in here?", "device"),
        ("lock the front door", "device"),
        ("Call my mum.", "call"),
        ("send a message to Anna", "call"),
        ("Could you let my wife know I'm running late?", "call"),
        ("Please remind my son to walk the dog.", "call"),
        ("Let everyone in the family know that dinner is ready.", "call"),
        ("Could you put the heating on?", "device"),
        ("Can you get my car ready?", "device"),
        ("Play some jazz.", "media"),
        ("put on some music", "media"),
        ("order a pizza", "shop"),
        ("book a table for two", "shop"),
        ("Go forward ten meters.", "move"),
        ("what's the weather like today?", "online"),
        # not requests for actions: its own skills, memory, or things to talk about
        ("call me Jo", ""),
        ("turn the volume up", ""),
        ("turn off the microphone", ""),
        ("play a game with me", ""),
        ("I turned on the TV", ""),
        ("how do I turn on a computer", ""),
        ("book recommendations", ""),
        ("go ahead and tell me", ""),
        ("tell me about the weather in spring", ""),
        ("let me know when it's ready", ""),
        ("remind me to call Sam", ""),
        ("put on some music", "media"),
        ("Let me know when you are ready.", ""),
        ("What should I cook for dinner tonight?", ""),
        ("What should I do this weekend?", ""),
    ],
)
def test_what_it_cannot_do_is_recognised_and_nothing_else(said, kind):
    from voiced.skills.cannot import kind_of

    assert kind_of(said) == kind


def test_a_device_command_gets_a_true_answer_not_a_pretence():
    from voiced.skills import default_skills

    handler = default_skills().match("Turn on the living room lamp.")
    assert handler is not None and handler(None) == "I can't control lights or other devices yet."
    # its own volume is still its own skill
    assert default_skills().match("turn the volume up") is not None
