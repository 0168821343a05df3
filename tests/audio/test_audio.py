import wave

import numpy as np

from tests.fakes import ManualClock
from voiced.audio import Resampler, resample, to_int16
from voiced.audio.files import FileSink


def dominant_hz(signal: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / rate)[spectrum.argmax()])


def test_resampler_keeps_pitch_and_length_across_chunks():
    rate_in, rate_out = 48_000, 16_000
    t = np.arange(rate_in) / rate_in
    tone = to_int16(0.5 * np.sin(2 * np.pi * 440 * t))
    resampler = Resampler(rate_in, rate_out)
    out = np.concatenate([resampler.process(c) for c in np.array_split(tone, 37)])
    out = np.concatenate([out, resampler.flush()])
    assert abs(len(out) - rate_out) <= 2
    assert abs(dominant_hz(out.astype(float), rate_out) - 440) < 3
    # no clicks at chunk joins: neighbouring samples of a 440 Hz tone stay close
    assert np.abs(np.diff(out.astype(float))).max() < 0.5 * 32767 * 2 * np.pi * 440 / rate_out * 1.1


def test_resampler_upsamples_too():
    tone = to_int16(0.5 * np.sin(2 * np.pi * 300 * np.arange(22050) / 22050))
    out = resample(tone, 22050, 44100)
    assert abs(len(out) - 44100) <= 2
    assert abs(dominant_hz(out.astype(float), 44100) - 300) < 3


def level_db(signal: np.ndarray, reference: np.ndarray) -> float:
    rms = np.sqrt(np.mean(signal.astype(float) ** 2))
    return float(20 * np.log10(max(rms, 1e-9) / np.sqrt(np.mean(reference.astype(float) ** 2))))


def test_what_lies_above_the_new_nyquist_is_filtered_not_folded_back():
    # a 10 kHz tone at 48 kHz has no place at 16 kHz: linear interpolation folded it to a
    # full-level 6 kHz whistle; a band-limited resampler leaves next to nothing
    t = np.arange(48_000) / 48_000
    high = to_int16(0.5 * np.sin(2 * np.pi * 10_000 * t))
    resampler = Resampler(48_000, 16_000)
    out = np.concatenate([resampler.process(c) for c in np.array_split(high, 50)])
    assert level_db(out[800:], high) < -40
    # while speech frequencies pass at full level
    voice = to_int16(0.5 * np.sin(2 * np.pi * 3_000 * t))
    assert abs(level_db(resample(voice, 48_000, 16_000)[800:-800], voice)) < 0.5


def test_float_audio_stays_float():
    tone = (0.25 * np.sin(2 * np.pi * 200 * np.arange(22050) / 22050)).astype(np.float32)
    out = resample(tone, 22050, 16000)
    assert out.dtype == np.float32 and abs(len(out) - 16000) <= 2


def test_file_sink_is_time_aligned_with_the_stream(tmp_path):
    clock = ManualClock()
    sink = FileSink(tmp_path / "out.wav", 1000, clock)
    sink.min_duration_s = 5.0
    clock.t = 1.0
    assert sink.play(np.full(500, 1000, dtype=np.int16)) == 1.0
    assert sink.play(np.full(500, 2000, dtype=np.int16)) == 1.5  # queued behind the first
    assert sink.busy_until() == 2.0
    clock.t = 3.0
    assert sink.play(np.full(100, 3000, dtype=np.int16)) == 3.0
    sink.close()
    with wave.open(str(tmp_path / "out.wav")) as wav:
        assert wav.getframerate() == 1000
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    assert len(data) == 5000
    assert (data[:1000] == 0).all() and (data[1000:1500] == 1000).all()
    assert (data[1500:2000] == 2000).all() and (data[2000:3000] == 0).all()
    assert (data[3000:3100] == 3000).all() and (data[3100:] == 0).all()


def test_file_sink_writes_what_has_played_and_cuts_the_rest_on_a_flush(tmp_path):
    clock = ManualClock()
    sink = FileSink(tmp_path / "out.wav", 1000, clock)
    for second in range(20):  # a long run: what has played leaves memory for the file
        clock.t = float(second)
        sink.play(np.full(500, 100 + second, dtype=np.int16))
    assert len(sink._chunks) == 1 and not (tmp_path / "out.wav").exists()
    clock.t = 20.0
    sink.play(np.full(1000, 7, dtype=np.int16))
    clock.t = 20.25  # the user barges in: the rest is cut
    assert sink.flush() == 20.25
    sink.close()
    with wave.open(str(tmp_path / "out.wav")) as wav:
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    assert len(data) == 20250
    assert (data[19000:19500] == 119).all() and (data[19500:20000] == 0).all()
    assert (data[20000:20250] == 7).all()
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_first_sound_of_a_reply_comes_without_the_voice_s_lead_in():
    import numpy as np

    from voiced.turn.speaker import without_lead_in

    speech = np.concatenate([np.zeros(1000, np.int16), np.full(2000, 3000, np.int16)])
    trimmed = without_lead_in(speech, 22050)
    assert len(trimmed) == 2000 + 22050 // 200 and trimmed[-1] == 3000
    assert len(without_lead_in(np.zeros(22050, np.int16), 22050)) == 22050 - 2205  # at most 0.1 s
    assert len(without_lead_in(speech[1000:], 22050)) == 2000  # nothing to take


def _stamps(arrivals, block=320, rate=16000):
    """Frame times from CaptureTimes for blocks arriving at the given times."""
    from voiced.audio.devices import CaptureTimes

    times, out, delivered = CaptureTimes(rate), [], 0
    for arrived_s in arrivals:
        times.arrived(block, arrived_s)
        out.append((times.at(delivered / rate), arrived_s))
        delivered += block
    return out


def test_no_microphone_frame_is_stamped_after_it_arrived_though_the_first_block_came_late():
    # 20 ms blocks; the first arrives 30 ms late (the stream starting up), the rest on time
    arrivals = [1.05] + [1.02 + 0.02 * k for k in range(1, 40)]
    stamps = _stamps(arrivals)
    late = [s + 0.02 - a for s, a in stamps[10:]]  # frame end after its arrival: > 0
    assert max(late) <= 1e-9, late
    assert all(b > a for (a, _), (b, _) in zip(stamps, stamps[1:], strict=False))


def test_microphone_frame_times_keep_the_sample_count_when_blocks_come_in_bursts():
    # blocks of 20 ms arrive two at a time, every 40 ms: the times stay 20 ms apart
    arrivals = [1.0 + 0.04 * (k // 2) + 0.04 for k in range(40)]
    stamps = [s for s, _ in _stamps(arrivals)]
    steps = np.diff(stamps[5:])
    assert np.allclose(steps, 0.02, atol=1e-4), steps  # within a sample
