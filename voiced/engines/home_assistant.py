"""Home Assistant for the house: a request goes to its conversation API, and what it did
(or knows) is said in its words.

`POST /api/conversation/process` with a long-lived access token. `action_done` and
`query_answer` are answers; anything else (`no_intent_match`, `no_valid_targets`, ...) is
not, and the request is answered as before. Its `conversation_id` is kept, so its own
follow-ups work; when it asks something back (`continue_conversation`), the user's answer
goes to it whatever it sounds like ("the kitchen one"), with no wake word needed.
Blocking: run `ask` on a worker. Unreachable, slow, a refused token or a bad address is an
outage: one log line when it starts, one when it ends, and it is not asked again for
retry_s.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from voiced.config import HomeAssistantSettings
from voiced.errors import ConfigError

log = logging.getLogger(__name__)

TOKEN_ENV = "VOICED_HA_TOKEN"
UNREACHABLE = "I can't reach Home Assistant right now."
"""Said for a device command while Home Assistant cannot be reached."""
ANSWERS = ("action_done", "query_answer")

_COMMAND = re.compile(
    r"^(?:(?:hey|ok|okay|please|now|and|so)[,\s]+)*"
    r"(?:(?:can|could|would|will) you(?: please)?\s+|please\s+|i want you to\s+)?"
    r"(?:turn|switch|set|dim|brighten|open|close|lock|unlock|toggle|activate|deactivate|"
    r"start|pause|resume|arm|disarm|raise|lower)\b",
    re.IGNORECASE,
)


def looks_like_command(text: str) -> bool:
    """Whether a request reads as a device command ("turn on the living room lamp", "could
    you please set the heating to 20")."""
    return bool(_COMMAND.match(text.strip()))


@dataclass(frozen=True)
class HomeAnswer:
    speech: str | None
    """What Home Assistant said when it did or knew something (None: no intent of its)."""
    reached: bool = True
    """False: it could not be asked (an outage, or waiting to retry)."""
    goes_on: bool = False
    """It asked something back (continue_conversation): the user answers without a wake word."""


def read_token(settings: HomeAssistantSettings) -> str:
    """The access token: $VOICED_HA_TOKEN, else token_file (only its owner may read it)."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    if not settings.token_file:
        raise ConfigError(
            f"home_assistant.token_file: needed with url set (or ${TOKEN_ENV}): a file with a "
            "long-lived access token (Home Assistant: your profile → Security)"
        )
    path = Path(settings.token_file).expanduser()
    try:
        mode = path.stat().st_mode
        token = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"home_assistant.token_file: cannot read {path}: {exc.strerror}"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"home_assistant.token_file: {path} is readable by others: chmod 600 {path}"
        )
    if not token:
        raise ConfigError(f"home_assistant.token_file: {path} is empty")
    return token


class HomeAssistant:
    def __init__(self, settings: HomeAssistantSettings, token: str) -> None:
        self.settings = settings
        self._token = token
        self._conversation_id: str | None = None
        self._down_until = 0.0
        self.down_since: float | None = None
        """When the outage in progress began (monotonic; None: it answers)."""
        self.asked_back = False
        """Its last answer asked something back: the next request is its to answer."""

    def ask(self, text: str) -> HomeAnswer:
        answer = self._ask(text)
        self.asked_back = answer.goes_on
        return answer

    def _ask(self, text: str) -> HomeAnswer:
        if self.down_since is not None and time.monotonic() < self._down_until:
            return HomeAnswer(None, reached=False)
        try:
            reply = self._post(text)
        except _Unreachable as exc:
            self._outage(str(exc))
            return HomeAnswer(None, reached=False)
        if self.down_since is not None:
            log.info(
                "Home Assistant answers again after %.0f s", time.monotonic() - self.down_since
            )
            self.down_since = None
        self._conversation_id = reply.get("conversation_id") or self._conversation_id
        response = reply.get("response") or {}
        speech = ((response.get("speech") or {}).get("plain") or {}).get("speech")
        kind = response.get("response_type")
        if kind not in ANSWERS or not speech:
            code = (response.get("data") or {}).get("code", kind)
            log.debug("Home Assistant has no answer for %r (%s)", text, code)
            return HomeAnswer(None)
        log.debug("Home Assistant: %s, %r", kind, speech)
        return HomeAnswer(str(speech), goes_on=bool(reply.get("continue_conversation")))

    def _post(self, text: str) -> dict:
        body = {"text": text, "language": self.settings.language}
        if self._conversation_id:
            body["conversation_id"] = self._conversation_id
        request = urllib.request.Request(
            self.settings.url.rstrip("/") + "/api/conversation/process",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as answer:
                reply = json.loads(answer.read().decode() or "{}")
        except urllib.error.HTTPError as exc:
            why = "the token was refused (401)" if exc.code == 401 else f"HTTP {exc.code}"
            raise _Unreachable(why) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Unreachable(str(reason) or type(exc).__name__) from None
        if not isinstance(reply, dict):
            raise _Unreachable("not a conversation reply")
        return reply

    def probe(self) -> str | None:
        """Whether it can be reached with this token (`GET /api/`): None, or what is wrong."""
        request = urllib.request.Request(
            self.settings.url.rstrip("/") + "/api/",
            headers={"Authorization": f"Bearer {self._token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as answer:
                running = "API running" in answer.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return "the token was refused (401)" if exc.code == 401 else f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            return f"unreachable ({getattr(exc, 'reason', exc)})"
        return None if running else "it answers, but not as Home Assistant's API does"

    def _outage(self, why: str) -> None:
        self._down_until = time.monotonic() + self.settings.retry_s
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning(
                "Home Assistant at %s cannot be reached (%s): device commands get %r, the "
                "rest is answered here; asked again every %g s",
                self.settings.url,
                why,
                UNREACHABLE,
                self.settings.retry_s,
            )


class _Unreachable(Exception):
    pass
