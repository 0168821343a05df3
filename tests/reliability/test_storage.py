"""Damaged and unwritable state: a corrupt memory file is set aside and a fresh one begun;
a full disk fails the write, not the turn; SIGKILL leaves no corrupted state."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, voiced
from voiced.mind.memory import Memory, MemoryStore
from voiced.skills.alarms import Alarms


@pytest.mark.slow
def test_a_corrupt_memory_file_is_set_aside_and_a_fresh_one_begun(tmp_path, caplog):
    path = tmp_path / "memory.db"
    garbage = b"SQLite format 3\x00" + os.urandom(8192)
    path.write_bytes(garbage)
    store = MemoryStore(path)
    assert store.facts() == []
    store.remember("name", "The user's name is Anna.", "name")
    (aside,) = tmp_path.glob("memory.db.corrupt-*")
    assert aside.read_bytes() == garbage  # kept, not thrown away
    assert "damaged" in caplog.text
    assert (path.stat().st_mode & 0o777) == 0o600


@pytest.mark.slow
def test_a_corrupt_memory_file_does_not_stop_the_command_line(tmp_path):
    (tmp_path / "voiced").mkdir(mode=0o700)
    (tmp_path / "voiced" / "memory.db").write_bytes(b"<html>not a database</html>" * 100)
    env = {"XDG_STATE_HOME": str(tmp_path)}
    added = voiced("memory", "add", "My name is Anna.", env=env)
    assert added.returncode == 0, added.stderr
    assert "damaged" in added.stderr and "Traceback" not in added.stderr
    listed = json.loads(voiced("memory", "list", "--json", env=env).stdout)
    assert [f["text"] for f in listed] == ["The user's name is Anna."]


FULL_DISK = """
import logging, resource, signal, sys
from pathlib import Path
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
from voiced.skills.alarms import Alarms
from voiced.mind.memory import Memory, MemoryStore
state = Path(sys.argv[1])
store = MemoryStore(state / "memory.db")
alarms = Alarms(state / "alarms.json")
memory = Memory(store, lambda t: len(t.split()), 100)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
limit = 1  # no file may grow: as good as a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
learnt = memory.learn("My name is " + "Anna" * 5000 + ".")
timer = alarms.add_timer(300, "tea")
print("learnt", len(learnt), "timer", timer.label, "pending", len(alarms.pending()))
"""


def test_a_full_disk_fails_the_write_not_the_caller(tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    # nothing kept on disk, but the caller went on, and the timer still runs from memory
    assert run.stdout.strip() == "learnt 0 timer tea pending 1", run.stdout
    assert "could not save to the memory" in run.stderr
    assert "could not save the timers" in run.stderr


def test_a_full_disk_does_not_fail_the_turn(tmp_path):
    import sqlite3

    from tests.fakes import ScriptedLlm, ScriptedStt, speech_and_silence
    from tests.test_pipeline import make_pipeline, run

    class FullStore(MemoryStore):
        def remember(self, kind, text, key="", source="", vector=None):
            raise sqlite3.OperationalError("database or disk is full")

    stt, llm = ScriptedStt(["My name is Anna."]), ScriptedLlm(["Nice to meet you, Anna."])
    audio = speech_and_silence([("speech", 0.6), ("silence", 2.0)])
    pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path)
    pipeline.runner.router.memory = Memory(FullStore(tmp_path / "memory.db"), llm.count_tokens, 100)
    run(pipeline)
    assert [t.reply for t in pipeline.turns] == ["Nice to meet you, Anna."]
    assert pipeline.failures == 0


KILLED = """
import sys, time
from pathlib import Path
from voiced.skills.alarms import Alarms
from voiced.mind.memory import MemoryStore
state = Path(sys.argv[1])
store, alarms = MemoryStore(state / "memory.db"), Alarms(state / "alarms.json")
print("ready", flush=True)
i = 0
while True:  # write as fast as it can, until killed
    store.remember("note", f"The user asked to remember: note {i}.")
    alarms.add_timer(600 + i, f"timer {i}")
    i += 1
"""


@pytest.mark.slow
def test_sigkill_while_writing_leaves_memory_and_timers_intact(tmp_path):
    for delay in (0.3, 0.7, 1.1):
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED, str(tmp_path)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        store = MemoryStore(tmp_path / "memory.db")  # opens: not corrupt (no file set aside)
        facts = store.facts()
        store.close()
        alarms = Alarms(tmp_path / "alarms.json")
        assert facts and alarms.pending(), (len(facts), len(alarms.pending()))
        assert not list(tmp_path.glob("*.corrupt-*")) and not list(tmp_path.glob("*.damaged"))
