"""The conversation: persona, history kept within the context, and short spoken replies."""

from __future__ import annotations

import difflib
import itertools
import logging
import re
from collections.abc import Callable, Iterator

from voiced.engines import CUT_SHORT, ChatModel, Message
from voiced.text import SentenceSplitter, ends_sentence, speakable

log = logging.getLogger(__name__)

_MESSAGE_OVERHEAD_TOKENS = 8
"""Role markers a chat template adds around each message (ChatML: 5; more, to be safe:
an estimate short by one token per message overflowed the context after 80 turns)."""
KEEP_EXCHANGES = 200
"""Exchanges kept in memory; the prompt takes the most recent that fit its budget."""
TRIM_TO = 0.5
"""A history that outgrows its room in the prompt is cut to this share of the room."""
TURN_RESERVE_TOKENS = 320
"""The room a usual turn takes besides the history: what is known about the user (200 by
default), the note on how they sound, and what they said."""


class Conversation:
    """System persona plus alternating turns, trimmed oldest-first to a token budget (in
    steps, so that the start of the prompt, and the model's cache of it, lasts)."""

    def __init__(
        self, persona: str, count_tokens: Callable[[str], int], budget_tokens: int
    ) -> None:
        self.persona = persona
        self.history: list[Message] = []
        self.on_exchange: Callable[[str, str], None] | None = None
        """Told of every finished exchange (to keep it across restarts)."""
        self._count = count_tokens
        self._budget = budget_tokens
        self._first = 0
        """Where the prompt's history starts (an exchange's first message)."""
        self.start_moved = False
        """The last exchange moved the history's start: the model must read it all again
        (best done before the next turn, while the user is quiet)."""

    def _cost(self, message: Message) -> int:
        return self._count(message["content"]) + _MESSAGE_OVERHEAD_TOKENS

    def messages_for(
        self,
        user_text: str,
        known: str = "",
        mood: str = "",
        about_them: bool = False,
        felt: str = "",
    ) -> list[Message]:
        """The prompt for a new user turn: the persona, as much recent history as fits, the
        notes for this turn (what is known about the user that matters for it, the tone
        their voice calls for), then the turn. The persona and the history come first and
        stay the same from turn to turn, so the model's cache of them is reused; the notes
        and the words are read ahead while the user is still speaking (runner.read_ahead),
        so that only the last words are left to read when the turn ends."""
        notes = private_notes(known, mood, about_them, felt)
        system = {"role": "system", "content": self.persona}
        before = [{"role": "system", "content": notes}] if notes else []
        user = {"role": "user", "content": user_text}
        room = self._budget - sum(self._cost(m) for m in (system, *before, user))
        if room < 0:
            # Too long even without any history (a monologue, a pasted page): the notes go,
            # then the start of what was said; the end, where the question usually is, stays.
            before = []
            left = self._budget - self._cost(system) - _MESSAGE_OVERHEAD_TOKENS
            user = {"role": "user", "content": self._last_words(user_text, left)}
            room = 0
        return [system, *self._kept(room), *before, user]

    def _kept(self, room: int) -> list[Message]:
        """The history that goes into the prompt: from its lasting start (see _settle) on,
        less the oldest exchanges a turn longer than usual leaves no room for, for that
        turn only."""
        cost = sum(self._cost(m) for m in self.history[self._first :])
        first, _ = self._skip(self._first, cost, room)
        return self.history[first:]

    def _settle(self) -> bool:
        """Move the history's lasting start on if the history outgrew the room a usual turn
        leaves it; whether it moved. It moves in whole exchanges (no reply loses its
        question) until the history fills TRIM_TO of that room, and then stays put for
        many turns. A start that moved by one exchange every turn would change the prompt
        just after the persona, and the model would read the whole history again for
        every reply: the soak saw replies slow from 1.3 s to 3.8 s that way."""
        persona_cost = self._cost({"role": "system", "content": self.persona})
        usual = self._budget - persona_cost - min(TURN_RESERVE_TOKENS, self._budget // 4)
        cost = sum(self._cost(m) for m in self.history[self._first :])
        if cost <= usual:
            return False
        self._first, _ = self._skip(self._first, cost, usual * TRIM_TO)
        return True

    def _skip(self, first: int, cost: int, limit: float) -> tuple[int, int]:
        """Exchanges left out from the oldest kept on, until the rest costs at most limit."""
        while first < len(self.history) and cost > limit:
            cost -= sum(self._cost(m) for m in self.history[first : first + 2])
            first += 2
        return first, cost

    def _last_words(self, text: str, tokens: int) -> str:
        """As many of the text's last words as fit in `tokens`."""
        words = text.split()
        low, high = 0, len(words)  # the fewest words to drop
        while low < high:
            middle = (low + high) // 2
            if self._count(" ".join(words[middle:])) <= tokens:
                high = middle
            else:
                low = middle + 1
        return " ".join(words[low:])

    def said_by_user(self) -> list[str]:
        """What the user said in the conversation so far."""
        return [m["content"] for m in self.history if m["role"] == "user"]

    def add_exchange(self, user_text: str, reply_text: str) -> None:
        """Record a finished turn; reply_text is what was actually said."""
        if reply_text:
            self.history += [
                {"role": "user", "content": user_text},
                {"role": "assistant", "content": reply_text},
            ]
            # A daemon runs for months: keep no more than any prompt could hold.
            dropped = max(0, len(self.history) - 2 * KEEP_EXCHANGES)
            del self.history[:dropped]
            self._first = max(0, self._first - dropped)
            self.start_moved = self._settle()
            if self.on_exchange is not None:
                self.on_exchange(user_text, reply_text)


TONES = {
    "tired": "calm, gentle and brief",
    "low": "gentle and kind",
    "tired and low": "gentle, calm and brief",
    "upset": "calm and steady",
    "happy": "warm and bright",
    "excited": "lively and warm",
    "excited and happy": "bright and lively",
    "tired and happy": "warm and calm",
}


def private_notes(known: str, mood: str, asked_about_them: bool = False, felt: str = "") -> str:
    """What the reply should take into account but never say: the facts the user told
    (in the third person, as "they", so the model neither speaks of "the user" nor takes
    the user's name for its own) and the tone their voice calls for, as an instruction,
    never as a remark to pass on ("You sound tired." is not a reply). It goes just before
    the user's words: after them, the 1.5B model took a tone note for a reason to refuse
    ("I'm sorry, but I can't assist with that." to a joke), and there it is read ahead
    with the words while the user speaks."""
    notes = []
    if known and asked_about_them:
        notes.append(
            "Private notes: they are asking about their own life, and this is what they told "
            f"you about themselves, as you would say it to them: {known} Answer their question "
            "from this alone, in one short sentence; if it does not say, tell them they have not "
            "told you that yet. Never guess."
        )
    elif known:
        notes.append(
            "Private notes, never to be read out: what the person you are talking with has "
            "told you before (use it only where it bears on what they say, in your own words; "
            f"never describe them or bring it up unasked): {about_them(known)}"
        )
    elif asked_about_them:
        notes.append(
            "They are asking about their own life: answer only from what they have told you; "
            "if it does not say, tell them they have not told you that yet. Never guess."
        )
    if felt:
        notes.append(felt)  # how to meet what they told of how they feel (`disclosure`)
    if mood:
        tone = TONES.get(mood, "kind")
        notes.append(f"Answer the next message in a {tone} way; do not remark on how they seem.")
    return " ".join(notes)


def about_them(facts: str) -> str:
    """Stored facts ("The user's sister is called Anna.") as "Their sister is called Anna."."""
    text = re.sub(r"\bThe user's\b", "Their", facts)
    text = re.sub(r"\bThe user asked to remember:", "They asked you to remember:", text)
    return re.sub(r"\bThe user (\w+)", lambda m: "They " + _plural(m.group(1)), text)


def _plural(verb: str) -> str:
    irregular = {"is": "are", "has": "have", "does": "do", "was": "were"}
    if verb in irregular:
        return irregular[verb]
    return verb[:-1] if verb.endswith("s") and not verb.endswith("ss") else verb


_LEAKS = re.compile(
    r"\b(?:the user|the person (?:you are|you're) talking|private notes?|the notes?\b"
    r"|(?:you|they) (?:sound|seem|look|appear)(?: to be)?(?: \w+ly| so| a bit| quite| a little)?"
    r" (?:tired|low|down|sad|excited|happy|upset|worn|exhausted|stressed|energetic|full of))",
    re.I,
)


_CHANGES_SUBJECT = re.compile(
    r"\b(?:(?:talk|chat) about something (?:else|different)|change the subject|"
    r"on a (?:lighter|different|happier) note|let's focus on something (?:else|positive)|"
    r"(?:let's|we could|shall we) (?:move on|think about something else))\b",
    re.I,
)


def leaks_notes(sentence: str) -> bool:
    """A sentence that recites the prompt's notes or speaks of the user in the third
    person ("You sound tired.", "The user is now 10 meters away."), or that turns away from
    what they said ("How about we talk about something else?", said by the 1.5B to "the
    neighbours play loud music every night and I'm fed up", with a note telling it not to)."""
    return bool(_LEAKS.search(sentence) or _CHANGES_SUBJECT.search(sentence))


def reply_sentences(
    llm: ChatModel,
    messages: list[Message],
    max_sentences: int,
    on_first_token: Callable[[], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    first_clause_words: int = 0,
) -> Iterator[str]:
    """Stream the model's reply as speakable sentences, at most max_sentences of them.

    With first_clause_words, the first piece may be a clause (see SentenceSplitter);
    it does not count as a sentence. Blocking: drain it in a worker thread. Closing
    the generator stops generation.
    """
    splitter = SentenceSplitter(first_clause_words)
    count = 0
    said_before = _said_to_other_requests(messages)
    skipped: list[str] = []
    leaked: list[str] = []
    spoke = False
    if should_stop():  # cancelled while it waited for the model: not even the prompt is read
        return
    pieces = llm.stream(messages)
    cut = False
    try:
        for piece in pieces:
            if should_stop():
                return
            if piece == CUT_SHORT:
                cut = True
                continue
            if on_first_token is not None:
                on_first_token()
                on_first_token = None
            for sentence in splitter.feed(piece):
                text = speakable(sentence)
                if not re.search(r"\w", text):
                    continue  # a mark after a sentence already out ("?" then "!")
                if leaks_notes(text):
                    leaked.append(text)  # never said: the notes shape a reply, not fill it
                elif _repeats(text, said_before):
                    skipped.append(text)  # a small model parrots its own last replies
                else:
                    yield text
                    spoke = True
                    count += ends_sentence(text)
                    if count >= max_sentences:
                        return
        rest = speakable(splitter.flush())
        if rest and cut and not ends_sentence(rest):
            log.info("the model was stopped mid-sentence: %r left unsaid", rest)
        elif rest and leaks_notes(rest):
            leaked.append(rest)
        elif rest and _repeats(rest, said_before):
            skipped.append(rest)
        elif rest:
            yield rest
            spoke = True
        if not spoke and skipped:  # nothing new at all: better said again than silence
            yield " ".join(skipped)
        if leaked:
            log.info(
                "%d sentence(s) reciting the prompt's notes or turning away left unsaid",
                len(leaked),
            )
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()  # stops the model generating words nobody will hear


def _said_to_other_requests(messages: list[Message]) -> list[str]:
    """The earlier replies, but those to the same request as now: asked again (say, after
    cutting the reply off), the same answer is the right one."""
    users = [m["content"] for m in messages if m["role"] == "user"]
    asked = _plain(users[-1]) if users else ""
    replies = []
    for question, answer in itertools.pairwise(messages):
        if answer["role"] != "assistant" or question["role"] != "user":
            continue
        if difflib.SequenceMatcher(None, _plain(question["content"]), asked).ratio() < 0.8:
            replies.append(_plain(answer["content"]))
    return replies


def _plain(text: str) -> str:
    return " ".join(re.findall(r"[\w']+", text.lower()))


def _repeats(piece: str, said_before: list[str], min_words: int = 4) -> bool:
    """Whether this piece of a reply, of some length, was already said word for word."""
    plain = _plain(piece)
    return len(plain.split()) >= min_words and any(plain in before for before in said_before)
