"""When someone tells how they feel or what happened to them: heard in their words, so that
the turn's prompt carries a short note on how to meet it (`note`), beside the persona's
general rule. The 1.5B model followed the persona's rule in three replies of four; the note,
given only to such a turn, holds it to saying back the feeling and asking one gentle
question, and keeps it from advice nobody asked for and from changing the subject.

No examples are quoted in the note: given some, the model copied their words onto news
they did not fit. What is serious (a wish to die, to harm) is not this: it never reaches the
model (`care`).
"""

from __future__ import annotations

import enum
import re


class Told(enum.Enum):
    HARD = "hard"
    """Something painful: sad, lonely, scared, angry, ashamed, grieving, worn out."""
    GLAD = "glad"
    """Good news: proud, excited, relieved."""


_ME = re.compile(r"\b(?:i|i'm|i've|i'd|i was|me|my|we|we're|we've|our|us)\b", re.I)
_HARD = re.compile(
    r"\b(?:sad|unhappy|miserable|depressed|lonely|alone|isolated|left out|"
    r"(?:feel|feeling|felt|been|so|really) (?:down|low|empty)|feels empty|"
    r"scared|afraid|frightened|terrified|nervous|worried|anxious|panick\w*|dread\w*|"
    r"angry|furious|livid|annoyed|irritated|fed up|sick of|frustrated|upset|hurt|"
    r"ashamed|embarrass\w*|humiliat\w*|guilty|a failure|a bad \w+|"
    r"terrible|awful|horrible|gutted|heartbroken|devastated|"
    r"miss(?:ing)? (?:him|her|them|my|our|home)|died|passed away|lost (?:my|our)|funeral|"
    r"would have been (?:[\w']+ ){0,3}(?:birthday|anniversary)|"
    r"put (?:\w+ ){0,2}to sleep|put down|"
    r"exhausted|worn out|knackered|drained|burnt out|burned out|overwhelmed|stressed|"
    r"(?:rough|hard|tough|bad|awful) (?:day|week|night|time|patch|year|morning)|"
    r"struggling|can't cope|can't sleep|couldn't sleep|"
    r"didn't get|did not get|failed|rejected|turned down|dumped|broke up|split up|"
    r"divorce\w*|argument|row with|fight with|fell out|laid off|made redundant|fired|"
    r"nobody|no one|no-one|by myself|on my own|so quiet|cancelled|took credit|"
    r"(?:haven't|hasn't|not|never) (?:really )?(?:talked|spoken|seen|heard from) "
    r"(?:to |with )?(?:anyone|anybody|a soul)|except (?:me|us)|but me\b|"
    r"diagnos\w*|cancer|(?:my|the) scan|in hospital|sick|ill|in pain)\b",
    re.I,
)
_GLAD = re.compile(
    r"\b(?:proud|excited|thrilled|delighted|over the moon|can't wait|cannot wait|so happy|"
    r"relieved|engaged|pregnant|expecting|grandparents?|promot\w*|got the job|got into|"
    r"passed (?:my|the|our|his|her|their)|finished (?:my|the|our)|"
    r"finally (?:did|made|finished|handed|passed|got)|handed in|won(?!')|"
    r"came back clear|all clear|went well|sober|"
    r"best day|great news|good news)\b",
    re.I,
)
_RELIEF = re.compile(r"\b(?:relieved|came back clear|all clear|went well)\b", re.I)
"""Good news that tells of something hard it ends ("the scan came back clear")."""
_ASKING = re.compile(
    r"^(?:what|which|where|when|who|whose|why|how|can|could|would|will|should|do|does|did|"
    r"is|are|am|have|has|tell me|set|remind|turn|play|please)\b",
    re.I,
)
"""A question or a request: "Why do I feel so tired?" is asked, and answered as asked."""


def told(text: str) -> Told | None:
    """Whether they told of a feeling or of what happened to them, and which kind: about
    themselves or theirs ("I", "my", "we"), not asked as a question or a request."""
    said = text.strip().replace("’", "'")
    if not said or said.endswith("?") or _ASKING.match(said):
        return None
    if not _ME.search(said):
        return None
    if _HARD.search(said):
        # "I'm so relieved, the scan came back clear": the good news is the news
        return Told.GLAD if _RELIEF.search(said) else Told.HARD
    return Told.GLAD if _GLAD.search(said) else None


NOTES = {
    Told.HARD: (
        "They have just told you something hard. In one short sentence, say back in your "
        "own words what they must be feeling; then ask one gentle question about it. Stay "
        "with it: no advice, no list of tips, no change of subject."
    ),
    Told.GLAD: (
        "They have just told you good news. Be glad with them in your own words, and ask "
        "one question about it."
    ),
}


def note(what: Told | None) -> str:
    """The turn's note for what they told ("" for anything else)."""
    return NOTES[what] if what is not None else ""
