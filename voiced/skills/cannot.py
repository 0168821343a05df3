"""Requests for what voiced cannot do yet: said plainly, never pretended.

A language model asked to "turn on the living room lamp" answers "Sure, I'll turn on
the living room lamp." and nothing happens (the 1.5B default did exactly that). Device
commands, calls and messages, music, shopping and bookings, moving about (a spoken
"go forward ten meters" is for a robot), and the weather or news
(which need the internet) are recognised here and get a short, true answer instead.
The persona tells the model the same for the phrasings these patterns miss.
"""

from __future__ import annotations

import re

from voiced.skills import _POLITE, _TAIL, Context, Handler, words

_LEAD = "^" + _POLITE + r"(?:i want you to |i'd like you to |go ahead and |just |quickly )?"
_SELF = (
    r"(?:the |your )?(?:volume|microphone|mic|timers?|alarms?|reminders?)|yourself|it up|it down"
)
"""What the assistant's own skills turn on, off, up and down (they are matched first)."""
_THINGS = (
    r"(?:the |my |all (?:the )?|a )?[\w' ]*?"
    r"(?:lights?|lamps?|bulbs?|fan|heater|heating|tv|television|radio|kettle|oven|stove"
    r"|air ?con(?:ditioning|ditioner)?|ac|thermostat|plugs?|sockets?|switch|speaker|vacuum"
    r"|hoover|dishwasher|washing machine|dryer|coffee (?:machine|maker)|blinds|curtains"
    r"|shutters|garage(?: door)?|doors?|gate|windows?|lock|alarm system|camera|sprinklers?"
    r"|car|bath)"
)
_DEVICE = re.compile(
    _LEAD
    + r"(?:(?:turn|switch) (?:on|off) (?!"
    + _SELF
    + r").+"
    + r"|(?:turn|switch) (?!"
    + _SELF
    + r").+ (?:on|off)"
    + r"|(?:turn|put|set) (?:up|down) "
    + _THINGS
    + r"|(?:turn|set) "
    + _THINGS
    + r" (?:up|down|to .+)"
    + r"|(?:dim|brighten|open|close|shut|lock|unlock|start|stop|run|raise|lower) "
    + _THINGS
    + r"|put (?:on )?"
    + _THINGS
    + r"(?: on)?"
    + r"|(?:get|make) "
    + _THINGS
    + r" ready"
    + r"|(?:make|set|get) (?:it|things|the room|the house|the \w+ room)"
    + r"(?: a (?:bit|little|lot))? (?:warmer|cooler|colder|brighter|darker)"
    + r"|(?:make|set) "
    + _THINGS
    + r" (?:warmer|cooler|colder|brighter|darker|\w+er)"
    + r")\b"
)
_CALL = re.compile(
    _LEAD
    + r"(?:(?:call|phone|ring|dial|facetime|video call|text|message|email|e mail|whatsapp)"
    + r" (?!me\b|it\b|that\b|this\b|you\b)\w+"
    + r"|send (?:a |an )?(?:message|text|email|e mail|sms)"
    + r"|(?:make|place) a (?:phone |video )?call"
    # a message for someone else, in other words: "let my wife know", "remind my son to"
    + r"|(?:let|tell) (?!me\b|us\b)(?:\w+ ){1,4}know\b"
    + r"|(?:tell|remind|ask|warn) (?:my|our) \w+(?: \w+)? (?:to|that|about)\b"
    + r")"
)
_MEDIA = re.compile(
    _LEAD
    + r"(?:play (?!(?:a |the )?(?:game|games|quiz|word game|riddle|with me)\b)(?:me )?\w+"
    + r"|put on (?:some |a |the )?(?:music|song|album|playlist|radio|podcast|record|\w+ music)"
    + r"|(?:skip|next|pause|resume|stop) (?:this |the )?(?:song|track|music|album|podcast)"
    + r"|(?:next|previous) (?:song|track)"
    + r")"
)
_SHOP = re.compile(
    _LEAD
    + r"(?:order (?!of\b)\w+|buy (?:me )?\w+|add .+ to (?:my |the )?(?:shopping|grocery)"
    + r" (?:list|basket|cart)|book (?:me |us )?(?:a |an )?(?:\w+ )?(?:table|taxi|cab|flight"
    + r"|hotel|room|ticket|tickets|appointment|train|holiday|trip|restaurant|doctor|haircut))"
)
_MOVE = re.compile(
    _LEAD
    + r"(?:(?:go|move|walk|drive|roll|come|step|back up|head) (?:forward|forwards|back|backward"
    + r"|backwards|left|right|straight|over here|closer)"
    + r"(?: (?:a bit|a little|(?:\w+ )+(?:meters?|metres?|steps?|feet|foot|yards?|inches)))?"
    + r"|turn (?:around|left|right)|follow me|come here|stop moving)"
    + _TAIL
    + "$"
)
_ONLINE = re.compile(
    _LEAD
    + r"(?:(?:what's|what is|how's|how is) the (?:weather|forecast)(?: like)?(?: today| tomorrow"
    + r"| now| outside| this (?:morning|afternoon|evening|week|weekend))?"
    + r"|(?:will|is) it (?:going to )?(?:rain|snow)(?: today| tomorrow| later)?"
    + r"|what's the news|what is the news|(?:tell me|read me) the news"
    + r"|(?:search|google|look up) .+"
    + r")"
    + _TAIL
    + "$"
)

CANNOT = {
    "device": "I can't control lights or other devices yet.",
    "call": "I can't make calls or send messages yet.",
    "media": "I can't play music or other media yet.",
    "shop": "I can't order, buy or book things yet.",
    "move": "I can't move: I'm only a voice here.",
    "online": "I can't look things up online, so I don't know that.",
}


def kind_of(text: str) -> str:
    """Which kind of action a request asks for ("device", "call", ...), or ""."""
    said = words(text)
    for kind, pattern in (
        ("device", _DEVICE),
        ("call", _CALL),
        ("media", _MEDIA),
        ("shop", _SHOP),
        ("move", _MOVE),
        ("online", _ONLINE),
    ):
        if pattern.match(said):
            return kind
    return ""


def is_device_command(text: str) -> bool:
    return kind_of(text) == "device"


def match(text: str) -> Handler | None:
    kind = kind_of(text)
    if not kind:
        return None

    def cannot(ctx: Context) -> str:
        return CANNOT[kind]

    return cannot
