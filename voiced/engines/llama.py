"""llama-cpp-python behind the ChatModel interface, using the chat template the GGUF carries."""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiced.config import LlmSettings
from voiced.engines import CUT_SHORT, Message
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
        return _shared_start(self._llm._input_ids.tolist(), tokens)

    def _prefix_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The tokens a chat completion of these messages starts with, up to the end of the
        last user message's text ([] when the model's chat template is not at hand)."""
        if self._one_system:
            messages = fold_system(messages)
        return _tokens_before_last_words(self._llm, self._formatter, messages)

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
                choice: Any = chunk["choices"][0]
                text = choice["delta"].get("content")
                if text:
                    yield str(text)
                if choice.get("finish_reason") == "length" or time.monotonic() > deadline:
                    yield CUT_SHORT
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


class LlamaReader:
    """A second context on the conversation's model, for reading what was said after a
    turn (the facts in it): its prompt never takes the conversation's cache, and the
    prompt's fixed start (the instruction and examples) stays in its own cache from one
    reading to the next, so only the new words are read. The weights are the
    conversation's own, lent, not loaded again (a second load cost 670 MB)."""

    def __init__(
        self, chat: LlamaChat, kept: Path | None = None, context_tokens: int = 1024
    ) -> None:
        from llama_cpp import Llama, _internals

        owner = chat._llm
        loaded = _internals.LlamaModel

        def lend(**_: Any) -> _Lent:
            return _Lent(owner._model)

        _internals.LlamaModel = lend  # type: ignore[assignment,misc]
        try:
            self._llm = Llama(
                model_path=owner.model_path,
                n_ctx=context_tokens,
                n_batch=READER_BATCH,
                n_ubatch=READER_BATCH,
                n_threads=chat._settings.threads,
                n_threads_batch=chat._settings.threads,
                verbose=False,
            )
        finally:
            _internals.LlamaModel = loaded  # type: ignore[misc]
        self._owner = owner  # the weights live as long as it does
        self._formatter = chat._formatter or _formatter(self._llm)
        self._grammars: dict[str, Any] = {}
        self._kept = kept
        """Where the reading of the prompt's fixed start is kept between processes (a
        `voiced ask` would otherwise read it again each time: 30 s on 2 cores)."""

    def reading(self, messages: Sequence[Message], grammar: str, max_tokens: int) -> LlamaReading:
        from llama_cpp import LlamaGrammar

        if grammar not in self._grammars:
            self._grammars[grammar] = LlamaGrammar.from_string(grammar, verbose=False)
        messages = fold_system(messages)
        llm = self._llm
        tokens = _tokens(llm, self._formatter(messages=messages).prompt)
        if len(tokens) + max_tokens > llm.n_ctx():
            raise ValueError(f"a reading of {len(tokens)} tokens is over the context window")
        start = _tokens_before_last_user(llm, self._formatter, messages)
        start = start[: _shared_start(start, tokens)]
        kept = self._kept_for(start)
        if kept is not None and llm.n_tokens == 0 and kept.is_file():
            self._restore(kept, start)
        save = (len(start), lambda: self._keep(kept)) if kept is not None else None
        return LlamaReading(llm, tokens, self._grammars[grammar], max_tokens, save)

    def _kept_for(self, start: list[int]) -> Path | None:
        if self._kept is None or not start:
            return None
        digest = hashlib.sha256(np.asarray(start, dtype=np.int32).tobytes()).hexdigest()[:16]
        return self._kept / f"reader-{digest}.npz"

    def _restore(self, kept: Path, start: list[int]) -> None:
        """The fixed start's reading, as kept by an earlier process (anything wrong with
        the file: it is read again, and kept again)."""
        from llama_cpp import LlamaState

        try:
            with np.load(kept) as saved:
                state = LlamaState(
                    input_ids=saved["input_ids"],
                    scores=saved["scores"],
                    n_tokens=int(saved["n_tokens"]),
                    llama_state=saved["state"].tobytes(),
                    llama_state_size=int(saved["state"].size),
                    seed=int(saved["seed"]),
                )
            if state.input_ids[: len(start)].tolist() != start:
                raise ValueError("it holds another prompt")
            self._llm.load_state(state)
        except Exception as exc:
            log.info("the kept reading %s is not used (%s)", kept, exc)
            self._llm.reset()

    def _keep(self, kept: Path | None) -> None:
        if kept is None:
            return
        try:
            state = self._llm.save_state()
            kept.parent.mkdir(parents=True, exist_ok=True)
            partial = kept.with_suffix(".partial.npz")
            np.savez(
                partial,
                input_ids=state.input_ids,
                scores=state.scores,
                n_tokens=state.n_tokens,
                state=np.frombuffer(state.llama_state, dtype=np.uint8),
                seed=state.seed,
            )
            partial.replace(kept)
        except Exception as exc:  # a read-only home, a full disk: read again next time
            log.info("the reading of the fixed prompt is not kept (%s)", exc)


READER_BATCH = 8
"""The reading context reads a few tokens at a time: its buffers are sized for that."""


class _Lent:
    """A loaded model lent to a second context: everything but closing it."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def close(self) -> None:
        pass


class LlamaReading:
    """One prompt answered by LlamaReader, a piece at a time (see Reading)."""

    def __init__(
        self,
        llm: Any,
        tokens: list[int],
        grammar: Any,
        max_tokens: int,
        save: tuple[int, Callable[[], None]] | None = None,
    ) -> None:
        self._llm = llm
        self._tokens = tokens
        self._grammar = grammar
        self._left = max_tokens
        self._answer: list[int] = []
        self._generating: Generator[int, Any, None] | None = None
        self._end = {t for t in (llm.token_eos(), llm._model.token_eot()) if t >= 0}
        self._read = self._cached()
        llm.n_tokens = self._read
        self._save = save if save is not None and self._read < save[0] else None
        """Once the prompt's fixed start is read: where it is read, and how it is kept."""
        self.text = ""

    def _cached(self) -> int:
        common = _shared_start(self._llm._input_ids.tolist(), self._tokens)
        return min(common, len(self._tokens) - 1)  # the last one is read by the answer

    def step(self) -> bool:
        llm = self._llm
        last = len(self._tokens) - 1
        if self._read < last:  # the prompt, a few tokens at a time
            end = min(self._read + PREFILL_STEP, last)
            if self._save is not None:
                end = min(end, self._save[0]) if self._read < self._save[0] else end
            llm.eval(self._tokens[self._read : end])
            self._read = end
            if self._save is not None and self._read == self._save[0]:
                self._save[1]()
                self._save = None
            return False
        if self._generating is None:
            self._generating = llm.generate(
                self._tokens, temp=0.0, top_k=1, repeat_penalty=1.0, grammar=self._grammar
            )
        token = next(self._generating, None)
        if token is None or token in self._end or self._left <= 0:
            self._generating.close()
            self.text = llm.detokenize(self._answer).decode("utf-8", "replace")
            return True
        self._answer.append(token)
        self._left -= 1
        return False


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


def _shared_start(a: Sequence[int], b: Sequence[int]) -> int:
    """How many tokens two sequences share from their start."""
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common


def _tokens(llm: Any, prompt: str) -> list[int]:
    """A formatted prompt's tokens, with the start-of-text token if the model wants one."""
    bos = [llm.token_bos()] if llm._model.add_bos_token() and llm.token_bos() >= 0 else []
    tokens: list[int] = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
    return tokens if not bos or tokens[:1] == bos else bos + tokens


def _tokens_before_last_words(llm: Any, formatter: Any, messages: Sequence[Message]) -> list[int]:
    """The tokens a chat completion of these messages starts with, up to the end of the
    last user message's text ([] when the model's chat template is not at hand)."""
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if formatter is None or not users:
        return []
    marked = list(messages[: users[-1] + 1])  # anything after it comes at the end
    marked[-1] = {**marked[-1], "content": marked[-1]["content"] + _MARK}
    prompt = formatter(messages=marked).prompt
    if _MARK not in prompt:
        return []
    return _tokens(llm, prompt[: prompt.index(_MARK)])


def _tokens_before_last_user(llm: Any, formatter: Any, messages: Sequence[Message]) -> list[int]:
    """The tokens of the prompt's fixed start: up to the last user message's text."""
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not users:
        return []
    marked = [*messages[: users[-1]], {"role": "user", "content": ""}]
    return _tokens_before_last_words(llm, formatter, marked)


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
