"""Keeping the assistant's own voice out of what it hears.

PlaybackReference records what the speaker plays on the stream's time axis (at
16 kHz); the echo canceller (WebRTC's AEC3) subtracts it from the microphone.
The same reference lets a file source simulate a room: the reply mixed back into
the input with a delay and a gain.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from voiced.audio import resample, to_int16
from voiced.config import AudioSettings
from voiced.types import SAMPLE_RATE_HZ


class PlaybackReference:
    """What the speaker plays, by stream time, at 16 kHz."""

    def __init__(self, keep_s: float = 20.0) -> None:
        self._chunks: list[tuple[int, np.ndarray]] = []
        self._keep = int(keep_s * SAMPLE_RATE_HZ)

    def add(self, start_s: float, audio: np.ndarray, rate_hz: int) -> None:
        samples = resample(to_int16(audio), rate_hz, SAMPLE_RATE_HZ)
        start = round(start_s * SAMPLE_RATE_HZ)
        horizon = start - self._keep
        self._chunks = [(s, c) for s, c in self._chunks if s + len(c) > horizon]
        self._chunks.append((start, samples))

    def read(self, start_s: float, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.int16)
        begin = round(start_s * SAMPLE_RATE_HZ)
        for start, chunk in self._chunks:
            lo, hi = max(begin, start), min(begin + n, start + len(chunk))
            if lo < hi:
                out[lo - begin : hi - begin] = chunk[lo - start : hi - start]
        return out

    def move(self, from_s: float, by_s: float) -> None:
        """What plays from from_s on was found to sound by_s later (below zero: sooner)."""
        at = round(from_s * SAMPLE_RATE_HZ)
        by = round(by_s * SAMPLE_RATE_HZ)
        moved = []
        for start, chunk in self._chunks:
            if start >= at:
                moved.append((start + by, chunk))
            elif start + len(chunk) > at:  # it sounds on, and then later
                moved += [(start, chunk[: at - start]), (at + by, chunk[at - start :])]
            else:
                moved.append((start, chunk))
        self._chunks = moved

    def cut(self, at_s: float) -> None:
        """Playback stopped at at_s: nothing after it will be heard."""
        at = round(at_s * SAMPLE_RATE_HZ)
        self._chunks = [(s, c[: max(0, at - s)]) for s, c in self._chunks if s < at]


class EchoCanceller:
    """WebRTC AEC3 (pywebrtc-audio) on 16 kHz int16 frames, with the playback as reference."""

    def __init__(self, delay_ms: int) -> None:
        from pywebrtc_audio import EchoCanceller as Aec3

        self._aec = Aec3(sample_rate=SAMPLE_RATE_HZ, num_channels=1, stream_delay_ms=delay_ms)

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        return np.asarray(self._aec.process(near, far), dtype=np.int16)


def echo_canceller(audio: AudioSettings) -> EchoCanceller | None:
    """The canceller the [audio] settings ask for (none in half duplex: the microphone is
    deaf while the speaker plays)."""
    if audio.half_duplex or not audio.echo_cancel:
        return None
    return EchoCanceller(audio.echo_delay_ms)


def rms(frame: np.ndarray) -> float:
    return float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))) if len(frame) else 0.0


BLOCK = 160
"""10 ms: the step of the band energies."""
_WINDOW = np.hanning(2 * BLOCK)
_NFFT = 512
_BANDS = 16


def _band_edges() -> np.ndarray:
    """FFT bins of 16 bands, even on the mel scale from 150 Hz to 7 kHz."""
    mel = np.linspace(2595 * np.log10(1 + 150 / 700), 2595 * np.log10(1 + 7000 / 700), _BANDS + 1)
    hz = 700 * (10 ** (mel / 2595) - 1)
    return np.round(hz / SAMPLE_RATE_HZ * _NFFT).astype(int)


_DECAY = 10 ** (-1 / 10)
"""How much of the room's ringing is left 10 ms later."""
_NEW_STREAM = 15
"""How far (in blocks) a new stream's delay may be from the last one's: one that has just
started plays up to 120 ms sooner than its reported latency says."""
_EDGES = _band_edges()
_SCALE = _NFFT / 2 * float(np.sum(_WINDOW**2))
"""Band energies are divided by this, so that they add up to about the mean square."""


def band_energies(audio: np.ndarray) -> np.ndarray:
    """The energy in each band of 20 ms windows every 10 ms: (blocks, bands)."""
    x = audio.astype(np.float64)
    blocks = (len(x) - len(_WINDOW)) // BLOCK + 1
    if blocks <= 0:
        return np.zeros((0, _BANDS))
    index = np.arange(len(_WINDOW))[None, :] + BLOCK * np.arange(blocks)[:, None]
    power = np.abs(np.fft.rfft(x[index] * _WINDOW, _NFFT)) ** 2
    summed = np.cumsum(power, axis=1)
    return (summed[:, _EDGES[1:] - 1] - summed[:, _EDGES[:-1] - 1]) / _SCALE


class DoubleTalkDetector:
    """Whether the user has started talking while the assistant's voice is in the room.

    Judged on the raw microphone against what the speaker played, band by band, 10 ms by
    10 ms: the echo of the assistant's voice in a band is at most its loudness there a
    moment ago (the room's delay, found by correlating how the two loudnesses change, at
    whichever lag near it explains the microphone best) times the room's gain in that band
    (learnt from the replies themselves), or what still rings of the moments before. The
    user's voice is what that does not explain. No canceller is waited for: WebRTC's
    suppressor swallows the user's words until it has learnt the room, and lets a syllable
    of echo through when a reply starts after a silence; neither changes this judgement.
    The price: a user much quieter than the echo is heard only in the reply's own pauses.
    """

    def __init__(
        self,
        floor_rms: float = 30.0,
        margin: float = 2.0,
        share: float = 0.3,
        window: int = 10,
        needed: int = 3,
        max_delay_blocks: int = 30,
        lead_blocks: int = 0,
        warm_up: int = 10,
        quantile: float = 75,
        same_stream_s: float = 1.0,
    ) -> None:
        self.floor_rms = floor_rms
        """About -60 dBFS: below any voice meant for the microphone."""
        self.margin = margin
        """How much louder than its learnt gain the echo may come back."""
        self.share = share
        """The part of the microphone's energy the echo must leave unexplained."""
        self.quantile = quantile
        """Of the gains seen, this percentile is the room's: a high one, yet not the few
        blocks in which the user spoke unnoticed."""
        self._recent: deque[bool] = deque(maxlen=window)
        self._needed = needed
        self.lead_blocks = lead_blocks
        """How far ahead of the microphone the speaker's reference is given: a stream
        that has just started plays sooner than its reported latency says, and its echo
        then comes before the reference."""
        self._max_delay = max_delay_blocks + lead_blocks
        self._warm_up = warm_up
        """Readings of the room's gain before it is trusted: 100 ms of the reply's echo.
        The user's voice over the echo is not learnt from, so with more a short first word
        and a pause ("Sure! | Once upon a time,") left a "Stop." 0.2 s in unheard until it
        was over (live, with 15: in 3 of 4 runs on PipeWire and 2 of 4 on PulseAudio)."""
        keep = 10 * self._max_delay
        self._far = np.zeros((keep, _BANDS))
        """The band energies of the last 3 s, oldest first: what the speaker played, and
        what the microphone heard."""
        self._mic = np.zeros((keep, _BANDS))
        self._tails = (np.zeros(BLOCK, np.int16), np.zeros(BLOCK, np.int16))
        self._gains: deque[np.ndarray] = deque(maxlen=150)
        self._noise = np.full(_BANDS, floor_rms**2 / _BANDS)
        self._playing = 0
        """Blocks since the speaker went loud: its echo may be on its way for a while."""
        self._frames = 0
        self._delay_heard = False
        """Whether this stream's echo has shown the room's delay yet."""
        self._same_stream = round(same_stream_s * 100)
        """A speaker silent for longer than this may have been stopped (SPEAKER_IDLE_S):
        its next stream may come back at another delay. After a shorter pause the delay is
        the one heard before it."""
        self._silent = 0
        self._moved_to: int | None = None
        """A delay found away from the room's, waiting to be found again before it is
        taken (a user who starts with a reply's words moves the loudness correlation)."""
        self._lag: int | None = None
        """The room's delay in blocks of history (the lead included), once it is known."""

    @property
    def delay_blocks(self) -> int | None:
        """The room's delay from the speaker to the microphone, once it is known (below
        zero: its echo comes before the reference says it plays)."""
        return None if self._lag is None else self._lag - self.lead_blocks

    @property
    def trusted(self) -> bool:
        """Whether the room's delay and gain have been learnt (in the first second or so
        of the first reply)."""
        return len(self._gains) >= self._warm_up

    def user_speaks(self, mic: np.ndarray, far: np.ndarray, is_speech: bool) -> bool:
        """One frame of the microphone, what the speaker played in the same time, and the
        VAD's word on the microphone. Call it for every frame, played or not: it follows
        the room's delay and noise."""
        heard_mic = self._blocks(far, mic)
        if not len(heard_mic):
            return False
        history = self._far
        if history[-self._max_delay :].max() < self.floor_rms**2 / _BANDS:  # nothing on its way
            self._playing = 0
            self._silent += len(heard_mic)
            if self._silent > self._same_stream:
                self._delay_heard = False
            self._noise = np.minimum(self._noise * 1.002, heard_mic.min(axis=0)) + 1e-9
            return False
        self._playing += len(heard_mic)
        self._silent = 0
        self._frames += 1
        # not while the user may be talking: their voice would move the correlation
        if self._frames % (10 if self._delay_heard else 3) == 0 and not any(self._recent):
            self._follow_delay(history, len(heard_mic))
        user = False
        if self.trusted:
            gain = np.percentile(np.array(self._gains), self.quantile, axis=0)
            unexplained = self._unexplained(history, heard_mic, gain)
            total = heard_mic.sum()
            user = unexplained > self.share * total and total > self.floor_rms**2
        arrived = self._max_delay if self._lag is None else self._lag + 3
        if not user and not any(self._recent) and self._playing > arrived:
            self._learn(history, heard_mic)
        self._recent.append(is_speech and user)
        return self.trusted and sum(self._recent) >= self._needed

    def _unexplained(self, history: np.ndarray, heard: np.ndarray, gain: np.ndarray) -> float:
        """The energy of the new blocks that the echo cannot explain, at the delay that
        explains them best (the room's give or take 30 ms; until a new stream's echo has
        shown it, give or take 150 ms; before any was heard, any delay up to 300 ms), with
        what still rings of the moments before."""
        blocks = len(heard)
        now = len(history) - blocks  # the first new block
        if self._lag is None:
            lags = range(0, min(now, self._max_delay) + 1)
        elif not self._delay_heard:
            lags = range(max(0, self._lag - _NEW_STREAM), min(now, self._lag + _NEW_STREAM) + 1)
        else:
            lags = range(max(0, self._lag - 3), min(now, self._lag + 3) + 1)
        # what rings of each block: half of what played the block before, 1 dB less every
        # 10 ms (a lively room's 0.6 s reverberation time), the loudest of them
        start = max(0, now - lags[-1] - 30)
        ringing = np.zeros((len(history) - start, _BANDS))
        for i in range(1, len(ringing)):
            ringing[i] = _DECAY * np.maximum(ringing[i - 1], 0.5 * history[start + i - 1])
        floor = 3 * self._noise
        best = float("inf")
        for at in (now - lag for lag in lags):
            rings = ringing[at - start : at - start + blocks]
            expected = self.margin * gain * np.maximum(history[at : at + blocks], rings) + floor
            best = min(best, float(np.maximum(0.0, heard - expected).sum()))
        return best

    def _follow_delay(self, history: np.ndarray, new: int) -> None:
        """Find the room's delay again. Once it is first known (or found moved), what came
        back since the speaker went loud is learnt from as well: it was the echo alone, and
        a user who starts within a reply's first half second is then heard over it."""
        found = self._delay(history)
        if found is None:
            return
        known = self._lag
        moved = known is not None and abs(found - known) > 3
        if moved and (self._moved_to is None or abs(found - self._moved_to) > 3):
            self._moved_to = found  # taken if it is found there again
            return
        self._moved_to = None
        self._delay_heard, self._lag = True, found
        if moved:
            self._gains.clear()  # learnt at a delay that was not the room's
        if known is None or moved:
            span = min(self._playing, len(history)) - found - new
            for back in range(span, 0, -1):  # oldest first, each judged by those before
                came = new + back
                self._learn_gains(history[-came - found :][:1], self._mic[-came:][:1])

    def _learn(self, history: np.ndarray, heard: np.ndarray) -> None:
        """The echo alone: learn the room's gain from the bands the speaker filled, as the
        share of what played one delay before that came back. Before the delay is known, a
        microphone no louder than its noise while the speaker has long been loud is a room
        without echo (headphones)."""
        filled_at = (4 * self.floor_rms) ** 2 / _BANDS
        if self._lag is None:
            said = history[-self._max_delay :].max(axis=0)  # loud within any delay it may have
            for came in heard:
                if (said > filled_at).sum() >= _BANDS // 2 and (came <= 3 * self._noise).all():
                    self._gains.append(np.zeros(_BANDS))
            return
        start = len(history) - len(heard) - self._lag
        self._learn_gains(history[start : start + len(heard)], heard)

    def _learn_gains(self, played: np.ndarray, heard: np.ndarray) -> None:
        """The gain of each band in which the speaker played loud, as the share that came
        back one delay later."""
        filled_at = (4 * self.floor_rms) ** 2 / _BANDS
        typical = np.median(np.array(self._gains), axis=0) if len(self._gains) >= 5 else None
        for said, came in zip(played, heard, strict=True):
            filled = said > filled_at
            if filled.sum() >= _BANDS // 2:
                ratio = np.where(filled, came / np.maximum(said, 1e-9), 0.0)
                if typical is not None and np.median(ratio[filled] / (typical[filled] + 1e-9)) > 4:
                    continue  # far above the room's echo: the user, speaking unnoticed so far
                self._gains.append(np.where(filled, ratio, ratio[filled].max()))

    def _blocks(self, far: np.ndarray, mic: np.ndarray) -> np.ndarray:
        """Take in the new blocks' band energies, each over this frame and the end of the
        last; the microphone's are returned. A longer far (far_window) also redoes the last
        blocks of what the speaker played: read ahead, they may have been read before that
        part of the reply was handed to the speaker."""
        far_tail, mic_tail = self._tails
        mic_e = band_energies(np.concatenate([mic_tail, mic]))
        new = len(mic_e)
        if len(far) > len(mic):
            far_e = band_energies(far)
        else:
            far_e = band_energies(np.concatenate([far_tail, far]))
        self._tails = (far[-BLOCK:].astype(np.int16), mic[-BLOCK:].astype(np.int16))
        self._far = np.concatenate([self._far[new:], far_e[-new:]])
        if len(far_e) > new:
            self._far[-len(far_e) : -new] = far_e[:-new]
        self._mic = np.concatenate([self._mic[new:], mic_e])
        return mic_e

    def far_window(self, frame: int) -> tuple[int, int]:
        """Where the far of a frame of `frame` samples starts (in samples from the frame's
        own start) and how long it is: lead_blocks ahead, with the blocks read ahead
        before it to redo (and the window's overlap)."""
        back = (self.lead_blocks + 3) * BLOCK + BLOCK
        return self.lead_blocks * BLOCK - back, back + frame

    def _delay(self, history: np.ndarray) -> int | None:
        """The lag at which the microphone's loudness follows the speaker's best, over
        what played since the speaker went loud (up to three seconds), when enough of it
        was voice and the match is clear."""
        # not before: the user's request, just before, is loud on the microphone alone
        span = min(len(history), self._playing + self._max_delay)
        far, mic = history[-span:].sum(axis=1), self._mic[-span:].sum(axis=1)
        # enough of the speaker's voice that has had the time to come back
        voice = far[-self._playing : len(far) - self.lead_blocks] > (10 * self.floor_rms) ** 2
        if voice.sum() < self._warm_up:
            return None
        # how the loudness changes, floored at the noise: syllable by syllable, the change
        # lines up at one lag only (the loudness itself matches at many)
        floor = (self.floor_rms**2) / 4
        far, mic = np.diff(np.log(far + floor), prepend=0), np.diff(np.log(mic + floor), prepend=0)
        best, lag = 0.5, None
        n = len(far)
        for candidate in range(self._max_delay + 1):
            a, b = far[self._max_delay - candidate : n - candidate], mic[self._max_delay :]
            if a.std() > 1e-6 and b.std() > 1e-6:
                match = float(np.corrcoef(a, b)[0, 1])
                if match > best:
                    best, lag = match, candidate
        return lag

    @property
    def sure(self) -> bool:
        """Whether the user's voice stood out of the echo in each of the last frames
        needed (not a few scattered ones)."""
        recent = list(self._recent)[-self._needed :]
        return len(recent) == self._needed and all(recent)

    @property
    def onset_frames(self) -> int:
        """How many frames ago (the last one counting as 1) the first loud one in the
        window came: where the user's voice began, as near as the window knows."""
        for age, loud in enumerate(self._recent):
            if loud:
                return len(self._recent) - age
        return 0

    def reset(self) -> None:
        """The assistant went quiet: the next time starts with a fresh window."""
        self._recent.clear()
