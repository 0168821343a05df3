"""Settings: frozen dataclasses filled from layered TOML files, strictly validated.

Layers, later wins: the defaults shipped in config/voiced.toml, then
/etc/voiced/voiced.toml, then $XDG_CONFIG_HOME/voiced/voiced.toml, then the
file given with --config. Every problem is reported as `FILE: key: problem`.
"""

from __future__ import annotations

import math
import os
import types
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomllib

from voiced.errors import ConfigError
from voiced.models import manifest
from voiced.models.wake_words import WAKE_WORDS

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = ROOT / "config" / "voiced.toml"
DEFAULT_MODELS_DIR = ROOT / "models"


@dataclass(frozen=True)
class AudioSettings:
    input_device: str = ""
    """Microphone, by (part of) its name as `voiced devices` lists it; empty for the default."""
    output_device: str = ""
    """Speaker, by (part of) its name; empty for the default."""
    frame_ms: int = 30
    """VAD frame length: 10, 20 or 30 ms."""
    queue_frames: int = 200
    """Frames the capture queue holds before it counts overflows and drops."""
    half_duplex: bool = False
    """Ignore the microphone while speaking (no barge-in); for rooms where echo
    cancellation is not enough."""
    echo_cancel: bool = True
    """Subtract the assistant's own voice from the microphone (WebRTC AEC3)."""
    echo_delay_ms: int = 0
    """Hint for the echo canceller: speaker-to-microphone delay; 0 lets it estimate."""
    echo_tail_ms: int = 300
    """With half_duplex: how long the microphone stays deaf after the assistant stops."""

    def check(self) -> list[tuple[str, str]]:
        problems = []
        if self.frame_ms not in (10, 20, 30):
            problems.append(("frame_ms", "must be 10, 20 or 30"))
        if self.queue_frames < 10:
            problems.append(("queue_frames", "must be at least 10"))
        if not 0 <= self.echo_delay_ms <= 1000:
            problems.append(("echo_delay_ms", "must be between 0 and 1000"))
        if self.echo_tail_ms < 0:
            problems.append(("echo_tail_ms", "must not be negative"))
        return problems


@dataclass(frozen=True)
class VadSettings:
    aggressiveness: int = 3
    """webrtcvad mode, 0 (lenient) to 3 (strict)."""
    start_frames: int = 3
    """Voiced frames in a row that start an utterance."""
    end_silence_ms: int = 600
    """Trailing silence that ends an utterance."""
    pause_ms: int = 150
    """A silence this long inside speech starts transcription early; if the words look
    like a finished turn, the turn ends there instead of waiting for end_silence_ms.
    0 turns this off."""
    preroll_ms: int = 300
    """Audio kept from before the start so the first syllable is not lost."""
    min_speech_ms: int = 200
    """Utterances with less voiced audio than this are ignored (clicks, coughs)."""
    max_utterance_s: float = 20.0
    """An utterance is cut here even if the speaker goes on."""
    turn_model: str = "smart-turn/smart-turn-v3.2-cpu.onnx"
    """The end-of-turn judge (Smart Turn v3): on each pause it hears whether the speaker
    sounds finished. "" = off: the words and end_silence_ms alone decide."""
    finished_above: float = 0.5
    """The judge's probability above which the speaker sounds finished."""
    unfinished_silence_ms: int = 1200
    """With the judge on: a pause that sounds unfinished (a speaker thinking) ends the turn
    only after this much silence; one that sounds finished ends it at once if the words
    read finished, else after unsure_silence_ms."""
    unsure_silence_ms: int = 1000
    """With the judge on: a pause that sounds finished but whose words do not read finished
    (no end mark: "The child", "turn on the") ends the turn after this much silence (at
    least end_silence_ms). The judge hears a falling voice before many a mid-sentence
    pause; at 600 ms a quick reply cut off 9 of 12 speakers pausing 900 ms."""

    def check(self) -> list[tuple[str, str]]:
        problems = []
        if not 0 <= self.aggressiveness <= 3:
            problems.append(("aggressiveness", "must be between 0 and 3"))
        if self.start_frames < 1:
            problems.append(("start_frames", "must be at least 1"))
        if self.end_silence_ms < 30:
            problems.append(("end_silence_ms", "must be at least 30"))
        if self.pause_ms < 0:
            problems.append(("pause_ms", "must not be negative (0 turns early ends off)"))
        if self.preroll_ms < 0:
            problems.append(("preroll_ms", "must not be negative"))
        if self.min_speech_ms < 0:
            problems.append(("min_speech_ms", "must not be negative"))
        if self.max_utterance_s <= 1:
            problems.append(("max_utterance_s", "must be more than 1 second"))
        if not 0 < self.finished_above < 1:
            problems.append(("finished_above", "must be between 0 and 1"))
        if self.unsure_silence_ms < 0:
            problems.append(("unsure_silence_ms", "must not be negative"))
        if self.unfinished_silence_ms < self.end_silence_ms:
            problems.append(("unfinished_silence_ms", "must be at least end_silence_ms"))
        return problems


@dataclass(frozen=True)
class SttSettings:
    model: str = "whisper-tiny.en"
    """A faster-whisper (CTranslate2) model directory; relative paths are under models/."""
    language: str = "en"
    compute_type: str = "int8"
    beam_size: int = 1
    threads: int = 2
    no_speech_threshold: float = 0.5
    """Segments whisper thinks are this likely not speech are dropped."""
    logprob_threshold: float = -0.5
    """…when their average log-probability is also below this."""
    short_window: bool = True
    """Encode only the audio there is (plus padding), not a 30 s window: about three times
    quicker; a doubtful result (unsure, repeating itself) is made again the usual way."""
    backend: str = "local"
    """"local", or "wyoming": a Wyoming speech-to-text server at uri (such as
    wyoming-faster-whisper), with the local model as the fallback."""
    uri: str = ""
    """The Wyoming server: tcp://HOST:PORT or unix://PATH."""
    timeout_s: float = 10.0
    retry_s: float = 30.0
    """After the remote failed, the local model serves; the remote is tried again after this."""

    def check(self) -> list[tuple[str, str]]:
        problems = []
        if self.beam_size < 1:
            problems.append(("beam_size", "must be at least 1"))
        if self.threads < 1:
            problems.append(("threads", "must be at least 1"))
        if not 0 < self.no_speech_threshold <= 1:
            problems.append(("no_speech_threshold", "must be in (0, 1]"))
        return problems + _check_wyoming(self.backend, self.uri, self.timeout_s, self.retry_s)


PERSONA = (
    "You are {name}, a warm and friendly voice assistant talking with a person out loud. "
    "Answer in one or two short, natural sentences, as people speak. Never use lists, "
    "markdown, emoji or code. You are only a voice: you have no way to move, control "
    "devices, call, send messages, play music, buy things or go online, so never claim that "
    "you did or will do any of that; asked to, say you can't do that yet. Asked for ideas "
    "or advice, give them. When someone tells you how they feel or what happened to them, "
    "first say back in your own warm words what they must be feeling, then ask one gentle "
    "question about it; stay with what they said, and give no advice unless they ask. Share "
    "good news gladly. If you do not know something, say so briefly. When asked for a "
    "story, a poem or a joke, tell a short one gladly."
)


@dataclass(frozen=True)
class LlmSettings:
    model: str = "standard"
    """A named model from models/manifest.toml ("standard": Qwen2.5 1.5B, the default;
    "small": SmolLM2-135M, for little memory) or a GGUF chat model's path; relative paths
    are under models/. Its own chat template is used."""
    persona: str = PERSONA
    """Who the model is; {name} stands for the assistant's name ([activation] name)."""
    context_tokens: int = 2048
    max_tokens: int = 60
    max_sentences: int = 2
    """Spoken replies stop after this many sentences."""
    temperature: float = 0.1
    top_p: float = 0.8
    top_k: int = 20
    repeat_penalty: float = 1.05
    deadline_s: float = 10.0
    """Generation stops here whatever the model is doing."""
    threads: int = 2
    stop: list[str] = field(
        default_factory=lambda: ["<|im_end|>", "<|endoftext|>", "\nUser:", "\nuser:"]
    )
    backend: str = "local"
    """"local" (the GGUF model) or "openai": an OpenAI-compatible server (llama.cpp's
    server, Ollama, vLLM) at url, with the local model as the fallback."""
    url: str = ""
    """The remote server's base URL, e.g. http://192.168.1.20:8080/v1."""
    remote_model: str = ""
    """The model name the remote server knows (llama.cpp's server takes any)."""
    api_key: str = ""
    """Sent as a bearer token when set ($VOICED_LLM_API_KEY also works)."""
    connect_timeout_s: float = 2.0
    retry_s: float = 30.0
    """After the remote failed, the local model answers; the remote is tried again after this."""

    def check(self) -> list[tuple[str, str]]:
        problems = []
        if manifest.is_name(self.model) and self.model not in manifest.language_models():
            names = ", ".join(f'"{n}"' for n in manifest.language_models())
            problems.append(("model", f"must be a named model ({names}) or a .gguf file's path"))
        if self.context_tokens < 256:
            problems.append(("context_tokens", "must be at least 256"))
        if not 1 <= self.max_tokens < self.context_tokens // 2:
            problems.append(("max_tokens", "must be at least 1 and under half of context_tokens"))
        if self.max_sentences < 1:
            problems.append(("max_sentences", "must be at least 1"))
        if not 0 <= self.temperature <= 2:
            problems.append(("temperature", "must be between 0 and 2"))
        if not 0 < self.top_p <= 1:
            problems.append(("top_p", "must be in (0, 1]"))
        if self.deadline_s <= 0:
            problems.append(("deadline_s", "must be positive"))
        if self.threads < 1:
            problems.append(("threads", "must be at least 1"))
        problems += _check_remote(self.backend, "openai", "url", self.url, ("http://", "https://"))
        if self.backend == "openai" and not self.remote_model:
            problems.append(("remote_model", 'must name the remote model with backend = "openai"'))
        if self.connect_timeout_s <= 0:
            problems.append(("connect_timeout_s", "must be positive"))
        if self.retry_s < 0:
            problems.append(("retry_s", "must be 0 or more"))
        return problems


def _check_remote(
    backend: str, remote: str, key: str, address: str, schemes: tuple[str, ...]
) -> list[tuple[str, str]]:
    """A backend is "local" or the one remote kind; a remote one needs an address."""
    if backend not in ("local", remote):
        return [("backend", f'must be "local" or "{remote}"')]
    if backend == remote and not address.startswith(schemes):
        return [(key, f'must start with {" or ".join(schemes)} with backend = "{remote}"')]
    return []


def _check_wyoming(
    backend: str, uri: str, timeout_s: float, retry_s: float
) -> list[tuple[str, str]]:
    problems = _check_remote(backend, "wyoming", "uri", uri, ("tcp://", "unix://"))
    if timeout_s <= 0:
        problems.append(("timeout_s", "must be positive"))
    if retry_s < 0:
        problems.append(("retry_s", "must be 0 or more"))
    return problems


@dataclass(frozen=True)
class TtsSettings:
    voice: str = "piper/en_US-joe-medium.onnx"
    """A Piper voice (.onnx with its .onnx.json beside it); relative paths are under models/."""
    length_scale: float = 1.0
    """Speaking pace: above 1 is slower, below 1 faster."""
    volume: float = 1.0
    threads: int = 2
    backend: str = "local"
    """"local", or "wyoming": a Wyoming text-to-speech server at uri (such as
    wyoming-piper), with the local voice as the fallback."""
    uri: str = ""
    """The Wyoming server: tcp://HOST:PORT or unix://PATH."""
    timeout_s: float = 10.0
    retry_s: float = 30.0
    """After the remote failed, the local model serves; the remote is tried again after this."""
    remote_voice: str = ""
    """The voice the remote server should use; "" = its default."""

    def check(self) -> list[tuple[str, str]]:
        problems = []
        if not 0.3 <= self.length_scale <= 3:
            problems.append(("length_scale", "must be between 0.3 and 3"))
        if not 0 <= self.volume <= 4:
            problems.append(("volume", "must be between 0 and 4"))
        if self.threads < 1:
            problems.append(("threads", "must be at least 1"))
        return problems + _check_wyoming(self.backend, self.uri, self.timeout_s, self.retry_s)


@dataclass(frozen=True)
class PipelineSettings:
    sequential: bool = False
    """Every overlap off: wait for the end of the turn, then transcribe, then write the
    whole reply, then synthesise it all, then play. The baseline `voiced bench` compares to."""
    first_clause_words: int = 4
    """The first piece of a reply may end at a comma once it has this many words; 0: never."""

    def check(self) -> list[tuple[str, str]]:
        if self.first_clause_words < 0:
            return [("first_clause_words", "must not be negative")]
        return []


@dataclass(frozen=True)
class MemorySettings:
    facts: bool = True
    """Remember what the user tells about themselves ($XDG_STATE_HOME/voiced/memory.db)."""
    budget_tokens: int = 200
    """At most this much of the prompt goes to remembered facts."""
    llm_facts: bool = True
    """The language model reads every turn for facts (after the reply, when no turn needs
    it). Only with a model that can (`reads_facts` in models/manifest.toml: not `small`)."""
    embeddings: bool = True
    """Find remembered facts by meaning as well as by their words (a small sentence
    embedding model, models/minilm)."""
    history_days: float = 0.0
    """Keep the conversation itself this many days, so it carries on after a restart;
    0: it is forgotten when voiced stops (the facts stay either way)."""

    def check(self) -> list[tuple[str, str]]:
        problems = []
        if self.budget_tokens < 0:
            problems.append(("budget_tokens", "must not be negative"))
        if self.history_days < 0:
            problems.append(("history_days", "must not be negative (0 = off)"))
        return problems


@dataclass(frozen=True)
class AffectSettings:
    enabled: bool = True
    """Notice how the user sounds (voice and words) and answer in a fitting tone and pace."""

    def check(self) -> list[tuple[str, str]]:
        return []


@dataclass(frozen=True)
class CompanionSettings:
    crisis_line: str = ""
    """Who to call when someone says they want to die or to hurt someone, as it is to be
    said ("Samaritans on 116 123"). Empty: it says to talk to someone they trust, a doctor,
    or the local emergency number; a number is not guessed from the locale, since a wrong
    one, said at that moment, is worse than none."""

    def check(self) -> list[tuple[str, str]]:
        if len(self.crisis_line) > 200:
            return [("crisis_line", "must be a short phrase to be said aloud")]
        return []


ACTIVATION_MODES = ("conversation", "wake", "ptt")
WAKE_SOURCES = ("acoustic", "transcript")
DEFAULT_NAME = "Sam"


@dataclass(frozen=True)
class ActivationSettings:
    mode: str = "conversation"
    """conversation: any speech is for the assistant; wake: only what follows its wake word
    ("hey jarvis, ..."), and follow-ups; ptt: only what is said while push-to-talk is held."""
    wake_word: str | list[str] = "hey_jarvis"
    """In wake mode, the wake word model(s) listening to the microphone: hey_jarvis,
    hey_mycroft, okay_nabu or alexa (several: a list). Nothing is transcribed before one."""
    wake_source: str = "acoustic"
    """acoustic: the wake word models; transcript: every utterance is transcribed and must
    begin with the assistant's name (for a name no model exists for)."""
    name: str = ""
    """The assistant's name (empty: the wake word's, "Jarvis"; "Sam" without one). With
    wake_source = "transcript" the wake phrase is "hey NAME", "ok NAME" or just "NAME"."""
    wake_phrases: list[str] = field(default_factory=list)
    """With wake_source = "transcript": more phrases that wake it (say, how Whisper tends
    to spell its name)."""
    follow_up_s: float = 8.0
    """After a reply, speech starting within this many seconds needs no wake phrase."""
    acknowledgement: str = "Yes?"
    """Said when the wake phrase comes alone; the next utterance is the request."""
    skills: bool = True
    """Answer the time, timers, reminders, volume and the like exactly, without the LLM."""

    def check(self) -> list[tuple[str, str]]:
        problems = []
        if self.mode not in ACTIVATION_MODES:
            problems.append(("mode", f"must be one of {', '.join(ACTIVATION_MODES)}"))
        for word in self.wake_words:
            if word not in WAKE_WORDS:
                problems.append(("wake_word", f"{word!r} is not one of {', '.join(WAKE_WORDS)}"))
        if not self.wake_words:
            problems.append(("wake_word", "must name at least one wake word"))
        if self.wake_source not in WAKE_SOURCES:
            problems.append(("wake_source", f"must be one of {', '.join(WAKE_SOURCES)}"))
        if self.follow_up_s < 0:
            problems.append(("follow_up_s", "must not be negative (0 = no follow-ups)"))
        return problems

    @property
    def wake_words(self) -> list[str]:
        """The wake word models listened for."""
        words = [self.wake_word] if isinstance(self.wake_word, str) else self.wake_word
        return list(dict.fromkeys(words))

    @property
    def acoustic(self) -> bool:
        """Whether nothing is heard before a wake word model fires."""
        return self.mode == "wake" and self.wake_source == "acoustic"

    @property
    def spoken_name(self) -> str:
        """The name it answers to: as configured, else its wake word's."""
        if self.name.strip():
            return self.name.strip()
        if self.acoustic and self.wake_words and self.wake_words[0] in WAKE_WORDS:
            return WAKE_WORDS[self.wake_words[0]].split()[-1]
        return DEFAULT_NAME


HOME_PREFER = ("commands", "home")


@dataclass(frozen=True)
class HomeAssistantSettings:
    url: str = ""
    """Home Assistant, for the house ("http://homeassistant.local:8123"); "" = off."""
    token_file: str = ""
    """A file (mode 0600) holding a long-lived access token; $VOICED_HA_TOKEN also works."""
    language: str = "en"
    timeout_s: float = 5.0
    """How long a request may take before Home Assistant counts as unreachable."""
    retry_s: float = 30.0
    """After an outage, how long before it is asked again."""
    prefer: str = "commands"
    """commands: only requests that look like device commands go to it first; home: every
    request does (what it has no intent for is answered as before)."""

    def check(self) -> list[tuple[str, str]]:
        problems = []
        if self.url and not self.url.startswith(("http://", "https://")):
            problems.append(("url", "must start with http:// or https:// (or be empty: off)"))
        if self.prefer not in HOME_PREFER:
            problems.append(("prefer", f"must be one of {', '.join(HOME_PREFER)}"))
        if not 0 < self.timeout_s <= 60:
            problems.append(("timeout_s", "must be in (0, 60]"))
        if self.retry_s < 0:
            problems.append(("retry_s", "must not be negative"))
        return problems


@dataclass(frozen=True)
class WyomingSettings:
    uri: str = "tcp://127.0.0.1:10700"
    """Where `voiced serve` serves Wyoming (Home Assistant's voice protocol):
    tcp://HOST:PORT or unix://PATH."""
    lan: bool = False
    """Allow a non-loopback address (the LAN). Off: loopback and Unix sockets only."""
    satellite_uri: str = ""
    """Where `voiced serve` is also a Wyoming satellite (voiced's microphone and speaker,
    Home Assistant's pipeline), e.g. tcp://127.0.0.1:10701; "" = not a satellite."""

    def check(self) -> list[tuple[str, str]]:
        problems = [("uri", problem) for problem in wyoming_address_problems(self.uri, self.lan)]
        if self.satellite_uri:
            found = wyoming_address_problems(self.satellite_uri, self.lan)
            problems += [("satellite_uri", problem) for problem in found]
        return problems


def wyoming_address_problems(uri: str, lan: bool) -> list[str]:
    """What is wrong with an address to serve Wyoming on (nothing: an empty list)."""
    from urllib.parse import urlparse

    parsed = urlparse(uri)
    if parsed.scheme not in ("tcp", "unix"):
        return ["must be tcp://HOST:PORT or unix://PATH"]
    if parsed.scheme == "tcp":
        try:
            port = parsed.port
        except ValueError:
            port = None
        if not parsed.hostname or port is None:
            return ["needs a host and a port: tcp://HOST:PORT"]
        if not lan and parsed.hostname not in LOOPBACK:
            return ["is not loopback: set lan = true to listen on the LAN"]
    return []


LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class ServiceSettings:
    control_socket: bool = True
    """Serve the control socket ($XDG_RUNTIME_DIR/voiced/control.sock) while running."""
    metrics_port: int = 0
    """Prometheus metrics on http://127.0.0.1:PORT/metrics; 0: off. The units allow only
    Unix sockets: add AF_INET to RestrictAddressFamilies= in a drop-in to use it."""

    def check(self) -> list[tuple[str, str]]:
        if not 0 <= self.metrics_port <= 65535:
            return [("metrics_port", "must be 0 (off) or a TCP port, 1-65535")]
        return []


@dataclass(frozen=True)
class Settings:
    audio: AudioSettings = field(default_factory=AudioSettings)
    vad: VadSettings = field(default_factory=VadSettings)
    stt: SttSettings = field(default_factory=SttSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    memory: MemorySettings = field(default_factory=MemorySettings)
    affect: AffectSettings = field(default_factory=AffectSettings)
    companion: CompanionSettings = field(default_factory=CompanionSettings)
    activation: ActivationSettings = field(default_factory=ActivationSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    wyoming: WyomingSettings = field(default_factory=WyomingSettings)
    home_assistant: HomeAssistantSettings = field(default_factory=HomeAssistantSettings)
    models_dir: Path = DEFAULT_MODELS_DIR

    def model_path(self, name: str) -> Path:
        path = Path(name).expanduser()
        return path if path.is_absolute() else self.models_dir / path

    @property
    def llm_path(self) -> Path:
        """The language model's file: a named model's place under models/, or the path."""
        entry = manifest.named(self.llm.model)
        return self.model_path(entry.main_file if entry is not None else self.llm.model)

    @property
    def persona(self) -> str:
        """The persona, with the assistant's name in it."""
        return self.llm.persona.replace("{name}", self.activation.spoken_name)


SECTIONS: dict[str, type] = {
    "audio": AudioSettings,
    "vad": VadSettings,
    "stt": SttSettings,
    "llm": LlmSettings,
    "tts": TtsSettings,
    "pipeline": PipelineSettings,
    "memory": MemorySettings,
    "affect": AffectSettings,
    "companion": CompanionSettings,
    "activation": ActivationSettings,
    "service": ServiceSettings,
    "wyoming": WyomingSettings,
    "home_assistant": HomeAssistantSettings,
}


def _type_ok(value: Any, annotation: Any) -> bool:
    hint = annotation if not isinstance(annotation, str) else eval(annotation, vars(typing))  # noqa: S307
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_type_ok(v, item) for v in value)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, arm) for arm in typing.get_args(hint))
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(annotation: Any) -> str:
    return {
        "str": "a string",
        "int": "an integer",
        "float": "a number",
        "bool": "true or false",
        "list[str]": "a list of strings",
        "str | list[str]": "a string or a list of strings",
    }.get(str(annotation), str(annotation))


def merge_layer(settings: Settings, data: dict[str, Any], source: str) -> Settings:
    """Apply one parsed TOML layer; raise ConfigError listing every problem in it."""
    problems: list[str] = []
    changes: dict[str, Any] = {}
    for section, table in data.items():
        if section == "models_dir":
            if isinstance(table, str):
                changes["models_dir"] = Path(table).expanduser()
            else:
                problems.append(f"{source}: models_dir: must be a string")
            continue
        cls = SECTIONS.get(section)
        if cls is None:
            problems.append(f"{source}: {section}: unknown section")
            continue
        if not isinstance(table, dict):
            problems.append(f"{source}: {section}: must be a table")
            continue
        known = {f.name: f for f in fields(cls)}
        values = {}
        for key, value in table.items():
            if key not in known:
                problems.append(f"{source}: {section}.{key}: unknown key")
            elif not _type_ok(value, known[key].type):
                expected = _type_name(known[key].type)
                problems.append(f"{source}: {section}.{key}: must be {expected}")
            elif isinstance(value, float) and not math.isfinite(value):
                problems.append(f"{source}: {section}.{key}: must be a finite number")
            else:
                values[key] = float(value) if known[key].type == "float" else value
        updated = replace(getattr(settings, section), **values)
        problems += [f"{source}: {section}.{key}: {why}" for key, why in updated.check()]
        changes[section] = updated
    if problems:
        raise ConfigError("\n".join(problems))
    return replace(settings, **changes)


def read_layer(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def layer_files(explicit: Path | None) -> list[Path]:
    """The config files that apply, in the order they are merged."""
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    files = [DEFAULT_CONFIG_FILE, Path("/etc/voiced/voiced.toml"), xdg / "voiced" / "voiced.toml"]
    found = [p for p in files if p.is_file()]
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: no such config file")
        found.append(explicit)
    return found


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """`--set llm.temperature=0.3` → {"llm": {"temperature": 0.3}}: the last layer.
    The value is read as TOML (numbers, true/false, "strings", [lists]); anything that
    is not valid TOML is taken as a plain string."""
    layer: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        section, dot, key = name.strip().partition(".")
        if not sep or (section != "models_dir" and not (dot and key)):
            raise ConfigError(f"--set {item}: expected SECTION.KEY=VALUE")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        if section == "models_dir":
            layer["models_dir"] = value
        else:
            table = layer.setdefault(section, {})
            if isinstance(table, dict):
                table[key] = value
    return layer


def load_settings(explicit: Path | None = None, overrides: list[str] | None = None) -> Settings:
    return load_with_sources(explicit, overrides)[0]


def load_with_sources(
    explicit: Path | None = None, overrides: list[str] | None = None
) -> tuple[Settings, dict[str, str]]:
    """The merged settings, and for each "section.key" the layer it came from."""
    settings = Settings()
    sources: dict[str, str] = {}
    layers = [(str(path), read_layer(path)) for path in layer_files(explicit)]
    if overrides:
        layers.append(("--set", parse_overrides(overrides)))
    for source, data in layers:
        settings = merge_layer(settings, data, source)
        for section, table in data.items():
            keys = table if isinstance(table, dict) else {"": None}
            for key in keys:
                sources[f"{section}.{key}".rstrip(".")] = source
    return settings, sources


def describe(settings: Settings, sources: dict[str, str]) -> dict[str, dict[str, Any]]:
    """{section: {key: {"value": …, "source": …}}} for `voiced config show`."""
    shown: dict[str, dict[str, Any]] = {}
    for section in SECTIONS:
        values = getattr(settings, section)
        shown[section] = {
            f.name: {
                "value": getattr(values, f.name),
                "source": sources.get(f"{section}.{f.name}", "built-in default"),
            }
            for f in fields(values)
        }
    shown["models_dir"] = {
        "": {"value": str(settings.models_dir), "source": sources.get("models_dir", "built-in")}
    }
    return shown
