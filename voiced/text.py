"""Text handling between the models: making replies speakable and cutting them into sentences."""

from __future__ import annotations

import re
import unicodedata

_CODE_BLOCK = re.compile(r"```.*?(```|$)", re.S)
_INLINE_CODE = re.compile(r"`([^`]*)`")
_URL = re.compile(r"(https?://|www\.)\S+", re.I)
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1")
_MD_PREFIX = re.compile(r"^\s*(#{1,6}\s+|>\s*|[-*+•]\s+|\d+[.)]\s+)", re.M)
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f1e6-\U0001f1ff\u200d\ufe0f\u2b50\u2b06\u2934\u2935]"
)
_LEFTOVER = re.compile(r"[*#_`|<>{}\[\]\\^~]")
_SPACES = re.compile(r"[ \t]+")
_ROLE_PREFIX = re.compile(r"^\s*(assistant|sam|ai)\s*:\s*", re.I)


def _invisible(ch: str) -> str:
    """Control and format characters (NUL, escapes, zero-width spaces) become spaces; line
    breaks stay, for the markdown rules that follow."""
    return " " if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf") else ch


def speakable(text: str) -> str:
    """Turn model output into plain words a voice can read: no markdown, emoji, code or URLs."""
    text = "".join(_invisible(ch) for ch in text)
    text = _CODE_BLOCK.sub(" ", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub("a link", text)
    text = _MD_EMPHASIS.sub(r"\2", text)
    text = _MD_PREFIX.sub("", text)
    text = _EMOJI.sub("", text)
    text = _LEFTOVER.sub(" ", text)
    text = _ROLE_PREFIX.sub("", text)
    text = text.replace("\n", " ")
    return _SPACES.sub(" ", text).strip()


# A sentence ends at . ! ? or … followed by space, unless the period belongs to a
# common abbreviation, an initial or a decimal number.
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "sr",
    "jr",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "no",
    "approx",
    "mt",
    "ft",
    "inc",
    "ltd",
    "co",
}
_END = re.compile(r"([.!?…]+)[\"')\]]*\s+")
# A model writes " word" tokens: the space after a mark comes with the next word, a token
# (about 45 ms) later. A mark that cannot be part of something longer ends the piece at
# once: "!" or "?", a period after a word ("3." may be "3.5"), a comma after a letter
# ("1," may be "1,000").
_END_NOW = re.compile(r"([!?]+|(?<=[^\W\d_]{2})\.)$")
COMMA_CLAUSE_WORDS = 2
"""A first piece may end at a comma (or ; : —) after this many words ("I'm doing well,"):
the voice pauses there anyway. Before a new phrase it needs first_clause_words."""
_CLAUSE_END = re.compile(r"[,;:—]\s+|(?<=[^\W\d_])[,;:—]$")
_WORD = re.compile(r"\S+\s+")
_PHRASE_STARTS = set(
    [
        "and",
        "but",
        "or",
        "so",
        "because",
        "that",
        "which",
        "who",
        "when",
        "where",
        "while",
        "if",
        "than",
        "as",
        "with",
        "to",
        "for",
        "since",
        "until",
        "the",
        "a",
        "an",
        "in",
        "on",
        "at",
        "of",
        "from",
        "about",
        "into",
        "my",
        "your",
        "their",
        "his",
        "her",
        "our",
        "this",
        "these",
        "those",
        "its",
    ]
)
"""Words a new phrase starts with: the first piece of a reply may end before one."""


class SentenceSplitter:
    """Collects streamed text and hands out each sentence as soon as it is complete.

    With first_clause_words > 0, the first piece may end at a comma (or ; : —) once it
    has COMMA_CLAUSE_WORDS words (with fewer than first_clause_words, only once a word
    follows that does not end the sentence), or, with no comma, once it has
    first_clause_words words, before a word that starts a new phrase ("and", "that", "the",
    "in" ...) once two more words follow that sentence's end has not come with, so the
    voice can start before the sentence ends. So may the next pieces, until
    that many words have been handed out: a "Sure!" is over in half a second, before the
    whole sentence after it is written, and the voice would fall silent between the two.
    After that, a piece may still end at a comma once it has as many words as all the
    pieces before it: they take longer to say than it takes to write, and a long sentence
    after a short start does not leave the voice waiting.
    """

    def __init__(self, first_clause_words: int = 0) -> None:
        self._buffer = ""
        self._first_clause_words = first_clause_words
        self._words_out = 0

    def feed(self, text: str) -> list[str]:
        """Add streamed text; return the sentences it completed."""
        self._buffer += text
        sentences = []
        start = 0
        for match in _END.finditer(self._buffer):
            candidate = self._buffer[start : match.end()].strip()
            if not self._is_boundary(candidate, match.group(1)):
                continue
            sentences.append(candidate)
            start = match.end()
        self._buffer = self._buffer[start:]
        now = _END_NOW.search(self._buffer)
        if now and self._is_boundary(self._buffer.strip(), now.group(1)[-1]):
            sentences.append(self._buffer.strip())
            self._buffer = ""
        if not sentences and self._first_clause_words:
            clause = self._early_clause()
            if clause:
                sentences.append(clause)
        self._words_out += sum(len(sentence.split()) for sentence in sentences)
        return sentences

    def _early_clause(self) -> str:
        """A clause to hand out before its sentence has ended, if one is due."""
        at_least = max(min(self._first_clause_words, COMMA_CLAUSE_WORDS), self._words_out)
        for match in _CLAUSE_END.finditer(self._buffer):
            clause = self._buffer[: match.end()].strip()
            count = len(clause.split())
            if count < at_least:
                continue
            if count < self._first_clause_words and not _goes_on(self._buffer[match.end() :]):
                continue  # "No idea, sorry.": a short clause waits for a word that is no end
            self._buffer = self._buffer[match.end() :]
            return clause
        if self._words_out >= self._first_clause_words:
            return ""  # the voice has enough to say: a new phrase is no place to stop
        words = list(_WORD.finditer(self._buffer))
        for i in range(self._first_clause_words, len(words) - 1):
            word = words[i].group().strip()
            following = words[i + 1].group().strip()
            if _END.search(word + " ") or _END.search(following + " "):
                return ""  # the sentence ends there: it goes whole
            if word.lower() in _PHRASE_STARTS:
                clause = self._buffer[: words[i].start()].strip()
                self._buffer = self._buffer[words[i].start() :]
                return clause
        return ""

    def flush(self) -> str:
        """The unfinished rest, once the stream is over."""
        rest, self._buffer = self._buffer.strip(), ""
        return rest

    @staticmethod
    def _is_boundary(candidate: str, mark: str) -> bool:
        if mark != ".":
            return True
        words = candidate[:-1].split()
        last = words[-1].lower().rstrip(".") if words else ""
        if last in _ABBREVIATIONS:
            return False
        # A single capital letter before the period is an initial ("J. R. R. Tolkien").
        return not (len(last) == 1 and last.isalpha() and candidate[-2:-1].isupper())


def _goes_on(rest: str) -> bool:
    """Whether a whole word follows that does not end the sentence."""
    first = _WORD.match(rest.lstrip())
    return first is not None and not _END.search(first.group().strip() + " ")


def split_sentences(text: str) -> list[str]:
    """Split a whole text into sentences (the streaming splitter, fed at once)."""
    splitter = SentenceSplitter()
    sentences = splitter.feed(text)
    rest = splitter.flush()
    return sentences + ([rest] if rest else [])


_FILLERS = {
    "",
    "uh",
    "um",
    "umm",
    "uhm",
    "hmm",
    "hm",
    "mm",
    "mmm",
    "ah",
    "oh",
    "er",
    "erm",
    "eh",
    "huh",
    "you",
    "bye",
    "so",
    "okay so",
}
_NON_SPEECH = re.compile(r"^[\s\[(*♪♫].*[\])*♪♫]\s*$|^[\s♪♫.…-]*$")


_CONTINUATIONS = {
    "and",
    "or",
    "but",
    "so",
    "because",
    "the",
    "a",
    "an",
    "to",
    "of",
    "in",
    "on",
    "at",
    "for",
    "with",
    "my",
    "your",
    "is",
    "are",
    "was",
    "if",
    "then",
    "that",
    "which",
    "um",
    "uh",
    "like",
    "about",
    "from",
    "i",
    "i'm",
    "can",
    "could",
    "would",
    "should",
    "will",
    "do",
    "does",
    "than",
}


_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*$")


def ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text.strip()))


def whole_sentences(text: str) -> str:
    """The text up to the end of its last complete sentence ("" if none ended)."""
    sentences = split_sentences(text)
    if sentences and not ends_sentence(sentences[-1]):
        sentences.pop()
    return " ".join(sentences)


def looks_finished(text: str) -> bool:
    """Whether a transcript reads like a complete turn (so the pause after it ends the turn)."""
    stripped = text.strip()
    if not ends_sentence(stripped) or stripped.endswith(("...", "…")):
        return False
    words = normalize_words(stripped).split()
    return bool(words) and words[-1] not in _CONTINUATIONS


def settled_words(draft: str) -> str:
    """The words of speech still going on that will not change: all but the last (it may be
    cut in the middle), without the punctuation after them (the speaker may go on)."""
    words = draft.split()[:-1]
    return " ".join(words).rstrip(",;:.!?…-—")


STOP_PHRASES = {
    "stop",
    "cancel",
    "be quiet",
    "quiet",
    "stop it",
    "stop talking",
    "shut up",
    "enough",
    "that's enough",
    "never mind",
    "nevermind",
    "hush",
    "silence",
    "okay stop",
    "ok stop",
    "please stop",
    "stop please",
    "cancel that",
}


def is_stop_command(text: str) -> bool:
    """'stop', 'cancel', 'be quiet' and the like: stop speaking, reply nothing."""
    return normalize_words(text) in STOP_PHRASES


def normalize_words(text: str) -> str:
    """Lower case, no punctuation: how transcripts are compared and matched."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " ".join(text.split())


def is_filler(text: str) -> bool:
    """True for transcripts that carry nothing to answer: fillers and whisper's noise captions."""
    if _NON_SPEECH.match(text):
        return True
    return normalize_words(text) in _FILLERS


LATIN_LANGUAGES = {
    "en", "de", "fr", "es", "it", "pt", "nl", "ca", "da", "sv", "no", "nb", "fi", "is", "pl",
    "cs", "sk", "sl", "hr", "hu", "ro", "tr", "vi", "sw", "lb", "cy", "eu", "gl", "et", "lv",
    "lt", "sq", "id", "ms",
}  # fmt: skip
"""Languages written in the Latin script: their voices cannot read other scripts."""


def readable_by(text: str, language: str) -> str:
    """Drop letters of scripts a voice of this language cannot read (a voice for English
    spells "你好" as "Chinese letter, Chinese letter"); other languages' voices keep all."""
    if re.split(r"[-_]", language)[0].lower() not in LATIN_LANGUAGES:
        return text
    kept = [
        " " if ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN") else ch
        for ch in text
    ]
    return _SPACES.sub(" ", "".join(kept)).strip()
