"""What the assistant remembers about its user: durable facts in a private SQLite file.

One row per fact, with a `key` for facts that have a single current value (the
user's name, their sister's name, where they live): a new fact with the same key
replaces the old one, which is how corrections work. Notes ("remember that …")
have no key and accumulate. Full-text search (FTS5) finds the facts relevant to
an utterance. The file is 0600; deletion overwrites the bytes (secure_delete) and
`forget_all` vacuums, so forgotten facts are gone from the disk, not just hidden.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from voiced.mind.facts import (
    ASK_KEYS,
    Statement,
    could_answer,
    memory_request,
    same_fact,
    spoken,
    statements,
    stem,
    subject_words,
)
from voiced.paths import private_dir

if TYPE_CHECKING:
    from voiced.mind.extract import FactReader

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    source TEXT NOT NULL DEFAULT ''
);
CREATE VIRTUAL TABLE IF NOT EXISTS facts_fts USING fts5(text, content='', tokenize='porter');
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    user TEXT NOT NULL,
    reply TEXT NOT NULL
);
"""
CORE_KINDS = ("name",)
SUMMARY_FACTS = 6
""""What do you remember about me?" is answered with the newest this many."""
"""Facts that go into every prompt, relevant or not."""


@dataclass(frozen=True)
class Fact:
    id: int
    kind: str
    key: str
    text: str
    created: float
    updated: float
    source: str = ""
    """The user's words it was learnt from ("" when not known: a file from before)."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class MemoryStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        private_dir(path.parent)
        try:
            self._db = self._open(path)
        except sqlite3.DatabaseError as exc:
            # A damaged file must not silence the assistant, nor be thrown away: it is
            # kept aside for the user (or a recovery tool), and a fresh memory begins.
            aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            log.warning("memory file %s is damaged (%s); moved to %s", path, exc, aside)
            path.replace(aside)
            for extra in ("-journal", "-wal", "-shm"):
                sidecar = path.with_name(path.name + extra)
                if sidecar.exists():
                    sidecar.replace(aside.with_name(aside.name + extra))
            self._db = self._open(path)
        path.chmod(0o600)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        old_umask = os.umask(0o077)  # the file (and its journal) are born 0600
        db = None
        try:
            db = sqlite3.connect(str(path), isolation_level=None)
            db.execute("PRAGMA secure_delete = ON")
            db.executescript(SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(facts)")}
            if "source" not in columns:  # a file from before the words were kept
                db.execute("ALTER TABLE facts ADD COLUMN source TEXT NOT NULL DEFAULT ''")
            (verdict,) = db.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {verdict}")
            return db
        except sqlite3.DatabaseError:
            if db is not None:
                db.close()
            raise
        finally:
            os.umask(old_umask)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def remember_said(self, text: str) -> list[Fact]:
        """What the user asked to be remembered in their words (`voiced memory add`): each
        fact the patterns find in it, or else the whole sentence as a note."""
        found = statements(text)
        if not found:
            return [self.remember("note", text.strip(), source=text.strip())]
        return [self.remember(s.kind, s.text, s.key, text.strip()) for s in found]

    def remember(self, kind: str, text: str, key: str = "", source: str = "") -> Fact:
        """Store a fact, with the user's words it came from; one with the same non-empty key
        is replaced (a correction)."""
        now = time.time()
        with self._transaction() as db:
            if key:
                for fact in self._select("WHERE key = ?", (key,)):
                    self._delete(db, fact)
            cursor = db.execute(
                "INSERT INTO facts (kind, key, text, created, updated, source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (kind, key, text, now, now, source),
            )
            fact_id = int(cursor.lastrowid or 0)
            db.execute("INSERT INTO facts_fts (rowid, text) VALUES (?, ?)", (fact_id, text))
        return Fact(fact_id, kind, key, text, now, now, source)

    def facts(self) -> list[Fact]:
        return self._select("ORDER BY id", ())

    def get(self, fact_id: int) -> Fact | None:
        found = self._select("WHERE id = ?", (fact_id,))
        return found[0] if found else None

    def by_key(self, key: str) -> Fact | None:
        found = self._select("WHERE key = ?", (key,))
        return found[0] if found else None

    def forget(self, fact_id: int) -> bool:
        fact = self.get(fact_id)
        if fact is None:
            return False
        with self._transaction() as db:
            self._delete(db, fact)
            # merge the index so its words are dropped now, not at some later merge
            db.execute("INSERT INTO facts_fts (facts_fts) VALUES ('optimize')")
        return True

    def add_exchange(self, user: str, reply: str) -> None:
        """One turn of the conversation, kept for continuity across restarts."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO history (at, user, reply) VALUES (?, ?, ?)", (time.time(), user, reply)
            )

    def exchanges(self, keep_days: float) -> list[tuple[str, str]]:
        """The conversation of the last keep_days, oldest first; older turns are erased."""
        cutoff = time.time() - keep_days * 86400
        with self._transaction() as db:
            db.execute("DELETE FROM history WHERE at < ?", (cutoff,))
        rows = self._db.execute("SELECT user, reply FROM history ORDER BY id").fetchall()
        return [(str(u), str(r)) for u, r in rows]

    def forget_all(self) -> int:
        """Everything, overwritten on disk and the file compacted: the bytes are gone."""
        count = len(self.facts())
        with self._transaction() as db:
            db.execute("DELETE FROM history")
            db.execute("DELETE FROM facts")
            db.execute("INSERT INTO facts_fts (facts_fts) VALUES ('delete-all')")
        self._db.execute("VACUUM")
        return count

    def relevant(self, utterance: str, limit: int = 8) -> list[Fact]:
        """The facts that share words with the utterance, best first, plus the core ones."""
        words = [w for w in re.findall(r"[a-z0-9']+", utterance.lower()) if len(w) > 2]
        found: list[Fact] = []
        if words:
            query = " OR ".join('"' + w.replace('"', "") + '"' for w in words)
            rows = self._db.execute(
                "SELECT rowid FROM facts_fts WHERE facts_fts MATCH ? ORDER BY rank LIMIT ?",
                (query, limit),
            ).fetchall()
            for (rowid,) in rows:
                fact = self.get(rowid)
                if fact is not None:
                    found.append(fact)
        core = [f for f in self.facts() if f.kind in CORE_KINDS and f not in found]
        return core + found

    def _select(self, clause: str, args: tuple[object, ...]) -> list[Fact]:
        rows = self._db.execute(
            f"SELECT id, kind, key, text, created, updated, source FROM facts {clause}", args
        ).fetchall()
        return [Fact(*row) for row in rows]

    @staticmethod
    def _delete(db: sqlite3.Connection, fact: Fact) -> None:
        db.execute(
            "INSERT INTO facts_fts (facts_fts, rowid, text) VALUES ('delete', ?, ?)",
            (fact.id, fact.text),
        )
        db.execute("DELETE FROM facts WHERE id = ?", (fact.id,))


class Memory:
    """The memory as a turn sees it: answers what is asked of it, learns what is told,
    and gives the LLM the facts that matter for the utterance."""

    def __init__(self, store: MemoryStore, count_tokens: Callable[[str], int], budget: int):
        self.store = store
        self._count = count_tokens
        self._budget = budget
        self._last: list[Fact] = []
        """What the last turn stored: what "forget that" forgets."""
        self._last_said = ""
        self._withdrawn: collections.deque[str] = collections.deque(maxlen=20)
        """What the user asked to forget as they said it: a reading of it still under way
        keeps nothing."""
        self._wipes = 0
        self.reader: FactReader | None = None
        """Reads every turn's facts with the model ([memory] llm_facts)."""

    def wants(self, utterance: str) -> bool:
        """Whether the utterance is a request to the memory (answered without the LLM)."""
        return memory_request(utterance) is not None

    def answer(self, utterance: str) -> str | None:
        """The spoken answer to a request to the memory, having done what it asks."""
        request = memory_request(utterance)
        if request is None:
            return None
        action, subject = request.action, request.subject
        if action == "recall_all":
            return self._summary()
        if action == "forget_all":
            self.store.forget_all()
            self._last, self._wipes = [], self._wipes + 1
            return "Done. I have forgotten everything you told me."
        if action == "forget_last":
            forgotten = [f for f in self._last if self.store.forget(f.id)]
            self._last = []
            if self._last_said:
                self._withdrawn.append(self._last_said)
            return "Okay, I have forgotten that." if forgotten else "There is nothing to forget."
        if action in ("forget_about", "forget_fact"):
            matching = self.matching(subject)
            for match in matching:
                self.store.forget(match.id)
            if action == "forget_fact":
                return "Okay, I have forgotten that." if matching else "I didn't know that."
            if not matching:
                return f"I don't remember anything about your {subject}."
            return f"Okay, I have forgotten about your {subject}."
        known = self.store.by_key(ASK_KEYS[action](subject))
        if known is not None:
            return spoken(known.text)
        what = {"ask_name": "your name", "ask_home": "where you live"}.get(action)
        if what is None:
            what = f"your {subject}" if action != "ask_person" else f"your {subject}'s name"
        if action == "ask_birthday":
            what = "your birthday"
        return f"You haven't told me {what} yet."

    def matching(self, subject: str) -> list[Fact]:
        """The facts about a subject the user named ("my doctor", "that I'm a nurse"): those
        with one of its words (any form of it)."""
        words = {stem(w) for w in subject_words(subject)}
        return [
            f
            for f in self.store.facts()
            if words & {stem(w) for w in subject_words(f.key.replace(":", " ") + " " + f.text)}
        ]

    def _summary(self) -> str:
        """What it knows, said briefly: the newest few, and how many more."""
        facts = self.store.facts()
        if not facts:
            return "I don't know anything about you yet. Tell me about yourself!"
        said = " ".join(spoken(f.text) for f in facts[-SUMMARY_FACTS:])
        more = len(facts) - SUMMARY_FACTS
        if more > 0:
            things = "thing" if more == 1 else "things"
            said += f" And {more} more {things}: ask me about anything you told me."
        return "Here is what I remember. " + said

    def may_answer(self, about: list[str]) -> bool:
        """Whether a kept fact may answer a question about these words (`could_answer`)."""
        return any(
            could_answer(f"{f.text} {f.key.replace(':', ' ')}", about) for f in self.store.facts()
        )

    def learn(self, utterance: str) -> list[Fact]:
        """Store the facts stated in a finished turn (a failed write, say a full disk, is
        reported and the turn goes on)."""
        self._last_said = utterance.strip()
        self._last = []
        return self._keep(statements(utterance), utterance)

    def ticket(self) -> int:
        """Taken when the model starts reading a turn, handed back with what it read: a
        "forget everything" in between keeps it from being stored."""
        return self._wipes

    def keep_read(self, read: list[Statement], said: str, ticket: int) -> list[Fact]:
        """Store facts the model read in what was said (`reader`, after the turn): a fact
        with a key replaces the one kept from other words (a correction), not one the
        patterns took from these same words; one the memory holds already, in any words,
        is not kept twice. Nothing is kept if the user asked meanwhile to forget it."""
        said = said.strip()
        if ticket != self._wipes or said in self._withdrawn:
            log.debug("what the model read in %r was forgotten meanwhile", said)
            return []
        known = self.store.facts()
        fresh = [
            s
            for s in read
            if not any(f.key == s.key and f.source == said for f in known if s.key)
            and not any(same_fact(f.text, s.text) for f in known)
        ]
        return self._keep(fresh, said)

    def _keep(self, found: list[Statement], said: str) -> list[Fact]:
        try:
            learnt = [self.store.remember(s.kind, s.text, s.key, said.strip()) for s in found]
        except sqlite3.Error as exc:
            log.error("could not save to the memory (%s): this fact is not kept", exc)
            return []
        if learnt:
            if said.strip() == self._last_said:
                self._last = [*self._last, *learnt]
            log.info("remembered %d fact(s)", len(learnt))
            log.debug("remembered %s", [f.text for f in learnt])
        return learnt

    def recall(self, utterance: str) -> list[Fact]:
        """The relevant facts that fit the token budget, best first, for the prompt."""
        chosen: list[Fact] = []
        room = self._budget
        for fact in self.store.relevant(utterance):
            cost = self._count(fact.text) + 1
            if cost > room:
                break
            room -= cost
            chosen.append(fact)
        return chosen
