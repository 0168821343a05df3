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
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voiced.mind.facts import (
    ASK_KEYS,
    Statement,
    could_answer,
    memory_request,
    names_all,
    same_fact,
    spoken,
    statements,
    stem,
    subject_words,
)
from voiced.paths import private_dir

if TYPE_CHECKING:
    from voiced.engines import Embedder
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
CREATE TABLE IF NOT EXISTS vectors (
    id INTEGER PRIMARY KEY REFERENCES facts(id) ON DELETE CASCADE,
    vector BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    user TEXT NOT NULL,
    reply TEXT NOT NULL
);
"""
CORE_KINDS = ("name",)
MIN_SIMILARITY = 0.3
"""A fact this near an utterance in meaning (cosine of their embeddings) is relevant to it:
"What do I like to drink?" and "They like green tea." are 0.39 apart; unrelated facts 0.1."""
FUSION_K = 60
"""Reciprocal rank fusion of the word search and the meaning search: each ranking gives
1 / (FUSION_K + rank), so a fact both find comes first."""
BACKFILL = 16
"""At most this many facts without an embedding get one per turn."""
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
    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        """The wall clock facts and exchanges are dated by (a simulated one in a long run)."""
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
        self._matrix: tuple[np.ndarray, np.ndarray] | None = None

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

    def remember(
        self,
        kind: str,
        text: str,
        key: str = "",
        source: str = "",
        vector: np.ndarray | None = None,
    ) -> Fact:
        """Store a fact, with the user's words it came from and what it means (its
        embedding, if known); one with the same non-empty key is replaced (a correction)."""
        now = self.clock()
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
            if vector is not None:
                db.execute(
                    "INSERT INTO vectors (id, vector) VALUES (?, ?)",
                    (fact_id, np.asarray(vector, dtype=np.float32).tobytes()),
                )
        self._matrix = None
        return Fact(fact_id, kind, key, text, now, now, source)

    def set_vectors(self, vectors: dict[int, np.ndarray]) -> None:
        """What facts kept without one mean (a file from before, a fact added by command)."""
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO vectors (id, vector) VALUES (?, ?)",
                [(i, np.asarray(v, dtype=np.float32).tobytes()) for i, v in vectors.items()],
            )
        self._matrix = None

    def without_vectors(self) -> list[Fact]:
        return self._select("WHERE id NOT IN (SELECT id FROM vectors) ORDER BY id", ())

    def _vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every fact's id and embedding, as arrays, read once until the next change."""
        if self._matrix is None:
            rows = self._db.execute("SELECT id, vector FROM vectors ORDER BY id").fetchall()
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            vectors = [np.frombuffer(r[1], dtype=np.float32) for r in rows]
            self._matrix = (ids, np.stack(vectors) if vectors else np.zeros((0, 0), np.float32))
        return self._matrix

    def near(self, vector: np.ndarray, limit: int) -> list[int]:
        """The facts nearest in meaning, nearest first (at least MIN_SIMILARITY): a brute
        force product, a millisecond for a few thousand facts."""
        ids, matrix = self._vectors()
        if not len(ids) or matrix.shape[1] != len(vector):
            return []
        similarity = matrix @ vector
        best = np.argsort(-similarity)[:limit]
        return [int(ids[i]) for i in best if similarity[i] >= MIN_SIMILARITY]

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
        self._matrix = None
        return True

    def add_exchange(self, user: str, reply: str) -> None:
        """One turn of the conversation, kept for continuity across restarts."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO history (at, user, reply) VALUES (?, ?, ?)",
                (self.clock(), user, reply),
            )

    def exchanges(self, keep_days: float) -> list[tuple[str, str]]:
        """The conversation of the last keep_days, oldest first; older turns are erased."""
        cutoff = self.clock() - keep_days * 86400
        with self._transaction() as db:
            db.execute("DELETE FROM history WHERE at < ?", (cutoff,))
        rows = self._db.execute("SELECT user, reply FROM history ORDER BY id").fetchall()
        return [(str(u), str(r)) for u, r in rows]

    def forget_all(self) -> int:
        """Everything, overwritten on disk and the file compacted: the bytes are gone."""
        count = len(self.facts())
        with self._transaction() as db:
            db.execute("DELETE FROM history")
            db.execute("DELETE FROM vectors")
            db.execute("DELETE FROM facts")
            db.execute("INSERT INTO facts_fts (facts_fts) VALUES ('delete-all')")
        self._db.execute("VACUUM")
        self._matrix = None
        return count

    def relevant(
        self, utterance: str, limit: int = 8, vector: np.ndarray | None = None
    ) -> list[Fact]:
        """The facts that share words with the utterance or (given its embedding) are near
        it in meaning, best first (the two rankings fused; newer first at a tie), plus the
        core ones."""
        words = [w.replace("'", "") for w in subject_words(utterance)]  # not "have", "what"
        by_words: list[int] = []
        if words:
            query = " OR ".join('"' + w.replace('"', "") + '"' for w in words)
            rows = self._db.execute(
                "SELECT rowid FROM facts_fts WHERE facts_fts MATCH ? ORDER BY rank LIMIT ?",
                (query, limit),
            ).fetchall()
            by_words = [int(r[0]) for r in rows]
        by_meaning = self.near(vector, limit) if vector is not None else []
        score: dict[int, float] = {}
        for ranking in (by_words, by_meaning):
            for rank, fact_id in enumerate(ranking):
                score[fact_id] = score.get(fact_id, 0.0) + 1.0 / (FUSION_K + rank)
        best = sorted(score, key=lambda i: (score[i], i), reverse=True)[:limit]
        found = [f for f in (self.get(i) for i in best) if f is not None]
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
        db.execute("DELETE FROM vectors WHERE id = ?", (fact.id,))
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
        self.embedder: Embedder | None = None
        """What facts and questions mean, to find facts by meaning too (None: by words)."""

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
        what = {"ask_name": "your name", "ask_home": "where you live", "ask_job": "your job"}.get(
            action
        )
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
        return bool(self._answering(about))

    def some_fact_names(self, words: list[str]) -> bool:
        """Whether a kept fact names every one of these words (`names_all`)."""
        return any(names_all(f.text, words) for f in self.store.facts())

    def _answering(self, about: list[str]) -> list[Fact]:
        def answers(fact: Fact) -> bool:
            # what the fact is filed under speaks for it too: a "job" answers "work"
            kind = fact.kind if fact.kind not in ("other", "note") else ""
            return could_answer(
                f"{fact.text} {fact.key.replace(':', ' ')} {kind}", about, fact.kind
            )

        return [f for f in self.store.facts() if answers(f)]

    def told_exactly(self, about: list[str]) -> str | None:
        """The one kept fact that names every word a question about the user asks about,
        as said back to them ("You teach piano to kids on Saturday mornings." for "what do
        I teach on Saturdays?"): it answers exactly, where the 1.5B, given it,
        answered "how do I take my coffee?" with how to pour one. None where no fact, or
        more than one, does, or where a fact with a key may answer too ("what do I do for
        work?": their job, not "they cycle to work"): the model chooses among them."""
        answering = self._answering(about)
        full = [f for f in answering if names_all(f.text, about)]
        if len(full) != 1 or any(f.key and f not in full for f in answering):
            return None
        said = spoken(full[0].text).removeprefix("You asked me to remember: ")
        return said[:1].upper() + said[1:]

    def recall_about(
        self, about: list[str], question: str, meaning: np.ndarray | None = None
    ) -> list[Fact]:
        """For a question about the user's life: the facts that may answer it, and no
        other (the nearest to the question first, then the newest), within the budget."""
        answering = self._answering(about)
        if not answering:
            return []
        ranked = [f.id for f in self.recall(question, meaning)]

        def order(fact: Fact) -> tuple[int, float]:
            place = ranked.index(fact.id) if fact.id in ranked else len(ranked)
            return place, -fact.id

        return self._within_budget(sorted(answering, key=order))

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
        vectors = self._embed([s.text for s in found])
        try:
            learnt = [
                self.store.remember(s.kind, s.text, s.key, said.strip(), vectors[i])
                for i, s in enumerate(found)
            ]
        except sqlite3.Error as exc:
            log.error("could not save to the memory (%s): this fact is not kept", exc)
            return []
        if learnt:
            if said.strip() == self._last_said:
                self._last = [*self._last, *learnt]
            log.info("remembered %d fact(s)", len(learnt))
            log.debug("remembered %s", [f.text for f in learnt])
        return learnt

    def _embed(self, texts: list[str]) -> list[np.ndarray | None]:
        """What the texts mean (None for each if that cannot be known: they are found by
        their words alone)."""
        if self.embedder is None or not texts:
            return [None] * len(texts)
        try:
            return list(self.embedder.embed(texts))
        except Exception as exc:
            log.warning("could not embed %d text(s): %s", len(texts), exc)
            return [None] * len(texts)

    def meaning(self, utterance: str) -> np.ndarray | None:
        """What an utterance means (its embedding; None without embeddings): about 20 ms,
        touching no store, so it may run off the event loop."""
        return self._embed([utterance])[0]

    def recall(self, utterance: str, meaning: np.ndarray | None = None) -> list[Fact]:
        """The relevant facts that fit the token budget, best first, for the prompt (given
        the utterance's meaning, or finding it)."""
        if self.embedder is not None:
            self._embed_missing()
            if meaning is None:
                meaning = self.meaning(utterance)
        return self._within_budget(self.store.relevant(utterance, vector=meaning))

    def _within_budget(self, facts: list[Fact]) -> list[Fact]:
        chosen: list[Fact] = []
        room = self._budget
        for fact in facts:
            cost = self._count(fact.text) + 1
            if cost > room:
                break
            room -= cost
            chosen.append(fact)
        return chosen

    def _embed_missing(self) -> None:
        """Facts kept without their meaning (by `voiced memory add`, or before there were
        embeddings) get it now, a few at a time."""
        missing = self.store.without_vectors()[:BACKFILL]
        if not missing:
            return
        vectors = self._embed([f.text for f in missing])
        known = {f.id: v for f, v in zip(missing, vectors, strict=True) if v is not None}
        try:
            self.store.set_vectors(known)
        except sqlite3.Error as exc:
            log.error("could not save what %d fact(s) mean (%s)", len(known), exc)
