"""When it is serious: someone who says they want to die, or to hurt themselves or someone
else. Heard in their words, directly ("I want to kill myself") or not ("everyone would be
better off without me", "I don't want to be here anymore"), and answered with a serious, kind
reply that stays with them and says plainly that talking to a person now matters, with the
crisis line the user configured (`[companion] crisis_line`). Never left to a small model that
answered "Sometimes I think everyone would be better off without me." with "That's a thought."

The words are matched, not judged by a model: a miss here costs far more than a kind reply
to a sentence that did not need it, and the patterns leave out the everyday figures of
speech ("I'm dying to see it", "this heat is killing me", "I could kill for a coffee").
"""

from __future__ import annotations

import enum
import re


class Risk(enum.Enum):
    SELF = "self"
    """They may harm themselves, or want to die."""
    OTHERS = "others"
    """They may harm someone else."""


_SELF = re.compile(
    r"\b(?:"
    r"kill(?:ing)? myself|end(?:ing)? my (?:own )?life|take my (?:own )?life|"
    r"end (?:it all|things|everything)|"
    r"(?:hurt|harm|cut|cutting|hurting|harming) myself|self[- ]harm(?:ing)?|suicidal|"
    r"(?:think|thinking|thought|considering|considered|contemplating|attempt|attempted|"
    r"attempting|commit|committing) (?:about |of )?suicide|"
    r"(?:want|wanna|wanted|going|ready|wish I could|wish to) (?:to )?(?:just )?die|"
    r"wish (?:I|i) (?:was|were|had been) (?:dead|never born)|"
    r"wish (?:I|i) (?:wasn't|weren't|was not|were not) (?:here|alive|around)|"
    r"better off (?:without me|if I (?:was|were|wasn't|weren't) (?:gone|here|dead|around))|"
    r"(?:don't|do not|never) want to (?:be here|be alive|live|wake up|exist)(?: any ?more)?|"
    r"no (?:reason|point) (?:to|in) (?:live|living|go on|going on|being alive|being here)|"
    r"nothing (?:left )?to live for|"
    r"can't (?:go on|do this) (?:any ?more|like this)|"
    r"(?:not|no longer) want to be (?:here|alive|around)"
    r")\b",
    re.I,
)
_OTHERS = re.compile(
    r"\b(?:want|wanna|going|gonna|planning|plan|about) (?:to )?"
    r"(?:kill|hurt|stab|shoot|strangle|beat up|harm) "
    r"(?:him|her|them|someone|somebody|people|everyone|my \w+|the \w+)\b",
    re.I,
)
_NOT_SO = re.compile(
    r"\b(?:don't|do not|never|wouldn't|would not|won't|will not|didn't|not going|not)"
    r"(?: \w+){0,2} $",
    re.I,
)
"""Said just before: "I would never hurt myself", "I don't want to die" (fear, not intent);
a pattern that holds its own negation ("I don't want to live anymore") is not undone by it."""


def at_risk(text: str) -> Risk | None:
    """Whether what was said tells of a wish to die or to harm oneself or someone else."""
    said = text.replace("’", "'")
    for pattern, risk in ((_SELF, Risk.SELF), (_OTHERS, Risk.OTHERS)):
        for found in pattern.finditer(said):
            if not _NOT_SO.search(said[: found.start()]):
                return risk
    return None


def crisis_reply(risk: Risk, crisis_line: str) -> str:
    """A serious, kind reply that stays with them and points to a person, now."""
    line = crisis_line.strip().rstrip(".")
    if risk is Risk.SELF:
        reach = (
            f"Please talk to someone right now: you can call {line}, any time."
            if line
            else "Please talk to a person right now: someone you trust, a doctor, or your "
            "local emergency number if you might act on it."
        )
        return (
            "I'm really glad you told me, and I'm so sorry you're hurting this much. "
            f"You matter. {reach} I'm here with you. Are you safe right now?"
        )
    reach = (
        f"Please talk to someone right now: you can call {line}."
        if line
        else "Please talk to a person right now, and call your local emergency number if "
        "anyone is in danger."
    )
    return (
        "That sounds like a lot of anger and pain. Please don't act on it: step away if you "
        f"can. {reach} I'm here. What's happening?"
    )
