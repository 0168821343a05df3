"""The speaker's queue: when each piece sounds, and how the device's readings move it."""

import numpy as np

from voiced.audio.echo import PlaybackReference
from voiced.audio.playback import PlaybackQueue


def piece(n, value=1):
    return np.full(n, value, dtype=np.int16)


def test_pieces_sound_one_behind_the_other_and_a_latency_from_now_when_none_is_queued():
    queue = PlaybackQueue(1000)
    assert queue.push(piece(500), earliest_s=2.0) == 2.0
    assert queue.push(piece(200), earliest_s=2.1) == 2.5  # behind the first, not at 2.1
    out = np.zeros(800, dtype=np.int16)
    assert queue.take(out, sounds_s=2.0) is None
    assert (out[:700] == 1).all() and (out[700:] == 0).all() and queue.samples == 0
    # nothing queued: a latency from now, yet never before what was taken has sounded
    assert queue.push(piece(10), earliest_s=2.3) == 2.7
    assert queue.push(piece(10), earliest_s=9.0) == 2.71


def test_a_piece_that_sounds_later_than_said_is_found_and_everything_queued_moves():
    queue = PlaybackQueue(1000)
    queue.push(piece(300, 1), earliest_s=1.0)
    queue.push(piece(300, 2), earliest_s=1.0)  # 1.3 .. 1.6 s
    out = np.zeros(100, dtype=np.int16)
    assert queue.take(out, sounds_s=1.01) is None  # within the tolerance
    # an underrun: the device paused 80 ms, what is next sounds at 1.18, not 1.10
    moved = queue.take(out, sounds_s=1.18)
    assert moved is not None
    assert abs(moved[0] - 1.1) < 1e-9 and abs(moved[1] - 0.08) < 1e-9
    # until it is made, no other is found; once made, the times agree again
    assert queue.take(out, sounds_s=1.38) is None
    queue.move(moved[1])
    assert queue.take(out, sounds_s=1.38) is None
    assert abs(queue.push(piece(10), earliest_s=0.0) - 1.68) < 1e-9  # behind both, moved


def test_a_fresh_stream_that_starts_sooner_than_its_latency_moves_back():
    queue = PlaybackQueue(1000)
    queue.push(piece(500), earliest_s=0.5)
    out = np.zeros(100, dtype=np.int16)
    by = queue.take(out, sounds_s=0.44)
    assert by is not None and abs(by[1] + 0.06) < 1e-9
    queue.move(by[1])
    assert abs(queue.push(piece(10), earliest_s=0.0) - 0.94) < 1e-9


def test_the_reference_moves_from_where_the_playback_was_found_late():
    ref = PlaybackReference()
    ref.add(1.0, piece(8000, 100), 16000)  # 1.0 .. 1.5 s
    ref.add(1.5, piece(1600, 200), 16000)  # 1.5 .. 1.6 s
    ref.move(1.25, 0.1)  # from 1.25 s on it all sounds 0.1 s later
    got = ref.read(1.0, 16000)
    assert (got[:4000] == 100).all()  # 1.0 .. 1.25: as it was
    assert (got[4000:5600] == 0).all()  # the pause
    assert (got[5600:9600] == 100).all()  # the rest of the first, 1.35 .. 1.6
    assert (got[9600:11200] == 200).all() and (got[11200:] == 0).all()  # 1.6 .. 1.7
