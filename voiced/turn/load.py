"""A runner with everything the configuration asks for: models, skills, memory, alarms."""

from __future__ import annotations

import logging
import sqlite3
import time

from voiced.audio import StreamClock
from voiced.config import Settings
from voiced.engines import ChatModel
from voiced.engines.home_assistant import HomeAssistant, read_token
from voiced.mind.affect import AffectEstimator
from voiced.mind.conversation import Conversation
from voiced.mind.extract import FactReader
from voiced.mind.memory import Memory, MemoryStore
from voiced.paths import state_dir
from voiced.skills import default_skills
from voiced.skills.alarms import Alarms
from voiced.turn.router import Router
from voiced.turn.runner import Engines, TurnRunner
from voiced.turn.workers import Workers

log = logging.getLogger(__name__)


def conversation_for(settings: Settings, llm: ChatModel) -> Conversation:
    """The persona and a history budget that leaves room for the reply."""
    budget = settings.llm.context_tokens - settings.llm.max_tokens - 32
    return Conversation(settings.persona, llm.count_tokens, budget)


def carry_on(conversation: Conversation, store: MemoryStore, keep_days: float) -> None:
    """The conversation of the last days goes on where it stopped, and is kept."""
    for user, reply in store.exchanges(keep_days):
        conversation.add_exchange(user, reply)

    def keep(user: str, reply: str) -> None:
        try:
            store.add_exchange(user, reply)
        except sqlite3.Error as exc:  # a full disk: the conversation goes on, unkept
            log.error("could not save the conversation history (%s)", exc)

    conversation.on_exchange = keep
    log.info(
        "conversation history: %d turn(s) of the last %g days",
        len(conversation.history) // 2,
        keep_days,
    )


def skills_router(settings: Settings) -> Router:
    """A router that decides without any model loaded (no memory, no history): enough to
    tell a skill's request, such as a timer, before loading anything."""
    return Router(settings, Conversation(settings.persona, len, 0), default_skills())


def load_runner(settings: Settings, with_vad: bool = False, rings: bool = True) -> TurnRunner:
    """Load the configured models (blocking) behind a TurnRunner. rings False: nothing
    here can say a timer when it is due (`voiced serve`, `voiced ask`, `voiced respond`):
    timers and reminders are declined, and the voice loop's alarms.json is left alone."""
    from voiced.engines.loader import (
        make_embedder,
        make_judge,
        make_llm,
        make_reader,
        make_stt,
        make_tts,
        make_vad,
        make_wake,
    )

    started = time.monotonic()
    home = None
    if settings.home_assistant.url:  # a missing token is said before the models load
        home = HomeAssistant(settings.home_assistant, read_token(settings.home_assistant))
    llm = make_llm(settings)
    engines = Engines(
        stt=make_stt(settings),
        llm=llm,
        tts=make_tts(settings),
        vad=make_vad(settings) if with_vad else None,
        judge=make_judge(settings) if with_vad else None,
        wake=make_wake(settings) if with_vad else None,
    )
    runner = TurnRunner(
        engines, settings, StreamClock(), conversation_for(settings, llm), Workers()
    )
    router = runner.router
    if settings.affect.enabled:
        router.affect = AffectEstimator()
    router.skills = default_skills()
    router.alarms = Alarms(state_dir() / "alarms.json") if rings else Alarms(None, rings=False)
    router.home = home
    if settings.memory.facts or settings.memory.history_days:
        store = MemoryStore(state_dir() / "memory.db")
        if settings.memory.facts:
            router.memory = Memory(store, llm.count_tokens, settings.memory.budget_tokens)
            router.memory.embedder = make_embedder(settings)
            reader = make_reader(settings, llm)
            if reader is not None:
                router.memory.reader = FactReader(reader)
        if settings.memory.history_days:
            carry_on(runner.conversation, store, settings.memory.history_days)
    log.info("models loaded in %.2f s", time.monotonic() - started)
    return runner
