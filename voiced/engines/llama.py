"""llama-cpp-python behind the ChatModel interface, using the chat template the GGUF carries."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from voiced.config import LlmSettings
from voiced.engines import Message
from voiced.engines.whisper import FETCH_HINT
from voiced.errors import ModelError
from voiced.models import manifest

log = logging.getLogger(__name__)


class LlamaChat:
    def __init__(self, settings: LlmSettings, model_path: Path) -> None:
        from llama_cpp import Llama

        entry = manifest.for_file(model_path)
        hint = entry.fetch_hint() if entry is not None else FETCH_HINT
        if not model_path.is_file():
            raise ModelError(f"language model not found: {model_path}; {hint}")
        with model_path.open("rb") as handle:
            if handle.read(4) != b"GGUF":
                raise ModelError(f"language model {model_path} is not a GGUF file; {hint}")
        self._settings = settings
        self._one_system = False
        """The model's chat template takes a system message only at the start."""
        self._formatter: Any = None
        """The model's own chat template, to know a prompt's tokens before it is asked."""
        try:
            self._llm = Llama(
                model_path=str(model_path),
                n_ctx=settings.context_tokens,
                n_threads=settings.threads,
                n_threads_batch=settings.threads,
                verbose=False,
            )
        except Exception as exc:
            raise ModelError(
                f"language model {model_path} cannot be loaded ({exc}); {hint}"
            ) from None
        self._formatter = _formatter(self._llm)

    def reconfigure(self, settings: LlmSettings) -> None:
        """New sampling settings (a config reload); the model itself stays loaded."""
        self._settings = settings

    def prefill(
        self, messages: Sequence[Message], should_stop: Callable[[], bool] = lambda: False
    ) -> int:
        """Read the start of a prompt into the model's cache ahead of the turn: the prompt as
        it will be, up to the user's words so far (not their end nor
        the reply's header). Only what the cache does not hold yet is read; the next
        prompt that starts the same way reads only the rest; should_stop() true: it stops
        between a few tokens and the next (a turn wants the model). Returns the tokens read."""
        tokens = self._prefix_tokens(messages)
        if not tokens:
            return 0
        common = self._cached(tokens)
        if common >= len(tokens):
            return 0
        self._llm.n_tokens = common
        read = common
        while read < len(tokens) and not should_stop():
            self._llm.eval(tokens[read : read + PREFILL_STEP])
            read += PREFILL_STEP
        return min(read, len(tokens)) - common

    def _cached(self, tokens: list[int]) -> int:
        """How many of these tokens, from the start, the model's cache holds."""
        common = 0
        for cached, token in zip(self._llm._input_ids.tolist(), tokens, strict=False):
            if cached != token:
                break
            common += 1
        return common

    def _prefix_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The tokens a chat completion of these messages starts with, up to the end of the
        last user message's text ([] when the model's chat template is not at hand)."""
        users = [i for i, m in enumerate(messages) if m["role"] == "user"]
        if self._formatter is None or not users:
            return []
        marked = list(messages[: users[-1] + 1])  # anything after it comes at the end
        marked[-1] = {**marked[-1], "content": marked[-1]["content"] + _MARK}
        if self._one_system:
            marked = fold_system(marked)
        prompt = self._formatter(messages=marked).prompt
        if _MARK not in prompt:
            return []
        text = prompt[: prompt.index(_MARK)]
        llm = self._llm
        bos = [llm.token_bos()] if llm._model.add_bos_token() and llm.token_bos() >= 0 else []
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if bos and tokens[:1] == bos:
            bos = []
        return bos + tokens

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _chat(self, messages: Sequence[Message], **options: Any) -> Any:
        """create_chat_completion; a chat template that allows a system message only at the
        start gets the later ones folded into the first (then the persona's cache is lost
        whenever they change, but the model works)."""
        from jinja2 import TemplateError

        messages = list(messages)
        while True:
            if self._one_system:
                messages = fold_system(messages)
            try:
                return self._llm.create_chat_completion(messages=messages, **options)  # type: ignore[arg-type]
            except TemplateError:
                if self._one_system or fold_system(messages) == messages:
                    raise
                self._one_system = True
            except ValueError as exc:
                # The prompt's cost was estimated short (templates differ): drop the oldest
                # exchange and try again, rather than fail the turn.
                if "context window" not in str(exc) or not _drop_oldest_exchange(messages):
                    raise
                log.warning("prompt over the context window: the oldest exchange dropped")

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        s = self._settings
        deadline = time.monotonic() + s.deadline_s
        options = {
            "stream": True,
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "top_k": s.top_k,
            "repeat_penalty": s.repeat_penalty,
            "stop": s.stop,
        }
        prompt = list(messages)
        if log.isEnabledFor(logging.DEBUG) and self._formatter is not None:
            text = self._formatter(messages=prompt).prompt
            tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            cached = self._cached(tokens)
            log.debug(
                "prompt: %d tokens, %d new: %r",
                len(tokens),
                len(tokens) - cached,
                self._llm.detokenize(tokens[cached:]).decode("utf-8", "replace")[:200],
            )
        while True:  # a streamed prompt is checked against the window on the first chunk
            chunks = self._chat(prompt, **options)
            try:
                first = [next(chunks)]
            except StopIteration:
                first = []
            except ValueError as exc:
                chunks.close()
                if "context window" not in str(exc) or not _drop_oldest_exchange(prompt):
                    raise
                log.warning("prompt over the context window: the oldest exchange dropped")
                continue
            break
        try:
            for chunk in itertools.chain(first, chunks):
                delta: Any = chunk["choices"][0]["delta"]
                text = delta.get("content")
                if text:
                    yield str(text)
                if time.monotonic() > deadline:
                    break
        finally:
            chunks.close()

    def complete(self, messages: Sequence[Message], max_tokens: int) -> str:
        """The whole reply, greedily decoded (for reading facts, not for talking)."""
        reply = self._chat(
            messages,
            max_tokens=max_tokens,
            temperature=0.0,
            repeat_penalty=1.0,
        )
        return str(reply["choices"][0]["message"]["content"] or "")


PREFILL_STEP = 4
"""Tokens read at a time ahead of a turn: a turn that wants the model waits at most this
long, and the transcription of its last words shares the cores with it as long (measured
on 2 cores with the 1.5B: 4 tokens 90-110 ms a step, 8 tokens 220 ms; 23-28 ms a token
either way)."""

_MARK = "\u2063\u2063"
"""Put after a prompt's last text to find where it ends in the formatted prompt."""


def _formatter(llm: Any) -> Any:
    """The GGUF's chat template as llama-cpp-python formats it (None: it has none)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        return None

    def text(token: int) -> str:
        return str(llm._model.token_get_text(token)) if token != -1 else ""

    return Jinja2ChatFormatter(template, text(llm.token_eos()), text(llm.token_bos()))


def fold_system(messages: Sequence[Message]) -> list[Message]:
    """Every system message's text moved into the first one."""
    system = [m["content"] for m in messages if m["role"] == "system"]
    rest = [m for m in messages if m["role"] != "system"]
    return [{"role": "system", "content": "\n\n".join(system)}, *rest] if system else rest


def _drop_oldest_exchange(messages: list[Message]) -> bool:
    """Remove the first user + assistant pair after the system message (in place)."""
    for i in range(len(messages) - 2):
        if messages[i]["role"] == "user" and messages[i + 1]["role"] == "assistant":
            del messages[i : i + 2]
            return True
    return False
