"""About the assistant itself: say that again, louder, quieter, stop listening, what can you do."""

from __future__ import annotations

from voiced.skills import Context, Handler, whole, words

VOLUME_STEP = 0.25

_REPEAT = whole(
    r"repeat(?: that| it| what you said)?",
    r"say (?:that|it) again",
    r"what did you say",
    r"what was that",
    r"come again",
    r"pardon(?: me)?",
    r"sorry what(?: did you say)?",
    r"i didn't (?:catch|hear) (?:that|you)",
    r"one more time",
)
_LOUDER = whole(
    r"(?:speak |talk )?louder",
    r"speak up",
    r"turn (?:it |yourself |the volume )?up",
    r"(?:turn )?(?:the )?volume up",
    r"increase (?:the )?volume",
    r"i can't hear you",
    r"be louder",
)
_QUIETER = whole(
    r"(?:speak |talk )?(?:more )?(?:quieter|softer|more quietly|more softly)",
    r"turn (?:it |yourself |the volume )?down",
    r"(?:turn )?(?:the )?volume down",
    r"decrease (?:the )?volume",
    r"lower (?:the |your )?(?:volume|voice)",
    r"not so loud",
    r"(?:you're |you are )?too loud",
)
_MUTE = whole(
    r"mute(?: the| your)? (?:microphone|mic)",
    r"mute yourself",
    r"stop listening",
    r"turn off (?:the |your )?(?:microphone|mic)",
)
_HELP = whole(
    r"what can you do",
    r"what are you able to do",
    r"what can i ask(?: you)?",
    r"what do you do",
    r"help(?: me)?",
    r"what are your skills",
)

HELP = (
    "I can tell you the time and the date, set timers and tell you how long is left, "
    "remind you of things at a time you say, and remember what you tell me about yourself. "
    "Anything else, just ask, and I'll do my best."
)


def _repeat(ctx: Context) -> str:
    return ctx.last_reply or "I haven't said anything yet."


def _louder(ctx: Context) -> str:
    volume = ctx.device.change_volume(+VOLUME_STEP)
    return "Is this better?" if volume < 2.0 else "This is as loud as I go."


def _quieter(ctx: Context) -> str:
    volume = ctx.device.change_volume(-VOLUME_STEP)
    return "Is this better?" if volume > 0.25 else "This is as quiet as I go."


def _mute(ctx: Context) -> str:
    ctx.device.mute_microphone()
    return "Okay, I've stopped listening. To unmute me, run voiced unmute."


def _help(ctx: Context) -> str:
    return HELP


def match(text: str) -> Handler | None:
    said = words(text)
    for pattern, handler in (
        (_REPEAT, _repeat),
        (_LOUDER, _louder),
        (_QUIETER, _quieter),
        (_MUTE, _mute),
        (_HELP, _help),
    ):
        if pattern.match(said):
            return handler
    return None
