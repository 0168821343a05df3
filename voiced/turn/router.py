"""Where a turn is decided: one request in, one route out, then one step that keeps it.

Every way in (the spoken loop, `voiced ask` with or without the daemon, `voiced respond`,
a Wyoming conversation) hands its request here, whole, with any held-back words joined.
The router decides once: ignore it (not addressed, or no words), stop, acknowledge the
wake phrase, answer it exactly (a skill, the memory) or let the language model write the
reply. `finish` then keeps what the turn leaves behind: the history, the facts the user
stated, how they sound as usual, and when the assistant last spoke to them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from voiced.config import Settings
from voiced.device import NoMicrophone, Volume
from voiced.engines.home_assistant import UNREACHABLE, HomeAnswer, HomeAssistant, looks_like_command
from voiced.listen.activation import Activation
from voiced.mind.affect import Affect, AffectEstimator
from voiced.mind.care import at_risk, crisis_reply
from voiced.mind.conversation import Conversation, Message
from voiced.mind.disclosure import note, told
from voiced.mind.facts import (
    NOT_TOLD,
    asks_about_user,
    could_answer,
    how_about_me,
    spoken,
    subject_words,
)
from voiced.mind.memory import Memory
from voiced.skills import Context as SkillContext
from voiced.skills import Device, Handler, Skills, needs_ringer
from voiced.skills.alarms import Alarms
from voiced.skills.numbers import comparable_words
from voiced.text import is_stop_command, looks_finished, whole_sentences
from voiced.turn.request import Origin, Outcome, Request, TurnResult

log = logging.getLogger(__name__)


OWN_ECHO_S = 0.3
"""How long after the assistant's sound ended its echo may still start (the room's delay
and ringing, the device's latency)."""
QUESTION_WORDS = {"why", "what", "how", "who", "when", "where", "which", "really", "pardon"}
"""A single word over a reply that asks something rather than stops it."""
HEARD_ENOUGH_WORDS = 4
"""An interrupted reply with fewer words than this in whole sentences is not kept in the
conversation."""


@dataclass(frozen=True)
class Route:
    outcome: Outcome
    request: str = ""
    """What is answered: the whole request, the wake phrase cut off."""
    waits: bool = False
    """Heard on a pause: decide nothing and spend nothing until the end of the turn is
    confirmed (a mid-sentence pause, a command with effects, an exact answer)."""
    skill: Handler | None = field(default=None, repr=False)
    answer: str = ""
    """Known words decided with the route: Home Assistant's, once it was asked; that the
    user never said what they ask about."""
    about_user: tuple[str, ...] = ()
    """A question about the user's own life: what it is about ("cat" in "what is our cat
    called?"); empty for anything else."""

    @property
    def needs_ringer(self) -> bool:
        """Timers and reminders: only where a due one can be said aloud."""
        return self.skill is not None and needs_ringer(self.skill)


@dataclass(frozen=True)
class Prompt:
    """What the language model is given for one reply, and how it is said."""

    messages: list[Message]
    max_sentences: int
    pace: float = 1.0
    memories: tuple[int, ...] = ()
    """The remembered facts in it, by id (the turn line names them)."""


class Router:
    def __init__(
        self,
        settings: Settings,
        conversation: Conversation,
        skills: Skills | None = None,
        memory: Memory | None = None,
        alarms: Alarms | None = None,
        device: Device | None = None,
    ) -> None:
        self.settings = settings
        self.conversation = conversation
        self.skills = skills
        """Exact answers before the LLM (time, timers ...), when [activation] skills is on."""
        self.memory = memory
        """What the user has told about themselves (None: remembering is off)."""
        self.alarms = alarms if alarms is not None else Alarms(None)
        """Timers and reminders; its clock is the wall clock every skill reads."""
        self.affect: AffectEstimator | None = None
        """How the user sounds against their own baseline (None: not noticed)."""
        self.device: Device = device if device is not None else NoMicrophone(Volume())
        """The assistant itself, as skills may change it (volume, microphone)."""
        self.home: HomeAssistant | None = None
        """Home Assistant for the house (None: not configured)."""
        self.read_later: Callable[[Memory, str], None] | None = None
        """Facts the patterns missed, read by the model once it is free."""
        self.cares = True
        """Answer a wish to die or to harm with care, not the model, and give the model a
        note on meeting a feeling told (off only to measure what the model said before:
        `voiced dialogue`'s "before" column)."""
        self.last_reply = ""
        self.replied_until: float | None = None
        """Stream time the assistant last finished speaking to the user (follow-ups)."""
        self._played: tuple[str, float] = ("", float("-inf"))
        """The last reply's sentences that began to sound, and when its sound ended."""

    # -- deciding ---------------------------------------------------------------------

    def decide(self, request: Request, on_pause: bool = False) -> Route:
        """The route for a whole request; on_pause: heard on a pause, the turn may go on."""
        text = request.text
        if request.origin is Origin.WOKEN:
            return Route(Outcome.WAKE)
        if not text:
            return Route(Outcome.NOTHING, waits=on_pause)
        if request.origin.addressed:
            said, woke = text, False
        else:
            admission = self.activation.admit(
                text, request.started_s, self.replied_until, self.asked_back()
            )
            if not admission.admitted:
                return Route(Outcome.IGNORED, waits=on_pause)
            said, woke = admission.request, admission.woke
        if (
            is_stop_command(said)
            or is_stop_command(request.latest)
            or self._stop_after_echo(request)
        ):
            return Route(Outcome.STOP, waits=on_pause)
        if woke and not said:
            return Route(Outcome.WAKE, waits=on_pause)
        risk = at_risk(said) if self.cares else None
        if risk is not None:  # before anything else: the house, a skill, the model
            answer = crisis_reply(risk, self.settings.companion.crisis_line)
            return Route(Outcome.CARE, said, on_pause, answer=answer)
        if self.home is not None and self._for_home(said):
            # it acts on the house: only once the end of the turn is confirmed
            return Route(Outcome.HOME, said, waits=on_pause)
        return self.here(request, said, on_pause)

    def _for_home(self, said: str) -> bool:
        return (
            self.settings.home_assistant.prefer == "home"
            or looks_like_command(said)
            or self.asked_back()
        )

    def asked_back(self) -> bool:
        """Home Assistant's last answer asked something: the next request answers it."""
        return self.home is not None and self.home.asked_back

    def after_home(self, request: Request, route: Route, answer: HomeAnswer) -> Route:
        """Where Home Assistant's answer leads: its words, said as they came; for a device
        command it could not be asked about, one clear sentence; else the route without it."""
        if answer.speech is not None:
            return replace(route, answer=answer.speech)
        if not answer.reached and looks_like_command(route.request):
            return replace(route, outcome=Outcome.HOME_DOWN, answer=UNREACHABLE)
        return self.here(request, route.request)

    def here(self, request: Request, said: str, on_pause: bool = False) -> Route:
        """The route without Home Assistant: a skill, a one-word stop, the memory, the
        model (also what a request Home Assistant has no intent for gets)."""
        skill = self.skills.match(said) if self.skills and self.settings.activation.skills else None
        if skill is not None:
            return Route(Outcome.SKILL, said, on_pause, skill)
        if self._one_word_over_reply(request):
            return Route(Outcome.STOP, waits=on_pause)
        if self.memory is not None and self.memory.wants(said):
            return Route(Outcome.MEMORY, said, on_pause)
        asked = self.memory is not None and asks_about_user(said)
        about = subject_words(said) if asked else []
        if self.memory is not None and not asked:
            how = how_about_me(said)  # "how do I take my coffee?": only if a fact says
            about = how if how and self.memory.some_fact_names(how) else []
        if about and self._never_told(about):
            return Route(Outcome.MEMORY, said, on_pause, answer=NOT_TOLD)
        said_back = self.memory.told_exactly(about) if self.memory is not None and about else None
        if said_back is not None:
            return Route(Outcome.MEMORY, said, on_pause, answer=said_back)
        waits = on_pause and not looks_finished(said)
        return Route(Outcome.GENERATE, said, waits, about_user=tuple(about))

    def _never_told(self, about: list[str]) -> bool:
        """A question about the user's own life that nothing they said answers, neither a
        remembered fact nor the conversation: said plainly, never left to a model that
        would make an answer up ("Our cat is called Whiskers.")."""
        assert self.memory is not None
        said_before = self.conversation.said_by_user()
        return not self.memory.may_answer(about) and not any(
            could_answer(text, about) for text in said_before
        )

    def own_voice(self, text: str, started_s: float) -> bool:
        """Whether words heard from started_s on were the assistant's own, not the user's:
        begun while its last reply sounded, and every one of them said by it, in order.
        The last defence against its echo (the double-talk detector is the first): one
        reply interrupted by itself, but never a conversation with itself. A stop command
        is always the user's."""
        if started_s > self.echo_ends_s or is_stop_command(text):
            return False
        heard, said = comparable_words(text), iter(comparable_words(self._played[0]))
        return bool(heard) and all(word in said for word in heard)

    def _stop_after_echo(self, request: Request) -> bool:
        """A stop command heard just after some of the reply's own words ("Sure stop." over
        "Sure! …"): its echo reached the recogniser first; the stop is the user's."""
        if request.started_s > self.echo_ends_s:
            return False
        heard, said = comparable_words(request.latest), iter(comparable_words(self._played[0]))
        echo = 0
        while echo < len(heard) and heard[echo] in said:
            echo += 1
        return 0 < echo < len(heard) and is_stop_command(" ".join(heard[echo:]))

    def _one_word_over_reply(self, request: Request) -> bool:
        """A single word said over the reply that asks nothing ("Why?" does) and is no
        skill's: "stop talking", however misheard (the echo drowns a stop's "st": tiny.en
        made "Drop.", "Up.", "That." of it)."""
        if request.started_s > self.echo_ends_s or request.latest.rstrip().endswith("?"):
            return False
        heard = comparable_words(request.latest)
        return len(heard) == 1 and heard[0] not in QUESTION_WORDS

    @property
    def echo_ends_s(self) -> float:
        """Stream time after which nothing of the last reply can be in the microphone."""
        return self._played[1] + OWN_ECHO_S

    @property
    def activation(self) -> Activation:
        return Activation(self.settings.activation)

    def wake_only(self, text: str) -> bool:
        """The wake phrase and nothing else (so far): the request is still to come."""
        if self.settings.activation.mode != "wake":
            return False
        admission = self.activation.admit(text, 0.0, None)
        return admission.woke and not admission.request

    def answer(self, route: Route) -> str:
        """The exact answer of a confirmed route, having done what it asks (a timer set,
        a fact forgotten)."""
        if route.outcome is Outcome.WAKE:
            return self.settings.activation.acknowledgement
        if route.outcome in (Outcome.HOME, Outcome.HOME_DOWN, Outcome.CARE):
            return route.answer
        if route.outcome is Outcome.SKILL:
            assert route.skill is not None
            said = route.skill(self.skill_context())
            log.debug("answered by a skill: %r", said)
            return said
        assert route.outcome is Outcome.MEMORY and self.memory is not None
        return route.answer or self.memory.answer(route.request) or ""

    def prompt(
        self, route: Route, mood: Affect | None, meaning: np.ndarray | None = None
    ) -> Prompt:
        """The language model's prompt: persona, history, the notes for this turn, the turn
        (meaning: what the request means, found off the loop, to recall by)."""
        about = list(route.about_user)
        recalled = []
        if self.memory is not None:
            # asked about their own life, only what may answer it: beside "they live in
            # Leeds", the 1.5B answered "where does my brother live?" with Leeds, and
            # beside "their brother lives in Toronto", "which city do I live in?" with Toronto
            recalled = (
                self.memory.recall_about(about, route.request, meaning)
                if about
                else self.memory.recall(route.request, meaning)
            )
        # asked about their life, the facts as said back to them ("You are scared of
        # spiders."): from "They are scared of spiders." the 1.5B answered "I'm scared of
        # spiders."
        known = " ".join(spoken(f.text) if about else f.text for f in recalled)
        max_sentences = self.settings.llm.max_sentences
        if mood is not None and mood.hurried:
            max_sentences = 1  # in a hurry: one sentence will do
        tone = mood.tone() if mood is not None else ""
        # told how they feel: the note on meeting it (not for a question about their life)
        felt = note(told(route.request)) if self.cares and not about else ""
        messages = self.conversation.messages_for(route.request, known, tone, bool(about), felt)
        pace = mood.pace if mood is not None else 1.0
        return Prompt(messages, max_sentences, pace, tuple(fact.id for fact in recalled))

    def skill_context(self) -> SkillContext:
        now = datetime.fromtimestamp(self.alarms.clock())
        return SkillContext(now, self.alarms, self.last_reply, self.device)

    # -- keeping ----------------------------------------------------------------------

    def finish(
        self,
        route: Route,
        result: TurnResult,
        confirmed: bool,
        spoke_until: float,
        mood: Affect | None = None,
    ) -> None:
        """Keep what a turn leaves: the exchange, the user's facts, their usual voice, and
        when the assistant last spoke to them. confirmed False: a guess on a pause that
        the user talked over (nothing of them is learnt from it); spoke_until: the stream
        time the reply's sound ends."""
        if result.played:
            self._played = (result.played, spoke_until)
        if result.reply:
            self.last_reply = result.reply
            self.replied_until = spoke_until
        if route.outcome is Outcome.WAKE or result.held_back:
            return  # a held-back request is answered, whole, by the next turn
        # A reply cut off is kept as its whole sentences, and only if they are more than a
        # word or two: the model copies its history, and with replies stopped mid-sentence
        # or after "Sure!" it wrote its next stories as one clause, or "Sure!" alone.
        kept = whole_sentences(result.reply) if result.interrupted else result.reply
        if not (result.interrupted and len(kept.split()) < HEARD_ENOUGH_WORDS):
            self.conversation.add_exchange(route.request, kept)
        if not confirmed:
            return
        memory = self.memory
        if memory is not None and route.outcome is Outcome.GENERATE:
            self._learn(memory, route.request)
        if mood is not None and self.affect is not None and mood.features is not None:
            self.affect.baseline.update(mood.features)

    def _learn(self, memory: Memory, text: str) -> None:
        """The facts the user stated, at once by the patterns, and later by the model."""
        memory.learn(text)
        if self.read_later is not None:
            self.read_later(memory, text)
