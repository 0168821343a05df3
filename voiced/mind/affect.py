"""How the user sounds: arousal (calm - agitated) and valence (negative - positive).

From the voice itself: loudness, pitch level and range, speaking rate and pauses,
each compared with this user's own running baseline (a loud speaker is not always
agitated; a change from how they usually sound is what tells). From the words: the
VADER sentiment lexicon. Each utterance gets an estimate with a confidence that
grows with the speech there is to judge and with how well the baseline is known.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

RATE = 16_000
FRAME = 480  # 30 ms
F0_MIN_HZ, F0_MAX_HZ = 70.0, 400.0


@dataclass(frozen=True)
class VoiceFeatures:
    loudness_db: float
    """Mean level of the voiced frames, dBFS."""
    pitch_st: float
    """Median pitch, semitones above 55 Hz (0 when no pitch was found)."""
    pitch_range_st: float
    """Spread of the pitch (20th to 80th percentile), semitones."""
    rate_per_s: float
    """Words per second of speech when the words are known, else energy peaks per second."""
    pause_ratio: float
    """Share of the utterance's span that is silence."""
    speech_s: float


def _frames(audio: np.ndarray) -> np.ndarray:
    n = len(audio) // FRAME
    return audio[: n * FRAME].reshape(n, FRAME)


def _pitch(frame: np.ndarray) -> float:
    """Pitch of one voiced frame in Hz (YIN's cumulative mean normalised difference), 0 if
    it has none. YIN takes the first lag whose difference dips low, so a multiple of the
    period (an octave too low) or a strong harmonic is not taken for the period."""
    lo, hi = int(RATE / F0_MAX_HZ), int(RATE / F0_MIN_HZ)
    width = len(frame) - hi
    if width <= 0:
        return 0.0
    windows = np.lib.stride_tricks.sliding_window_view(frame, width)[: hi + 1]
    diff = ((windows[0] - windows) ** 2).sum(axis=1)
    cumulative = np.cumsum(diff[1:])
    cmndf = np.ones_like(diff)
    cmndf[1:] = diff[1:] * np.arange(1, hi + 1) / np.maximum(cumulative, 1e-12)
    dips = np.flatnonzero(cmndf[lo:] < 0.15)
    if len(dips) == 0:
        return 0.0
    lag = lo + int(dips[0])
    while lag + 1 <= hi and cmndf[lag + 1] < cmndf[lag]:
        lag += 1  # down to the bottom of that dip
    return RATE / lag


def voice_features(audio: np.ndarray, words: int = 0) -> VoiceFeatures:
    """Features of one utterance (16 kHz mono, int16 or float in [-1, 1])."""
    x = audio.astype(np.float64)
    if audio.dtype == np.int16:
        x /= 32768.0
    frames = _frames(x)
    if len(frames) == 0:
        return VoiceFeatures(-90.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    levels = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9)
    voiced = levels > max(levels.max() - 30.0, -60.0)
    speech_s = voiced.sum() * FRAME / RATE
    loudness = float(levels[voiced].mean()) if voiced.any() else -90.0
    strong = levels > levels.max() - 20.0  # the vowels: where pitch can be read reliably
    pitches = np.array([_pitch(f) for f in frames[voiced & strong]])
    pitches = pitches[pitches > 0]
    if len(pitches) >= 3:
        semis = 12 * np.log2(pitches / 55.0)
        pitch, spread = (
            float(np.median(semis)),
            float(np.percentile(semis, 80) - np.percentile(semis, 20)),
        )
    else:
        pitch, spread = 0.0, 0.0
    first, last = np.flatnonzero(voiced)[[0, -1]] if voiced.any() else (0, 0)
    span = max(1, last - first + 1)
    pauses = 1.0 - voiced[first : last + 1].sum() / span
    if words:
        rate = words / max(speech_s, 0.3)
    else:  # energy peaks: roughly one per syllable
        smooth = np.convolve(levels, np.ones(3) / 3, "same")
        peaks = (smooth[1:-1] > smooth[:-2]) & (smooth[1:-1] >= smooth[2:]) & voiced[1:-1]
        rate = peaks.sum() / max(speech_s, 0.3)
    return VoiceFeatures(loudness, pitch, spread, float(rate), float(pauses), float(speech_s))


@dataclass
class Baseline:
    """How this user usually sounds: running means, starting from a typical voice."""

    loudness_db: float = -24.0
    pitch_st: float = 0.0
    pitch_range_st: float = 4.0
    rate_per_s: float = 2.5
    pause_ratio: float = 0.15
    seen: int = 0

    def update(self, f: VoiceFeatures) -> None:
        if f.speech_s < 0.5:
            return
        weight = 1.0 / min(self.seen + 1, 20)  # a plain mean at first, then a slow drift
        for name in ("loudness_db", "pitch_range_st", "rate_per_s", "pause_ratio"):
            old = getattr(self, name)
            setattr(self, name, old + weight * (getattr(f, name) - old))
        if f.pitch_st:
            self.pitch_st = (
                f.pitch_st
                if not self.pitch_st
                else self.pitch_st + weight * (f.pitch_st - self.pitch_st)
            )
        self.seen += 1


SCALES = {"loudness_db": 6.0, "pitch_st": 2.0, "pitch_range_st": 3.0, "rate_per_s": 1.0}
"""What counts as one step away from the baseline, for each feature."""


TRUSTED = 0.3
"""The confidence from which the estimate is acted on (tone, pace, length)."""


@dataclass(frozen=True)
class Affect:
    arousal: float
    """-1 calm, flat, tired ... +1 agitated, excited."""
    valence: float
    """-1 negative ... +1 positive."""
    confidence: float
    """How far the voice can be trusted (speech enough, and a known baseline)."""
    features: VoiceFeatures | None = None
    deviations: dict[str, float] = field(default_factory=dict)

    @property
    def trusted(self) -> bool:
        """Enough speech, and a baseline known well enough, to act on the voice."""
        return self.confidence >= TRUSTED

    def tone(self) -> str:
        """The tone the prompt's note asks for; none when the voice cannot vouch for it
        (a wrong note does more harm than none)."""
        return self.describe() if self.trusted else ""

    @property
    def pace(self) -> float:
        """How the reply should be spoken: slower and softer for someone tired and low,
        a little quicker for someone excited or in a hurry."""
        if not self.trusted:
            return 1.0
        if self.arousal < -0.35:
            return 1.12 if self.valence < 0.2 else 1.06
        if self.arousal > 0.5:
            return 0.94
        return 1.0

    @property
    def hurried(self) -> bool:
        return self.trusted and self.deviations.get("rate_per_s", 0.0) > 1.0

    def describe(self) -> str:
        """A few words for the prompt: "tired and low", "excited and happy" ..."""
        heard = self.trusted  # the voice; the words are read either way
        energy = ""
        if heard:
            energy = "excited" if self.arousal > 0.35 else "tired" if self.arousal < -0.35 else ""
        mood = "happy" if self.valence > 0.35 else "low" if self.valence < -0.35 else ""
        if energy == "excited" and mood == "low":
            energy = "upset"
        parts = [p for p in (energy, mood) if p]
        return " and ".join(parts)

    def noticed(self) -> str:
        """What a friend would say on hearing it in the voice ("You sound tired."), or
        nothing: only for what the voice itself shows, against the user's baseline."""
        if not self.trusted:
            return ""
        # Pace alone is no evidence to say it aloud: a sentence's rate depends on its words.
        # Loudness and pitch must show it too.
        voice = (self.deviations.get("loudness_db", 0.0) + self.deviations.get("pitch_st", 0.0)) / 2
        if abs(voice) < 0.75 or (voice > 0) != (self.arousal > 0):
            return ""
        return {
            "tired and low": "You sound worn out.",
            "tired": "You sound tired.",
            "tired and happy": "You sound tired, but happy.",
            "excited and happy": "You sound excited!",
            "excited": "You sound full of energy!",
            "upset": "You sound upset.",
        }.get(self.describe(), "")

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["description"] = self.describe()
        data["noticed"] = self.noticed()
        return data


def text_valence(text: str) -> float:
    """VADER's compound score for the words, -1 .. +1."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = SentimentIntensityAnalyzer()
    return float(_ANALYZER.polarity_scores(text)["compound"]) if text.strip() else 0.0


_ANALYZER = None


class AffectEstimator:
    """Per utterance, against the user's baseline (which it keeps updating)."""

    def __init__(self, baseline: Baseline | None = None) -> None:
        self.baseline = baseline or Baseline()

    def estimate(self, audio: np.ndarray, text: str = "", learn: bool = True) -> Affect:
        """The estimate for one utterance; learn: let it count toward the baseline."""
        words = len(text.split())
        f = voice_features(audio, words)
        b = self.baseline
        dev = {
            "loudness_db": (f.loudness_db - b.loudness_db) / SCALES["loudness_db"],
            "pitch_st": (f.pitch_st - b.pitch_st) / SCALES["pitch_st"]
            if f.pitch_st and b.pitch_st
            else 0.0,
            "pitch_range_st": (f.pitch_range_st - b.pitch_range_st) / SCALES["pitch_range_st"],
            "rate_per_s": (f.rate_per_s - b.rate_per_s) / SCALES["rate_per_s"],
            "pause_ratio": (f.pause_ratio - b.pause_ratio) / 0.15,
        }
        arousal = math.tanh(
            0.45 * dev["loudness_db"]
            + 0.3 * dev["pitch_st"]
            + 0.2 * dev["pitch_range_st"]
            + 0.3 * dev["rate_per_s"]
            - 0.15 * dev["pause_ratio"]
        )
        words_valence = text_valence(text)
        # the voice colours the words a little: a lively, varied pitch reads warmer
        valence = max(
            -1.0, min(1.0, 0.85 * words_valence + 0.15 * math.tanh(dev["pitch_range_st"]))
        )
        # The voice says little until this speaker's usual voice is known.
        confidence = min(1.0, f.speech_s / 2.0) * min(b.seen, 3) / 3
        if learn:
            self.baseline.update(f)
        return Affect(
            arousal, valence, round(confidence, 3), f, {k: round(v, 2) for k, v in dev.items()}
        )
