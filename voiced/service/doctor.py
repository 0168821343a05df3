"""`voiced doctor`: what stands between this machine and a working assistant, one line each.

Each check gives ok, warn (works, but not as it should: headless without linger, no
unit installed) or fail (voiced cannot run), and for anything not ok, the fix.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from voiced.config import Settings, layer_files, load_settings
from voiced.errors import VoicedError
from voiced.models import manifest
from voiced.models.digest import matches

OK, WARN, FAIL = "ok", "warn", "FAIL"
EXIT_BLOCKED = 5
"""`voiced doctor` found something that stops voiced from running."""


@dataclass(frozen=True)
class Finding:
    check: str
    level: str
    message: str
    fix: str = ""

    def line(self) -> str:
        fix = f" -> {self.fix}" if self.fix and self.level != OK else ""
        return f"{self.level:<4}  {self.check}: {self.message}{fix}"


def diagnose(config: Path | None, overrides: list[str] | None = None) -> list[Finding]:
    try:
        settings = load_settings(config, overrides)
    except VoicedError as exc:
        first = exc.message.splitlines()[0]
        return [Finding("config", FAIL, first, "fix the file named; `voiced config check`")]
    findings = [Finding("config", OK, "valid: " + ", ".join(str(f) for f in layer_files(config)))]
    checks: list[Callable[[Settings], Iterator[Finding]]] = [
        models,
        audio,
        machine,
        service,
        remotes,
        home_assistant,
    ]
    for check in checks:
        try:
            findings.extend(check(settings))
        except Exception as exc:  # a check that breaks is itself a finding
            findings.append(Finding(check.__name__, WARN, f"could not check: {exc}"))
    return findings


# --- models ------------------------------------------------------------------------------


def _pinned(settings: Settings) -> dict[Path, str]:
    """The sha256 of every file the model manifest pins, by where it is unpacked."""
    return {
        (settings.models_dir / dest).resolve(): sha256
        for entry in manifest.load()
        for dest, sha256 in entry.files.items()
    }


def _altered(path: Path, pinned: dict[Path, str]) -> bool:
    return not matches(path, pinned[path.resolve()])


def models(settings: Settings) -> Iterator[Finding]:
    pinned = _pinned(settings)
    stt = settings.model_path(settings.stt.model)
    voice = settings.model_path(settings.tts.voice)
    wanted = {
        "stt model": [stt / "model.bin", stt / "config.json", stt / "tokenizer.json"],
        "llm model": [settings.llm_path],
        "tts voice": [voice, voice.with_name(voice.name + ".json")],
    }
    if settings.vad.turn_model:
        wanted["end-of-turn model"] = [settings.model_path(settings.vad.turn_model)]
    for check, files in wanted.items():
        missing = [f for f in files if not f.is_file()]
        if missing:
            entry = manifest.for_file(missing[0])
            fetch = f"`{manifest.FETCH_COMMAND}` (or fix the path in config)"
            if entry is not None and entry.role == "llm":
                fetch = f"`{manifest.FETCH_COMMAND} MODEL={entry.name}`"
            yield Finding(check, FAIL, f"missing {missing[0]}", fetch)
            continue
        corrupt = [f for f in files if f.resolve() in pinned and _altered(f, pinned)]
        if corrupt:
            yield Finding(
                check,
                FAIL,
                f"{corrupt[0]} does not match its sha256 in models/manifest.toml",
                "delete it and run `make models`",
            )
            continue
        checked = "sha256 checked" if files[0].resolve() in pinned else "your own model"
        size_mb = sum(f.stat().st_size for f in files) / 1e6
        yield Finding(
            check, OK, f"{files[0].parent.name}/{files[0].name} ({size_mb:.0f} MB, {checked})"
        )


# --- audio -------------------------------------------------------------------------------


def _sound_server() -> str:
    """What the PulseAudio protocol answers with ("PipeWire 0.3.65 (its PulseAudio
    server)", "PulseAudio 16.1"); "" when nothing answers or pactl is missing."""
    if not shutil.which("pactl"):
        return ""
    try:
        info = subprocess.run(
            ["pactl", "info"], capture_output=True, text=True, timeout=5, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return server_named_in(info)


def server_named_in(info: str) -> str:
    """The sound server `pactl info` describes."""
    fields = dict(line.split(": ", 1) for line in info.splitlines() if ": " in line)
    name = fields.get("Server Name", "")
    if "PipeWire" in name:  # "PulseAudio (on PipeWire 0.3.65)"
        return name.split("on ", 1)[1].rstrip(")") + " (its PulseAudio server)"
    name = "PulseAudio" if name == "pulseaudio" else name
    return f"{name} {fields.get('Server Version', '')}".strip()


def audio(settings: Settings) -> Iterator[Finding]:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    servers = [
        name
        for name, path in (("PipeWire", "pipewire-0"), ("PulseAudio", "pulse/native"))
        if runtime and (Path(runtime) / path).exists()
    ]
    if os.environ.get("PULSE_SERVER"):
        servers.append(f"PulseAudio at {os.environ['PULSE_SERVER']}")
    named = _sound_server()
    if named:
        yield Finding("sound server", OK, named)
    elif servers:
        yield Finding("sound server", OK, " and ".join(servers) + " reachable")
    else:
        yield Finding(
            "sound server",
            WARN,
            "no PipeWire or PulseAudio in this session (plain ALSA then)",
            "fine for the system unit on a headless box; for the user unit, run in your "
            "desktop session or enable linger",
        )
    try:
        import sounddevice as sd
    except OSError as exc:
        yield Finding("audio devices", FAIL, f"PortAudio missing: {exc}", "`make install`")
        return
    from voiced.audio.devices import find_device

    for kind, name in (
        ("input", settings.audio.input_device),
        ("output", settings.audio.output_device),
    ):
        check = "microphone" if kind == "input" else "speaker"
        try:
            device = find_device(name, kind)
            info = sd.query_devices(device, kind)
            opener = sd.InputStream if kind == "input" else sd.OutputStream
            # as voiced opens them: the speaker with PortAudio's low latency
            latency = "high" if kind == "input" else "low"
            with opener(device=device, channels=1, dtype="int16", latency=latency) as stream:
                latency_ms = float(stream.latency) * 1000
        except VoicedError as exc:
            yield Finding(
                check,
                FAIL,
                exc.message,
                f"plug it in, or set audio.{kind}_device (`voiced devices` lists them)",
            )
            continue
        except Exception as exc:
            yield Finding(check, FAIL, f"cannot open it: {exc}", "is another program holding it?")
            continue
        yield Finding(check, OK, f"{info['name']!r} opens, {kind} latency {latency_ms:.0f} ms")


# --- the machine ---------------------------------------------------------------------------


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.lower().startswith(("flags", "features")):
            return set(line.split(":", 1)[1].split())
    return set()


def machine(settings: Settings) -> Iterator[Finding]:
    arch = platform.machine()
    flags = _cpu_flags()
    cores = os.cpu_count() or 1
    if arch in ("x86_64", "AMD64"):
        fast = {"avx2", "fma"} <= flags
        yield Finding(
            "cpu",
            OK if fast else WARN,
            f"{arch}, {cores} cores" + (", AVX2+FMA" if fast else ", no AVX2/FMA: slow replies"),
            "a smaller LLM, or a CPU with AVX2",
        )
    elif arch in ("aarch64", "arm64"):
        dot = "asimddp" in flags
        yield Finding(
            "cpu",
            OK,
            f"{arch}, {cores} cores" + (", NEON dot product" if dot else ", NEON"),
        )
    else:
        yield Finding("cpu", WARN, f"{arch}: untested", "use x86-64 or 64-bit ARM (aarch64)")
    yield from memory(settings)


def _meminfo_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def needed_mb(settings: Settings) -> float:
    """Peak memory of `voiced run` with the configured models: as measured for a named
    language model (models/manifest.toml), else estimated from the files' sizes."""
    entry = manifest.named(settings.llm.model)
    if entry is not None and entry.memory_mb:
        return float(entry.memory_mb)
    model_mb = 0.0
    for path in (settings.llm_path, settings.model_path(settings.tts.voice)):
        if path.is_file():
            model_mb += path.stat().st_size / 1e6
    stt = settings.model_path(settings.stt.model) / "model.bin"
    if stt.is_file():
        model_mb += stt.stat().st_size / 1e6
    return 350 + 2 * model_mb  # the runtimes, plus each model's weights and working space


def _smaller(settings: Settings, total_mb: float) -> str:
    """What to choose instead: the largest named model that fits, or the smallest."""
    models = sorted(manifest.language_models().values(), key=lambda m: -m.memory_mb)
    if not models:
        return "more memory"
    fits = [m for m in models if m.memory_mb and m.memory_mb < total_mb * 0.8]
    choice = fits[0] if fits else models[-1]
    current = manifest.named(settings.llm.model)
    if current is not None and choice.name == current.name:
        return "more memory"
    return (
        f'set [llm] model = "{choice.name}" ({choice.description.split(",")[0]}, about '
        f"{choice.memory_mb / 1000:.1f} GB) and `{manifest.FETCH_COMMAND} MODEL={choice.name}`"
    )


def memory(settings: Settings) -> Iterator[Finding]:
    needed = needed_mb(settings)
    total, free = _meminfo_mb("MemTotal"), _meminfo_mb("MemAvailable")
    if total is None or free is None:
        yield Finding("memory", WARN, "cannot read /proc/meminfo")
    elif needed > total * 0.8:  # the system and the sound server need the rest
        yield Finding(
            "memory",
            FAIL,
            f"the configured language model needs about {needed:.0f} MB; this machine has "
            f"{total:.0f} MB in all",
            _smaller(settings, total),
        )
    elif free < needed:
        yield Finding(
            "memory",
            WARN,
            f"{free:.0f} MB available now, the configured models need about {needed:.0f} MB",
            "close other programs, or " + _smaller(settings, free / 0.8),
        )
    else:
        yield Finding("memory", OK, f"{free:.0f} MB available, about {needed:.0f} MB needed")


# --- the service -----------------------------------------------------------------------------


def service(settings: Settings) -> Iterator[Finding]:
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user_unit = config_home / "systemd" / "user" / "voiced.service"
    system_unit = Path("/etc/systemd/system/voiced.service")
    installed = [p for p in (user_unit, system_unit) if p.is_file()]
    if installed:
        yield Finding("unit", OK, "installed: " + ", ".join(str(p) for p in installed))
    else:
        yield Finding("unit", WARN, "not installed", "`make install-service`")
    userns = Path("/proc/sys/user/max_user_namespaces")
    try:
        namespaces = int(userns.read_text())
    except (OSError, ValueError):
        namespaces = -1
    if namespaces == 0:
        yield Finding(
            "sandbox",
            WARN,
            "user namespaces are off: the user unit's sandboxing cannot be applied",
            "sysctl user.max_user_namespaces=15000, or use the system unit",
        )
    else:
        yield Finding("sandbox", OK, "user namespaces available for the unit's sandbox")
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or ""
    if user_unit.is_file() and user and shutil.which("loginctl"):
        result = subprocess.run(
            ["loginctl", "show-user", user, "--property=Linger", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        if result.stdout.strip() == "yes" or Path(f"/var/lib/systemd/linger/{user}").exists():
            yield Finding("linger", OK, "on: voiced starts at boot, without a login")
        else:
            yield Finding(
                "linger",
                WARN,
                "off: the user unit only runs while you are logged in",
                f"for a headless box: loginctl enable-linger {user}",
            )


# --- Home Assistant ----------------------------------------------------------------------


def home_assistant(settings: Settings) -> Iterator[Finding]:
    """When configured: its token, and whether its API answers with it."""
    from voiced.engines.home_assistant import HomeAssistant, read_token

    config = settings.home_assistant
    if not config.url:
        return
    try:
        token = read_token(config)
    except VoicedError as exc:
        yield Finding(
            "home assistant",
            FAIL,
            exc.message,
            "make a long-lived access token in "
            "your Home Assistant profile (Security) and put it in token_file, chmod 600",
        )
        return
    wrong = HomeAssistant(config, token).probe()
    if wrong is None:
        yield Finding("home assistant", OK, f"{config.url} answers with the token")
    elif "token" in wrong:
        yield Finding(
            "home assistant",
            WARN,
            f"{config.url}: {wrong}",
            "make a new long-lived "
            "access token in your profile (Security) and put it in token_file",
        )
    else:
        yield Finding(
            "home assistant",
            WARN,
            f"{config.url}: {wrong}: device commands get "
            '"I can\'t reach Home Assistant right now."',
            "check home_assistant.url (http://HOST:8123) and that Home Assistant is running",
        )


# --- remote engines ----------------------------------------------------------------------


def remotes(settings: Settings) -> Iterator[Finding]:
    """Each configured remote engine: can its server be reached (a connection, no request)?"""
    import socket
    from urllib.parse import urlparse

    configured = []
    if settings.llm.backend == "openai":
        configured.append(("llm", settings.llm.url, settings.llm.connect_timeout_s))
    for name, section in (("stt", settings.stt), ("tts", settings.tts)):
        if section.backend == "wyoming":
            configured.append((name, section.uri, section.timeout_s))
    for name, address, timeout_s in configured:
        parsed = urlparse(address)
        try:
            if parsed.scheme == "unix":
                with socket.socket(socket.AF_UNIX) as unix:
                    unix.settimeout(timeout_s)
                    unix.connect(parsed.path)
            else:
                port = parsed.port or (443 if parsed.scheme == "https" else 80)
                socket.create_connection((parsed.hostname, port), timeout=timeout_s).close()
        except OSError as exc:
            yield Finding(
                f"remote {name}",
                WARN,
                f"{address} unreachable ({exc.strerror or exc}): the local model answers meanwhile",
                f'start the server there, or set {name}.backend = "local"',
            )
        else:
            yield Finding(f"remote {name}", OK, f"{address} reachable")
