"""Command line: argument parsing, exit codes and wiring; the logic lives elsewhere."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from voiced import __version__, heap
from voiced.config import Settings, load_settings
from voiced.errors import (
    EXIT_FAILURE,
    EXIT_OK,
    AudioFileError,
    UsageError,
    VoicedError,
)
from voiced.paths import find_control_socket

log = logging.getLogger("voiced")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voiced", description="A private voice companion that runs on this machine."
    )
    parser.add_argument("--version", action="version", version=f"voiced {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, metavar="FILE", help="extra TOML config layer")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    common.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        dest="overrides",
        help="override one setting, after every config file (repeatable)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="listen and answer (the daemon loop)")
    run.add_argument("--input-file", type=Path, metavar="WAV", help="read speech from a file")
    run.add_argument("--output-file", type=Path, metavar="WAV", help="write replies to a file")
    run.add_argument(
        "--echo-gain",
        type=float,
        default=0.0,
        metavar="G",
        help="with --input-file: mix the replies back into the input at this gain (a room echo)",
    )
    run.add_argument(
        "--echo-delay-ms",
        type=float,
        default=60.0,
        metavar="MS",
        help="delay of that simulated echo (default 60)",
    )

    tr = sub.add_parser("transcribe", parents=[common], help="transcribe audio files")
    tr.add_argument("--json", action="store_true", help="one JSON object per line")
    tr.add_argument("files", nargs="+", type=Path, metavar="FILE")

    wake = sub.add_parser("wake", parents=[common], help="which wake words fire in audio files")
    wake.add_argument("--json", action="store_true", help="one JSON object per line")
    wake.add_argument(
        "--wake-word",
        action="append",
        metavar="NAME",
        help="listen for this one only (repeatable; default: every wake word there is)",
    )
    wake.add_argument("files", nargs="+", type=Path, metavar="FILE")

    run.add_argument(
        "--control",
        type=Path,
        metavar="SOCKET",
        help="control socket (default $XDG_RUNTIME_DIR/voiced/control.sock; none with a file)",
    )

    client = argparse.ArgumentParser(add_help=False, parents=[common])
    client.add_argument("--socket", type=Path, metavar="SOCKET", help="the daemon's control socket")
    daemon_help = "through the running daemon (its voice, its conversation)"

    affect = sub.add_parser(
        "affect", parents=[common], help="how the speaker sounds in audio files (in order)"
    )
    affect.add_argument("--json", action="store_true", help="one JSON object per line")
    affect.add_argument(
        "--baseline",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a recording of the same speaker sounding as usual (repeatable)",
    )
    affect.add_argument("files", nargs="+", type=Path, metavar="FILE")

    say = sub.add_parser("say", parents=[client], help="speak a text aloud or into a WAV")
    say.add_argument("text", metavar="TEXT")
    say.add_argument("--out", type=Path, metavar="WAV")
    say.add_argument("-d", "--daemon", action="store_true", help=daemon_help)

    ask = sub.add_parser("ask", parents=[client], help="one text turn through the LLM")
    ask.add_argument("text", metavar="TEXT")
    ask.add_argument("-d", "--daemon", action="store_true", help=daemon_help + ", answered aloud")

    status = sub.add_parser("status", parents=[client], help="what the running daemon is doing")
    status.add_argument("--json", action="store_true")
    sub.add_parser("mute", parents=[client], help="mute the microphone (hard mute)")
    sub.add_parser("unmute", parents=[client], help="unmute the microphone")
    ptt = sub.add_parser("ptt", parents=[client], help="push-to-talk: start, stop or toggle")
    ptt.add_argument("action", choices=("start", "stop", "toggle"))
    sub.add_parser("cancel", parents=[client], help="stop speaking now")
    events = sub.add_parser("events", parents=[client], help="follow the daemon's events")
    events.add_argument("--json", action="store_true", help="one JSON object per line")

    respond = sub.add_parser("respond", parents=[common], help="one spoken turn from a file")
    respond.add_argument("input", type=Path, metavar="IN.wav")
    respond.add_argument("--out", type=Path, required=True, metavar="OUT.wav")
    respond.add_argument("--json", action="store_true", help="print transcript, reply, timings")

    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="serve Wyoming (STT, TTS, conversation) for Home Assistant",
    )
    serve.add_argument(
        "--wyoming",
        metavar="URI",
        help="tcp://HOST:PORT or unix://PATH (default: [wyoming] uri, loopback)",
    )
    serve.add_argument(
        "--satellite",
        metavar="URI",
        help="also be a Wyoming satellite here for Home Assistant's pipeline: voiced's "
        "microphone and speaker, its wake word (default: [wyoming] satellite_uri; off)",
    )
    serve.add_argument(
        "--input-file", type=Path, metavar="WAV", help="the satellite hears a file, not the mic"
    )
    serve.add_argument(
        "--output-file", type=Path, metavar="WAV", help="the satellite's replies to a file"
    )

    sub.add_parser("devices", parents=[common], help="list audio devices")

    config = sub.add_parser("config", help="check or show the configuration")
    config_sub = config.add_subparsers(dest="action", required=True, metavar="ACTION")
    config_sub.add_parser("check", parents=[common], help="validate every layer")
    show = config_sub.add_parser("show", parents=[common], help="merged values and their sources")
    show.add_argument("--json", action="store_true")
    config_sub.add_parser(
        "drop-in", parents=[common], help="the systemd drop-in its network features need"
    )

    memory = sub.add_parser("memory", help="what it remembers about you")
    memory_sub = memory.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = memory_sub.add_parser(
        "list",
        parents=[common],
        help="every fact: its id, when it was learnt, the words it came from",
    )
    listing.add_argument("--json", action="store_true")
    add = memory_sub.add_parser("add", parents=[common], help="remember a fact, as you say it")
    add.add_argument("text", metavar="TEXT")
    memory_forget = memory_sub.add_parser("forget", parents=[common], help="forget ID, or --all")
    memory_forget.add_argument("id", nargs="?", type=int, metavar="ID")
    memory_forget.add_argument("--all", action="store_true", help="everything, erased from disk")
    memory_sub.add_parser("export", parents=[common], help="every fact as JSON, to stdout")
    memory_check = memory_sub.add_parser(
        "check",
        parents=[common],
        help="does it get to know you: things said in passing, asked after a restart "
        "(in a memory of its own; yours is not touched)",
    )
    memory_life = memory_sub.add_parser(
        "life",
        parents=[common],
        help="four simulated weeks of talk, a few hundred turns: the store, the prompt's "
        "memory, recall and latency as it grows (in a memory of its own)",
    )
    for measure in (memory_check, memory_life):
        measure.add_argument("--model", metavar="NAME", help="a named language model")
        measure.add_argument("--out", type=Path, default=Path("bench-out"), metavar="DIR")
        measure.add_argument("--json", action="store_true")
    memory_life.add_argument(
        "--days", type=int, default=28, metavar="N", help="simulated days (default 28)"
    )
    forget = sub.add_parser("forget", parents=[common], help="forget --all: erase the memory")
    forget.add_argument("--all", action="store_true", required=True)

    timers = sub.add_parser("timers", parents=[common], help="the timers and reminders set")
    timers.add_argument("--json", action="store_true")

    doctor = sub.add_parser("doctor", parents=[common], help="check this machine, one line each")
    doctor.add_argument("--json", action="store_true")

    soak = sub.add_parser("soak", parents=[common], help="the loop for hundreds of turns")
    soak.add_argument("--out", type=Path, default=Path("soak-out"), metavar="DIR")
    soak.add_argument("--turns", type=int, default=300)

    bench = sub.add_parser("bench", parents=[common], help="measure the loop on files")
    bench.add_argument("--out", type=Path, default=Path("bench-out"), metavar="DIR")
    bench.add_argument("--idle-s", type=float, default=30.0, help="seconds of silence for idle CPU")
    bench.add_argument(
        "--echo-gain", type=float, default=0.3, help="simulated room echo of the replies (0: none)"
    )
    bench.add_argument(
        "--runs",
        default="voiced,small,sequential,pulseaudio,pipewire,wake",
        help="which loops to run, side by side: voiced (as configured), small (the small "
        "model), sequential (the baseline), pulseaudio and pipewire (as configured, through "
        "the devices of a private sound server whose speaker leaks into the microphone), "
        "wake (wake mode: real calls of the wake word, speech not for it, idle CPU asleep)",
    )
    bench.add_argument(
        "--barge-in-only",
        action="store_true",
        help="only the device runs' live barge-in scenes (about 3 minutes a run)",
    )
    dialogue = sub.add_parser(
        "dialogue", parents=[common], help="check what each language model tier says"
    )
    dialogue.add_argument(
        "--model", action="append", metavar="NAME", help="a named model (default: each one)"
    )
    dialogue.add_argument(
        "--spoken", action="store_true", help="also the spoken prompts through `voiced run`"
    )
    dialogue.add_argument("--out", type=Path, default=Path("bench-out"), metavar="DIR")
    dialogue.add_argument("--json", action="store_true")
    return parser


class JournalFormatter(logging.Formatter):
    """Under systemd: a syslog priority prefix journald understands, no timestamp."""

    PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3}

    def format(self, record: logging.LogRecord) -> str:
        priority = self.PRIORITIES.get(record.levelno, 2)
        return f"<{priority}>{record.name}: {super().format(record)}"


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    # every request of a remote engine would be a line (httpx, under openai); so are the
    # libraries' own progress notes
    for noisy in ("faster_whisper", "piper", "numba", "asyncio", "httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def cmd_transcribe(args: argparse.Namespace, settings: Settings) -> int:
    from voiced.engines.loader import make_stt
    from voiced.engines.whisper import read_audio_file

    stt = make_stt(settings)
    code = EXIT_OK
    for path in args.files:
        try:
            audio = read_audio_file(path)
        except AudioFileError as exc:  # report it, and still do the other files
            print(f"voiced: {exc.message}", file=sys.stderr)
            code = exc.exit_code
            continue
        text = stt.transcribe(audio).text
        print(json.dumps({"file": str(path), "text": text}) if args.json else f"{path}: {text}")
        sys.stdout.flush()
    return code


def cmd_wake(args: argparse.Namespace, settings: Settings) -> int:
    from voiced.engines.wakeword import MicroWakeWords, wakes_in
    from voiced.engines.whisper import read_audio_file
    from voiced.models.wake_words import WAKE_WORDS

    names = args.wake_word or list(WAKE_WORDS)
    unknown = [n for n in names if n not in WAKE_WORDS]
    if unknown:
        raise UsageError(f"unknown wake word {unknown[0]!r}; known: {', '.join(WAKE_WORDS)}")
    words = MicroWakeWords(names)
    code = EXIT_OK
    for path in args.files:
        try:
            audio = (read_audio_file(path) * 32767).astype(np.int16)
        except AudioFileError as exc:  # report it, and still do the other files
            print(f"voiced: {exc.message}", file=sys.stderr)
            code = exc.exit_code
            continue
        wakes = wakes_in(words, audio)
        if args.json:
            found = [
                {
                    "wake_word": w.name,
                    "phrase": w.phrase,
                    "at_s": w.at_s,
                    "probability": round(w.probability, 3),
                }
                for w in wakes
            ]
            print(json.dumps({"file": str(path), "wakes": found}))
        else:
            said = ", ".join(f"{w.name} at {w.at_s:.2f} s" for w in wakes) or "no wake word"
            print(f"{path}: {said}")
        sys.stdout.flush()
    return code


def _request(args: argparse.Namespace, cmd: str, **fields: object) -> dict[str, Any]:
    """One request to the running daemon; its refusal is a one-line error."""
    from voiced.service.control import ControlClient, Refused

    client = ControlClient(args.socket or find_control_socket())
    try:
        reply = client.request(cmd, **fields)
    finally:
        client.close()
    if not reply.get("ok"):
        raise Refused(str(reply.get("error", f"{cmd}: refused")))
    return reply


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    reply = _request(args, "status")
    reply.pop("ok")
    if args.json:
        print(json.dumps(reply, indent=2))
        return EXIT_OK
    print(f"state: {reply['state']}  (pid {reply['pid']}, up {reply['uptime_s']:.0f} s)")
    if reply.get("waiting"):
        print(f"  {reply['waiting']}")
    print("models: " + ", ".join(f"{k} {v}" for k, v in reply["models"].items()))
    print("devices: " + ", ".join(f"{k} {v}" for k, v in reply["devices"].items()))
    reopened, dropped = reply.get("microphone_reopened", 0), reply.get("replies_dropped", 0)
    print(
        f"turns: {reply['turns']}, audio overflows: {reply['overflows']},"
        f" microphone reopened: {reopened}, replies dropped: {dropped}"
    )
    last = reply.get("last_turn")
    if last and last.get("response_latency_s") is not None:
        print(f"last reply: {last['response_latency_s']:.2f} s after the end of speech")
    return EXIT_OK


def cmd_control(args: argparse.Namespace, settings: Settings) -> int:
    """mute, unmute, ptt and cancel: a request, and what it changed."""
    fields = {"action": args.action} if args.command == "ptt" else {}
    reply = _request(args, args.command, **fields)
    if "muted" in reply:
        print("microphone muted" if reply["muted"] else "microphone on")
    elif "talking" in reply:
        print("push-to-talk: talking" if reply["talking"] else "push-to-talk: released")
    return EXIT_OK


def cmd_events(args: argparse.Namespace, settings: Settings) -> int:
    from voiced.service.control import ControlClient, ControlError, Refused

    client = ControlClient(args.socket or find_control_socket(), timeout_s=None)
    try:
        first = client.request("events")
        if not first.get("ok"):
            raise Refused(str(first.get("error", "events: refused")))
        while True:
            event = client.read()
            if args.json:
                print(json.dumps(event), flush=True)
            elif event.get("event") == "turn":
                latency = event["timings"].get("response_latency_s")
                took = f" ({latency:.2f} s)" if latency is not None else ""
                print(f"heard: {event['heard']!r} -> said: {event['reply']!r}{took}", flush=True)
            else:
                print(" ".join(f"{k}={v}" for k, v in event.items()), flush=True)
    except ControlError as exc:
        if "closed" in exc.message:
            return EXIT_OK  # the daemon stopped
        raise
    finally:
        client.close()


def cmd_affect(args: argparse.Namespace, settings: Settings) -> int:
    """Each file judged against the speaker's baseline: the --baseline files, then every
    file before it (as the daemon does over a conversation)."""
    from voiced.engines.loader import make_stt
    from voiced.engines.whisper import read_audio_file
    from voiced.mind.affect import AffectEstimator

    stt = make_stt(settings)
    estimator = AffectEstimator()
    code = EXIT_OK
    for path in [*args.baseline, *args.files]:
        try:
            audio = (read_audio_file(path) * 32767).astype(np.int16)
        except AudioFileError as exc:
            print(f"voiced: {exc.message}", file=sys.stderr)
            code = exc.exit_code
            continue
        text = stt.transcribe(audio.astype(np.float32) / 32768).text
        mood = estimator.estimate(audio, text)
        if path in args.baseline and path not in args.files:
            continue
        if args.json:
            print(json.dumps({"file": str(path), "text": text, **mood.as_dict()}), flush=True)
        else:
            print(
                f"{path}: arousal {mood.arousal:+.2f}, valence {mood.valence:+.2f}, "
                f"confidence {mood.confidence:.2f}"
                + (f" ({mood.describe()})" if mood.describe() else ""),
                flush=True,
            )
    return code


def cmd_say(args: argparse.Namespace, settings: Settings) -> int:
    if args.daemon:
        _request(args, "say", text=args.text)
        return EXIT_OK
    from voiced.turn import once

    once.say(settings, args.text, args.out)
    return EXIT_OK


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """One typed turn through the same router as the voice loop (skills, memory, history).
    Nothing in this process could say a timer when it is due: a timer goes to the running
    daemon (answered aloud there), or is declined when none runs."""
    if args.daemon:
        print(_request(args, "ask", text=args.text)["reply"])
        return EXIT_OK
    from voiced.turn import once

    if once.needs_ringer(settings, args.text):
        handed = _hand_to_daemon(args)
        if handed is not None:
            print(handed)
            return EXIT_OK
    once.ask(settings, args.text, show=lambda reply: print(reply, flush=True))
    return EXIT_OK


def _hand_to_daemon(args: argparse.Namespace) -> str | None:
    """The running daemon's reply to the request, or None when no daemon answers."""
    from voiced.service.control import ControlError

    if not (args.socket or find_control_socket()).exists():
        return None
    try:
        reply = str(_request(args, "ask", text=args.text)["reply"])
    except ControlError as exc:  # a socket left behind: no daemon after all
        log.info("no daemon to hand the timer to (%s)", exc.message)
        return None
    log.info("a timer: handed to the running daemon, which can say it when it is due")
    return reply


def cmd_respond(args: argparse.Namespace, settings: Settings) -> int:
    """One spoken turn from a file, through the router; it cannot ring a timer either."""
    from voiced.audio.files import write_wav
    from voiced.engines.whisper import read_audio_file
    from voiced.turn import once

    result, reply, rate = once.respond(settings, read_audio_file(args.input))
    write_wav(args.out, reply, rate)
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(args.input),
                    "transcript": result.transcript.text,
                    "reply": result.reply,
                    "out": str(args.out),
                    "timings": result.timings.as_dict(),
                }
            )
        )
    else:
        print(f"heard: {result.transcript.text or '(no speech)'}")
        print(f"reply: {result.reply}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from voiced.network.servers import serve_until_stopped
    from voiced.network.wyoming import check_uri

    lan = settings.wyoming.lan
    uri = check_uri(args.wyoming or settings.wyoming.uri, lan)
    satellite_uri = args.satellite or settings.wyoming.satellite_uri
    if satellite_uri:
        check_uri(satellite_uri, lan, "--satellite")
    elif args.input_file or args.output_file:
        raise UsageError("--input-file and --output-file are the satellite's: add --satellite")
    input_audio = None
    if args.input_file:  # what the user named is checked before the models load
        from voiced.engines.whisper import read_audio_file

        input_audio = read_audio_file(args.input_file)
    serve_until_stopped(settings, uri, satellite_uri, input_audio, args.output_file)
    return EXIT_OK


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from voiced.service.daemon import Daemon, RunOptions

    options = RunOptions(
        config=args.config,
        input_file=args.input_file,
        output_file=args.output_file,
        echo_gain=args.echo_gain,
        echo_delay_ms=args.echo_delay_ms,
        control=args.control,
        overrides=args.overrides,
    )
    Daemon(settings, options).run()
    return EXIT_OK


def cmd_devices(args: argparse.Namespace, settings: Settings) -> int:
    from voiced.audio.devices import list_devices

    for device in list_devices():
        kinds = []
        if device["max_input_channels"] > 0:
            kinds.append(f"in:{device['max_input_channels']}")
        if device["max_output_channels"] > 0:
            kinds.append(f"out:{device['max_output_channels']}")
        rate = int(device["default_samplerate"])
        print(f"{device['index']:3d}  {device['name']}  ({' '.join(kinds)}, {rate} Hz)")
    return EXIT_OK


def cmd_soak(args: argparse.Namespace, settings: Settings) -> int:
    from voiced.measure.soak import format_summary, soak, verdicts

    if args.turns < 1:
        raise UsageError("soak: --turns must be at least 1")
    summary = soak(args.out, args.turns)
    print(format_summary(summary))
    print(f"written: {args.out / 'soak.json'}")
    return EXIT_OK if all(ok for _, _, ok in verdicts(summary)) else EXIT_FAILURE


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from voiced.measure.bench import bench, chosen_runs, format_barge_in_report, format_report
    from voiced.measure.devices import bench_barge_in

    runs = chosen_runs(args.runs, args.barge_in_only)
    if args.barge_in_only:
        report = bench_barge_in(args.out, echo_gain=args.echo_gain, runs=runs)
        print(format_barge_in_report(report))
        print(f"written: {args.out / 'bench.json'}")
        return EXIT_OK
    report = bench(args.out, idle_s=args.idle_s, echo_gain=args.echo_gain, runs=runs)
    print(format_report(report))
    print(f"written: {args.out / 'bench.json'} and {args.out / 'bench.png'}")
    return EXIT_OK


def cmd_dialogue(args: argparse.Namespace, settings: Settings) -> int:
    from voiced.measure.dialogue import dialogue, format_report
    from voiced.models import manifest

    names = list(manifest.language_models())
    unknown = [m for m in args.model or [] if m not in names]
    if unknown:
        raise UsageError(f"no model named {unknown[0]!r}: there are {', '.join(names)}")
    reports = dialogue(args.model or names, args.out, args.spoken)
    print(json.dumps(reports) if args.json else format_report(reports))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from voiced.service.doctor import EXIT_BLOCKED, FAIL, diagnose

    findings = diagnose(args.config, args.overrides)
    if args.json:
        print(json.dumps([asdict(f) for f in findings], indent=2))
    else:
        for finding in findings:
            print(finding.line())
    blocked = [f for f in findings if f.level == FAIL]
    if blocked:
        print(f"voiced cannot run here: {len(blocked)} problem(s) above", file=sys.stderr)
        return EXIT_BLOCKED
    return EXIT_OK


def cmd_memory(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "memory" and args.action in ("check", "life"):
        return cmd_memory_check(args, settings)  # a memory of its own, not the user's
    from datetime import datetime

    from voiced.mind.memory import MemoryStore
    from voiced.paths import state_dir

    store = MemoryStore(state_dir() / "memory.db")
    try:
        action = "forget" if args.command == "forget" else args.action
        if action == "list":
            facts = store.facts()
            if args.json:
                print(json.dumps([f.as_dict() for f in facts], indent=2))
            for fact in facts if not args.json else []:
                print(f"{fact.id:4d}  {fact.text}")
                learnt = datetime.fromtimestamp(fact.updated).strftime("%Y-%m-%d %H:%M")
                print(
                    f"      learnt {learnt}"
                    + (f" from {json.dumps(fact.source)}" if fact.source else "")
                )
            if not facts and not args.json:
                print("(nothing remembered)")
        elif action == "export":
            print(json.dumps({"facts": [f.as_dict() for f in store.facts()]}, indent=2))
        elif action == "add":
            for fact in store.remember_said(args.text):
                print(f"{fact.id:4d}  {fact.text}")
        elif args.all:
            print(f"forgot {store.forget_all()} fact(s); the memory file is wiped")
        elif args.id is None:
            raise UsageError("memory forget: give an ID (see `voiced memory list`) or --all")
        elif not store.forget(args.id):
            raise UsageError(f"memory forget: no fact {args.id} (see `voiced memory list`)")
        else:
            print(f"forgot fact {args.id}")
    finally:
        store.close()
    return EXIT_OK


def cmd_memory_check(args: argparse.Namespace, settings: Settings) -> int:
    """`voiced memory check` and `voiced memory life`."""
    from voiced.measure import life, memory
    from voiced.models import manifest

    names = list(manifest.language_models())
    model = args.model or settings.llm.model
    if args.model and args.model not in names:
        raise UsageError(f"no model named {args.model!r}: there are {', '.join(names)}")
    if args.action == "life":
        if args.days < 1:
            raise UsageError("memory life: --days must be at least 1")
        report = life.life(model, args.out, settings.memory.budget_tokens, args.days)
        print(json.dumps(report) if args.json else life.format_report(report))
    else:
        reports = memory.memory_check(model, args.out)
        print(json.dumps(reports) if args.json else memory.format_report(reports))
    return EXIT_OK


def cmd_timers(args: argparse.Namespace, settings: Settings) -> int:
    """Timers and reminders as the daemon keeps them (set and cancelled by voice)."""
    from dataclasses import asdict
    from datetime import datetime

    from voiced.paths import state_dir
    from voiced.skills.alarms import Alarms
    from voiced.skills.numbers import spoken_duration
    from voiced.skills.timers import timer_name

    alarms = Alarms(state_dir() / "alarms.json")
    pending = alarms.pending()
    if args.json:
        rows = [dict(asdict(a), left_s=round(alarms.left(a), 1)) for a in pending]
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for alarm in pending:
        due = datetime.fromtimestamp(alarm.due).strftime("%a %H:%M:%S")
        what = timer_name(alarm) if alarm.kind == "timer" else f"reminder: {alarm.label}"
        print(f"{alarm.id:4d}  {due}  in {spoken_duration(alarms.left(alarm)):<24}  {what}")
    if not pending:
        print("(no timers or reminders)")
    return EXIT_OK


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    from voiced.config import describe, layer_files, load_with_sources

    if args.action == "check":
        files = layer_files(args.config)
        print("configuration is valid: " + ", ".join(str(f) for f in files))
        return EXIT_OK
    if args.action == "drop-in":
        from voiced.service.systemd import network_drop_in

        print(network_drop_in(settings), end="")
        return EXIT_OK
    shown = describe(*load_with_sources(args.config, args.overrides))
    if args.json:
        print(json.dumps(shown, indent=2, default=str))
        return EXIT_OK
    for section, values in shown.items():
        for key, item in values.items():
            name = f"{section}.{key}" if key else section
            print(f"{name} = {json.dumps(item['value'], default=str)}  # {item['source']}")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "run": cmd_run,
    "transcribe": cmd_transcribe,
    "say": cmd_say,
    "ask": cmd_ask,
    "respond": cmd_respond,
    "serve": cmd_serve,
    "devices": cmd_devices,
    "bench": cmd_bench,
    "dialogue": cmd_dialogue,
    "soak": cmd_soak,
    "config": cmd_config,
    "status": cmd_status,
    "mute": cmd_control,
    "unmute": cmd_control,
    "ptt": cmd_control,
    "cancel": cmd_control,
    "events": cmd_events,
    "memory": cmd_memory,
    "timers": cmd_timers,
    "affect": cmd_affect,
    "wake": cmd_wake,
    "forget": cmd_memory,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    heap.limit_arenas()
    if args.verbose:
        import faulthandler
        import signal

        faulthandler.register(signal.SIGUSR1)  # `kill -USR1 PID`: every thread's stack
    try:
        if args.command == "doctor":  # it reports a bad configuration itself
            return cmd_doctor(args)
        settings = load_settings(args.config, args.overrides)
        return COMMANDS[args.command](args, settings)
    except VoicedError as exc:
        for line in exc.message.splitlines():
            print(f"voiced: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as exc:
        if args.verbose:
            raise
        print(
            f"voiced: internal error: {type(exc).__name__}: {exc} (run with -v for details)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
