"""The microphone watchdog, on a stand-in for PortAudio whose streams claim to run but
whose callbacks can stop: a stalled stream is reopened, a saturated CPU gets patience,
and reopening never blocks the event loop."""

import asyncio
import threading

import numpy as np
import pytest

from tests.fakes import ManualClock
from voiced.audio import devices

pytestmark = pytest.mark.slow


class FakePortAudio:
    """sounddevice's surface as MicrophoneSource uses it. Each stream delivers blocks
    only while `flowing`; `frozen` makes opening block (a frozen sound server)."""

    def __init__(self):
        self.flowing = True
        self.frozen = threading.Event()
        self.frozen.set()  # set = not frozen
        self.streams = []

    def query_devices(self, device=None, kind=None):
        info = {"name": "fake mic", "max_input_channels": 1, "max_output_channels": 0}
        return info if device is not None or kind is not None else [info]

    def check_input_settings(self, **kw):
        pass

    def _terminate(self):
        pass

    def _initialize(self):
        self.frozen.wait()

    def InputStream(self, callback, blocksize, **kw):
        fake = self

        class Stream:
            device = 0

            def __init__(self):
                self.closed = False
                fake.streams.append(self)

            def start(self):
                def run():
                    status = type("Status", (), {"input_overflow": False})()
                    while not self.closed:
                        if fake.flowing:
                            callback(np.zeros((blocksize, 1), np.int16), blocksize, None, status)
                        threading.Event().wait(blocksize / 16000)

                threading.Thread(target=run, daemon=True).start()

            def close(self, ignore_errors=True):
                self.closed = True

        return Stream()


@pytest.fixture
def portaudio(monkeypatch):
    fake = FakePortAudio()
    monkeypatch.setattr(devices, "_sounddevice", lambda: fake)
    monkeypatch.setattr(devices, "STALL_S", 0.2)
    monkeypatch.setattr(devices, "STARVED_STALL_S", 1.0)
    monkeypatch.setattr(devices, "FIRST_SOUND_S", 1.0)
    monkeypatch.setattr(devices, "REOPEN_EVERY_S", 0.05)
    return fake


@pytest.fixture
def idle_cpu(monkeypatch):
    async def idle(window_s=0.25):
        return False

    monkeypatch.setattr(devices, "cpu_saturated", idle)


async def _listen(source, seconds):
    """Consume frames for a while; how many came."""
    count = 0

    async def consume():
        nonlocal count
        async for _ in source.frames():
            count += 1

    task = asyncio.create_task(consume())
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return count


def _source():
    return devices.MicrophoneSource("", 30, 100, ManualClock())


def test_a_stalled_stream_is_reopened_and_frames_come_again(portaudio, idle_cpu):
    async def scenario():
        source = _source()
        source.open()
        assert await source.first_sound()
        assert await _listen(source, 0.3) > 0
        portaudio.flowing = False  # callbacks stop; the stream still claims to run
        await _listen(source, 0.5)
        portaudio.flowing = True
        assert await _listen(source, 0.5) > 0
        source.close()
        return source

    source = asyncio.run(scenario())
    assert source.reopened >= 1 and len(portaudio.streams) >= 2
    assert all(s.closed for s in portaudio.streams[:-1])  # old streams closed, not leaked


def test_a_saturated_cpu_gets_patience_before_a_reopen(portaudio, monkeypatch):
    async def saturated(window_s=0.25):
        await asyncio.sleep(0.01)
        return True

    monkeypatch.setattr(devices, "cpu_saturated", saturated)

    async def scenario():
        source = _source()
        source.open()
        assert await source.first_sound()
        portaudio.flowing = False
        await _listen(source, 0.6)  # stalled 0.6 s: < STARVED_STALL_S (1 s)
        waited = source.reopened
        portaudio.flowing = True  # the late sound comes after all
        assert await _listen(source, 0.3) > 0
        portaudio.flowing = False
        await _listen(source, 1.6)  # stalled past STARVED_STALL_S: reopened even so
        source.close()
        return waited, source.reopened

    waited, reopened = asyncio.run(scenario())
    assert waited == 0 and reopened >= 1


def test_reopening_off_the_loop_a_frozen_server_leaves_the_loop_running(portaudio, idle_cpu):
    async def scenario():
        source = _source()
        waits = []
        source.on_waiting = waits.append
        source.open()
        assert await source.first_sound()
        portaudio.flowing = False
        portaudio.frozen.clear()  # reopening blocks, as on a frozen sound server
        thaw = threading.Timer(20.0, portaudio.frozen.set)  # were the loop stuck behind it
        thaw.start()
        listening = asyncio.create_task(_listen(source, 3.0))

        # the loop keeps turning while the reopen is stuck: it sees and reports the wait
        # before the server thaws (a reopen on the loop could not)
        async def until_waiting():
            while source.waiting is None:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(until_waiting(), 10.0)  # a hang fails, not blocks CI
        assert portaudio.streams[-1].closed and not portaudio.frozen.is_set()
        portaudio.flowing = True
        portaudio.frozen.set()
        await listening
        thaw.cancel()
        source.close()
        return waits, source

    waits, source = asyncio.run(asyncio.wait_for(scenario(), 30.0))
    assert waits == ["waiting for microphone 'default'", None]
    assert source.waiting is None and source.reopened >= 1
