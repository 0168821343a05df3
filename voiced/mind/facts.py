"""Facts in what the user says, and what they ask of the memory, by reliable patterns.

A 135M model cannot be trusted to extract facts or to recall them, so the common
statements ("my name is …", "my sister is called …", "I live in …") are read by
patterns, and the common questions about them ("what's my sister's name?") are
answered straight from memory. A larger model still gets the relevant facts in its
prompt for everything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

PEOPLE = (
    "sister|brother|mother|mom|mum|father|dad|wife|husband|partner|girlfriend|boyfriend|"
    "fiance|fiancee|son|daughter|kids|children|baby|friend|best friend|mate|best mate|"
    "flatmate|housemate|boss|grandmother|grandma|gran|granny|nan|nana|grandfather|grandpa|"
    "grandad|granddad|grandson|granddaughter|niece|nephew|aunt|uncle|cousin|neighbour|"
    "neighbor|roommate|colleague|doctor|dentist|therapist|teacher|"
    "cat|dog|puppy|kitten|tortoise|rabbit|hamster|parrot|budgie|horse|pony"
)
PEOPLE_WORDS = frozenset(PEOPLE.split("|"))
_NAME = r"([A-Z][\w'-]*(?: [A-Z][\w'-]*)?|[a-z][\w'-]*)"
_THING = r"([^.!?,]+?)"
_END = r"\s*(?:[.!?,]|$)"
_LEAD = (
    r"^(?:(?:actually|no|well|so|and|but|oh|hey|okay|ok|by the way|these days|nowadays|now"
    r"|currently|at the moment)[, ]+)*"
)
_CLAUSES = re.compile(
    r"(?<=[.!?;])\s+|,\s*(?:and\s+|but\s+)?|\s+(?:and|but)\s+(?=(?:i|my)\b)", re.I
)
"""Where one statement ends and the next may begin."""
_ASKING = r"^(?:do you (?:know|remember) )?"


@dataclass(frozen=True)
class Statement:
    kind: str
    key: str
    text: str


_LATELY = re.compile(r"\s+(?:now|these days|nowadays|at the moment)$", re.I)


def _clean(value: str) -> str:
    return _LATELY.sub("", value.strip().strip(".!?, "))


def _person(value: str) -> str:
    """What the user said, told about them: I -> the user, my -> their."""
    swaps = {
        "i": "they",
        "i'm": "they are",
        "me": "them",
        "my": "their",
        "mine": "theirs",
        "myself": "themselves",
        "am": "are",
    }
    words = value.split()
    return " ".join(swaps.get(w.lower(), w) for w in words)


_STATEMENTS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            _LEAD + r"(?:my name is|my name's|call me|i'm called|i am called) " + _NAME + _END, re.I
        ),
        "name",
    ),
    (
        re.compile(
            _LEAD + rf"my ({PEOPLE})(?:'s name)? is (?:called |named )" + _NAME + _END, re.I
        ),
        "person",
    ),
    # "my sister's name is Anna", "my sister is Anna": a name as Whisper writes one, capitalised
    (
        re.compile(
            _LEAD
            + rf"my ({PEOPLE})(?:'s name)? is (?-i:(?!I\b)([A-Z][\w'-]*(?: [A-Z][\w'-]*)?))"
            + _END,
            re.I,
        ),
        "person",
    ),
    (
        re.compile(_LEAD + rf"my ({PEOPLE})'s (?:name's |called |named )" + _NAME + _END, re.I),
        "person",
    ),
    # "my brother Jack is visiting": a name as Whisper writes one, capitalised
    (re.compile(_LEAD + rf"my ({PEOPLE}),? (?-i:(?!I\b|I')([A-Z][\w'-]+))\b", re.I), "person"),
    (re.compile(_LEAD + r"i(?: live| am living|'m living) in " + _THING + _END, re.I), "home"),
    (re.compile(_LEAD + r"my favou?rite ([\w ]+?) is " + _THING + _END, re.I), "favourite"),
    (
        re.compile(_LEAD + r"i(?: work| am working|'m working) as (?:an? )?" + _THING + _END, re.I),
        "job",
    ),
    (
        re.compile(_LEAD + r"i(?: work| am working|'m working) (?:at|for) " + _THING + _END, re.I),
        "workplace",
    ),
    (re.compile(_LEAD + r"my birthday is (?:on )?" + _THING + _END, re.I), "birthday"),
    (
        re.compile(
            _LEAD + r"i (really )?(love|like|enjoy|hate|dislike|can't stand) " + _THING + _END, re.I
        ),
        "preference",
    ),
    (re.compile(_LEAD + r"(?:please )?remember (?:that )?" + r"([^.!?]+)", re.I), "note"),
]


def statements(utterance: str) -> list[Statement]:
    """The facts stated in one utterance (usually none)."""
    found: list[Statement] = []
    for sentence in _CLAUSES.split(utterance.strip()):
        for pattern, kind in _STATEMENTS:
            match = pattern.search(sentence)
            if match is None:
                continue
            statement = statement_of(kind, [_clean(g) for g in match.groups() if g is not None])
            if statement is not None:
                found.append(statement)
                break
    return found


def statement_of(kind: str, groups: list[str]) -> Statement | None:
    if kind == "name":
        name = groups[0].title() if groups[0].islower() else groups[0]
        return Statement("name", "name", f"The user's name is {name}.")
    if kind == "person":
        relation, name = groups[0].lower(), groups[-1]
        name = name.title() if name.islower() else name
        return Statement("person", f"person:{relation}", f"The user's {relation} is called {name}.")
    if kind == "home":
        return Statement("place", "home", f"The user lives in {groups[0]}.")
    if kind == "favourite":
        what = groups[0].lower()
        return Statement(
            "preference", f"favourite:{what}", f"The user's favourite {what} is {groups[1]}."
        )
    if kind == "job":
        return Statement("work", "job", f"The user works as {_article(groups[0])}.")
    if kind == "workplace":
        return Statement("work", "workplace", f"The user works at {groups[0]}.")
    if kind == "birthday":
        return Statement("date", "birthday", f"The user's birthday is {groups[0]}.")
    if kind == "preference":
        verb, thing = groups[-2].lower(), groups[-1]
        if len(thing.split()) > 6 or thing.lower() in ("it", "that", "this", "you"):
            return None
        verbs = {"can't stand": "hates", "love": "loves", "like": "likes", "enjoy": "enjoys"}
        said = verbs.get(verb, verb + "s")
        return Statement("preference", f"likes:{thing.lower()}", f"The user {said} {thing}.")
    if kind == "note":
        note = _person(groups[0])
        return Statement("note", "", f"The user asked to remember: {note}.")
    return None


def _article(job: str) -> str:
    return (
        job
        if job.lower().startswith(("a ", "an "))
        else (f"an {job}" if job[:1].lower() in "aeiou" else f"a {job}")
    )


# --- what the user asks of the memory ------------------------------------------------------


@dataclass(frozen=True)
class MemoryRequest:
    action: str
    """recall_all, forget_last, forget_about, forget_all, or ask (a question about a key)."""
    subject: str = ""


_REQUESTS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^(?:and )?what (?:do|else do) you (?:remember|know) about me\b", re.I),
        "recall_all",
    ),
    (re.compile(r"^forget (?:about )?everything\b", re.I), "forget_all"),
    (
        re.compile(
            r"^(?:please )?forget (?:that|the fact that) "
            r"((?:i|i'm|i've|we|we're|my|our)\b.+?)[.!?]*$",
            re.I,
        ),
        "forget_fact",
    ),
    (re.compile(r"^(?:please )?forget (?:that|it|what i just said)\b", re.I), "forget_last"),
    (
        re.compile(
            r"^(?:please )?forget (?:about |what i (?:told|said to) you about |everything "
            r"(?:i (?:told|said to) you )?about |anything about )?(?:my |our )([\w' ]+?)[.!?]*$",
            re.I,
        ),
        "forget_about",
    ),
    (
        re.compile(_ASKING + rf"what(?:'s| is) my ({PEOPLE})'s name\b", re.I),
        "ask_person",
    ),
    (
        re.compile(
            _ASKING + rf"what(?:'s| is) (?:the name of )?my ({PEOPLE})(?: called)?[.!?]*$",
            re.I,
        ),
        "ask_person",
    ),
    (
        re.compile(
            _ASKING + r"(?:what(?:'s| is) my job|what do i do for (?:a living|work)"
            r"|what(?: job| work)? do i do)[.!?]*$",
            re.I,
        ),
        "ask_job",
    ),
    (
        re.compile(_ASKING + rf"who(?:'s| is) my ({PEOPLE})\b", re.I),
        "ask_person",
    ),
    (
        re.compile(
            _ASKING + r"what(?:'s| is) my name\b|^do you (?:know|remember) my name\b|^who am i\b",
            re.I,
        ),
        "ask_name",
    ),
    (
        re.compile(
            _ASKING + r"(?:where do i live|(?:which|what) (?:city|town|country|place) do i live "
            r"in(?: now| these days)?[.!?]*$)",
            re.I,
        ),
        "ask_home",
    ),
    (
        re.compile(_ASKING + r"what(?:'s| is) my favou?rite ([\w ]+?)[.!?]*$", re.I),
        "ask_favourite",
    ),
    (
        re.compile(_ASKING + r"when(?:'s| is) my birthday\b", re.I),
        "ask_birthday",
    ),
]


def memory_request(utterance: str) -> MemoryRequest | None:
    text = re.sub(r"^(?:hey |ok |okay |so |and |sam,? )+", "", utterance.strip(), flags=re.I)
    for pattern, action in _REQUESTS:
        match = pattern.search(text)
        if match is not None:
            subject = match.group(1).lower() if match.groups() else ""
            return MemoryRequest(action, subject)
    return None


NOT_TOLD = "You haven't told me that yet."
"""Said to a question about the user's own life that nothing they said answers."""

_ABOUT_ME = re.compile(
    r"^(?:(?:and|so|hey|ok|okay|now|then|sam)[, ]+)*"
    r"(?:(?:do you (?:know|remember)|can you (?:tell|remind) me|tell me|remind me) )?"
    r"(?P<rest>(?:what|which|where|when|who|whose|how old|"
    r"(?:do|did|does|am|is|are|was|were|have|has) (?:i|my|our|we)\b).*)$",
    re.I,
)
_FIRST_PERSON = re.compile(
    rf"\b(?:i|i'm|i've|my|our|ours|me|mine|we|we're|we've|us|(?:{PEOPLE})'s)\b", re.I
)
_YOU_ASKED = re.compile(
    r"^(?:what|which|where|when|who|whose|how)\b(?: \w+)? "
    r"(?:do|did|does|can|could|would|will|are|were|have|had) you\b"
    r"|^(?:do|did|does|can|could|would|will|are|were|have|had) you\b",
    re.I,
)
"""A question about the assistant, or asking it to do something ("what do you think of
my plan?", "can you help my son?")."""
_NOT_A_FACT = re.compile(
    r"\b(?:should|could|can(?!')|would|shall|might|must|ought|going to|gonna|supposed|think|"
    r"suggest|recommend|need|want|feel|feeling|mean|wrong|right|better|best|worse|"
    r"just|say|said|where was i|where were we)\b",
    re.I,
)
"""Advice, plans, feelings and the conversation itself, not facts to recall: "what should
I cook tonight?", "what am I going to do?", "what did I just say?"."""
_ONLY_ME = re.compile(rf"\b(?:i|i'm|i've|my|me|mine|(?:{PEOPLE})'s)\b", re.I)
_EVERYONE = re.compile(
    r"\b(?:planet|earth|world|universe|galaxy|solar|species|humans?|humanity|mankind|people)\b",
    re.I,
)
"""What a "we" shares with everyone: "which planet do we live on?" is not about the user."""
QUESTION_FILLER = frozenset(
    """what which where when who whose how many much long do did does am is are was were
    have has had i i'm my our we me us the a an of in on at to for now still again called name
    named tell told remember know you your about it that this there any anything something
    """.split()  # noqa: SIM905 (a list of words, read as one)
)
"""Words of a question about the user that say nothing of what it is about."""


def asks_about_user(utterance: str) -> bool:
    """A question for a fact of the user's own life ("Which instrument am I learning?",
    "What is our cat called?", "When is Mum's birthday?"); not one asking for advice, for
    something to be done, about the assistant, or about how they feel."""
    text = utterance.strip()
    match = _ABOUT_ME.match(text.rstrip(" ?.!"))
    if match is None:
        return False
    rest = match.group("rest")
    if not text.endswith("?") and rest.lower().startswith(("do", "di", "am", "is", "ar", "wa")):
        return False  # "Do I ..." said without asking
    if _EVERYONE.search(rest) and not _ONLY_ME.search(rest):
        return False  # "which planet do we live on?": all of us
    return bool(
        _FIRST_PERSON.search(rest)
        and not _YOU_ASKED.search(rest)
        and not _NOT_A_FACT.search(rest)
        and subject_words(rest)
    )


_HOW_I = re.compile(
    r"^(?:(?:and|so|hey|ok|okay|now|then)[, ]+)*"
    r"(?P<rest>how (?:do|did|does|am|are|is|was|were) (?:i|we|my|our)\b.*)$",
    re.I,
)
_LIGHT = frozenset({"get", "gets", "got", "go", "goes", "going", "went", "usually", "normally"})
"""Verbs of a "how do I ..." question that say little of what it asks ("how do I get to
work?" asks about work)."""


def how_about_me(utterance: str) -> list[str]:
    """What a "how do I ..." question would be about if it asked after the user's own ways
    ("how do I take my coffee?", "how do I get to work?"); it may as well ask how to do a
    thing ("how do I reset my router?"), so only a kept fact that names every one of
    these words makes it one (`Memory.some_fact_names`). Empty for other
    sentences."""
    match = _HOW_I.match(utterance.strip().rstrip(" ?.!"))
    if match is None or _NOT_A_FACT.search(match.group("rest")):
        return []
    return [w for w in subject_words(match.group("rest")) if w not in _LIGHT]


def could_answer(text: str, about: list[str], kind: str = "note") -> bool:
    """Whether something the user said (or a fact kept from it) may answer a question about
    these words: it names the person the question names, if any (and, if the question names
    none, it is not about someone else), and shares one of the question's other words, in
    any form, if it has any. "Their sister is called Marie." does not answer "where does my
    sister live?"; "Their sister lives in Lyon." does; "Their brother lives in Toronto." does
    not answer "which city do I live in?". kind: a kept fact's, or "note" for the user's own
    words."""
    said = {stem(w) for w in re.findall(r"[a-z0-9']+", text.lower())}
    people = people_in(about)
    rest = [w for w in about if w not in people]
    if people and not any(stem(p) in said for p in people):
        return False
    named = text.split(" ", 1)[0].lower().removesuffix("'s") in about  # "Connor ..."
    if not people and someone_elses(text, kind) and not named:
        return False
    return not rest or any(stem(w) in said for w in rest)


_SOMEONE_ELSES = re.compile(rf"^(?:The user's|Their) (?:\w+ )?(?:{PEOPLE})\b(?!'s name)", re.I)
"""A fact about someone in the user's life, not about the user."""
_NAMED_FIRST = re.compile(r"^(?!The |They |Their )[A-Z]")
"""A kept fact about someone the user named ("Connor lives in Belfast."): the model's are
about "They", the patterns' about "The user"."""


def someone_elses(fact: str, kind: str) -> bool:
    """Whether a kept fact is about someone else than the user (a note is the user's own
    words, whoever it begins with)."""
    return bool(_SOMEONE_ELSES.match(fact)) or (kind != "note" and bool(_NAMED_FIRST.match(fact)))


_IRREGULAR = {
    "grew": "grow",
    "grown": "grow",
    "went": "go",
    "gone": "go",
    "broke": "break",
    "broken": "break",
    "drove": "drive",
    "driven": "drive",
    "spoke": "speak",
    "spoken": "speak",
    "taught": "teach",
    "bought": "buy",
    "met": "meet",
    "ran": "run",
    "wrote": "write",
    "written": "write",
    "ate": "eat",
    "eaten": "eat",
    "left": "leave",
    "kept": "keep",
    "began": "begin",
    "begun": "begin",
    "flew": "fly",
    "flown": "fly",
    "moved": "move",
    "born": "birth",
}
_SAME_THING = {
    word: group[0]
    for group in (
        ("work", "job", "jobs", "career", "profession", "occupation", "works", "working"),
        ("old", "age", "aged", "turned", "turns", "turning", "turn"),
        ("home", "live", "lives", "living", "city", "town", "move", "moved"),
        ("kid", "kids", "child", "children"),
        ("diet", "vegetarian", "vegan", "meat", "eat", "eats", "eating"),
        ("car", "cars", "drive", "drives", "driving", "vehicle"),
        ("mother", "mum", "mom", "mam"),
        ("father", "dad"),
        ("grandmother", "grandma", "gran", "granny", "nan"),
        ("grandfather", "grandpa", "grandad"),
    )
    for word in group
}
"""Words that ask for the same thing ("What does my husband do for work?" is answered by
"Their husband is a chef", kept as his job)."""


def stem(word: str) -> str:
    """Enough of a word to match its forms ("lives", "live"; "learning", "learn"; "grew",
    "grow"; "job", "work")."""
    word = word.lower().removesuffix("'s")
    word = _IRREGULAR.get(word, word)
    word = _SAME_THING.get(word, word)
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]  # "runs", "run": four letters alone kept them apart
    return word[:4]


def form(word: str) -> str:
    """A word without its endings ("saturdays", "saturday"; "painting", "paint"): stricter
    than `stem`, whose four letters take "therapist" for "there's", and which takes "job"
    for the "work" in "they cycle to work"."""
    word = word.lower().removesuffix("'s")
    word = _IRREGULAR.get(word, word)
    return re.sub(r"(?<=\w{3})(?:ies|es|s|ing|ed)$", "", word)


def names_all(text: str, words: list[str]) -> bool:
    """Whether a fact names every one of a question's words, in some form of each."""
    said = {form(w) for w in re.findall(r"[a-z0-9']+", text.lower())}
    return all(form(w) in said for w in words)


SAME_SHARE = 0.75
"""Two facts whose words (any forms) overlap this much say the same thing."""


def same_fact(old: str, new: str) -> bool:
    """Whether two kept facts say the same thing ("They love tea." and "The user loves
    tea."): the same words, in any form, but the user's and the question's own."""
    a, b = ({stem(w) for w in subject_words(t) if w != "user"} for t in (old, new))
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= SAME_SHARE


def people_in(words: list[str]) -> list[str]:
    """The people (and pets) among a question's words: "brother" in "where does my brother
    live?" (what the question is about, more than "live")."""
    return [w for w in words if w in PEOPLE_WORDS]


_FOR_A_LIVING = re.compile(r"\bfor (?:a|their|his|her) living\b")
"""What someone does "for a living" is their work, not where they live."""


def subject_words(question: str) -> list[str]:
    """What a question is about: its words less the question's own ("cat" in "what is our
    cat called?")."""
    question = _FOR_A_LIVING.sub("work", question.lower())
    words = [w.removesuffix("'s") for w in re.findall(r"[a-z0-9']+", question)]
    return [w for w in words if w not in QUESTION_FILLER and len(w) > 2]


ASK_KEYS = {
    "ask_name": lambda s: "name",
    "ask_person": lambda s: f"person:{s}",
    "ask_home": lambda s: "home",
    "ask_favourite": lambda s: f"favourite:{s}",
    "ask_birthday": lambda s: "birthday",
    "ask_job": lambda s: "job",
}


_YOURS = {"me": "you", "my": "your", "mine": "yours", "our": "your", "ours": "yours"}


def spoken(fact_text: str) -> str:
    """A stored fact, said to the user: "The user's sister is called Anna." -> "Your sister
    is called Anna."; "They moved to York." -> "You moved to York." """
    # the user's own words in it ("he's older than me") are theirs: "older than you"
    text = re.sub(r"\b(?:me|my|mine|our|ours)\b", lambda m: _YOURS[m.group(0)], fact_text)
    text = re.sub(r"^The user's ", "Your ", text)
    text = re.sub(r"^The user asked to remember: ", "You asked me to remember: ", text)
    text = re.sub(r"^The user (\w+)", lambda m: "You " + _unthird(m.group(1)), text)
    for third, second in (
        (r"\bthey are\b", "you are"),
        (r"\bthey're\b", "you're"),
        (r"\bthey've\b", "you've"),
        (r"\bthey\b", "you"),
        (r"\btheir\b", "your"),
        (r"\bthemselves\b", "yourself"),
        (r"\bthem\b", "you"),
    ):
        text = re.sub(third, _in_case_of(second), text, flags=re.I)
    return text


def _in_case_of(word: str) -> Callable[[re.Match[str]], str]:
    """The word, capitalised where what it replaces was."""

    def replace(match: re.Match[str]) -> str:
        return word.capitalize() if match.group(0)[:1].isupper() else word

    return replace


def _unthird(verb: str) -> str:
    irregular = {"is": "are", "has": "have", "does": "do", "lives": "live", "works": "work"}
    if verb in irregular:
        return irregular[verb]
    return verb[:-1] if verb.endswith("s") else verb
