"""Listening: microphone frames in, segment events out (speech started, a pause, the end).

Here are mute, half duplex, push-to-talk, the wake word (asleep, nothing else hears the
room) and the echo-cancelled voice activity decision: whether the user is speaking in a
frame, with the assistant's own voice taken out of it. No turn logic: what the events
mean is decided by the pipeline and the router.
"""

from __future__ import annotations

import numpy as np

from voiced.audio import SPEAKER_IDLE_S, AudioSink
from voiced.audio.echo import DoubleTalkDetector, EchoCanceller, PlaybackReference
from voiced.config import Settings
from voiced.engines import VoiceActivity, Wake
from voiced.listen.segmenter import Segment, Segmenter
from voiced.listen.wake import WakeGate

ECHO_TAIL_S = 0.2
"""How long after the assistant's sound a room still echoes it."""
LEAD_S = 0.15
"""How far ahead the double-talk detector sees what the speaker will play: a stream that
has just started plays up to its latency sooner than the reference says."""
ONSET_MARGIN_FRAMES = 2
"""Frames kept before the first one in which the user's voice stood out of the echo."""


def segmenter_for(settings: Settings) -> Segmenter:
    """The segmenter the settings ask for. The sequential baseline waits for the end of the
    turn: it reports no pauses. With the end-of-turn judge, pauses decide the end and a
    silence of unfinished_silence_ms always ends it."""
    vad = settings.vad
    if settings.pipeline.sequential:
        segmenter = Segmenter(vad, settings.audio.frame_ms)
        segmenter.endpointer.pause_frames = 0
        return segmenter
    judged = vad.turn_model and vad.pause_ms
    longest = vad.unfinished_silence_ms if judged else vad.end_silence_ms
    return Segmenter(vad, settings.audio.frame_ms, longest)


class Listener:
    def __init__(
        self,
        settings: Settings,
        vad: VoiceActivity,
        sink: AudioSink,
        echo: EchoCanceller | None = None,
        reference: PlaybackReference | None = None,
        wake: WakeGate | None = None,
    ) -> None:
        self.vad = vad
        self.wake = wake
        """The wake word (wake mode, acoustic): asleep, the frames reach nothing else."""
        self.woken: Wake | None = None
        """A wake word just heard, for the pipeline to take."""
        self.sink = sink
        self.echo = echo
        self.reference = reference
        self.double_talk = DoubleTalkDetector(
            lead_blocks=round(LEAD_S * 100), same_stream_s=SPEAKER_IDLE_S
        )
        self.muted = False
        """A hard mute: the microphone's frames are dropped unheard."""
        self.talk_held = False
        """Push-to-talk held: everything heard is the user's turn until it is let go."""
        self.configure(settings)

    def configure(self, settings: Settings) -> None:
        """Take new settings (at start, and on a reload): a fresh segmenter for them."""
        self.settings = settings
        self.segmenter = segmenter_for(settings)
        self._echo_tail_s = settings.audio.echo_tail_ms / 1000

    @property
    def in_speech(self) -> bool:
        return self.segmenter.in_speech

    def deaf(self, frame_start_s: float) -> bool:
        """Whether this frame goes unheard: muted, or half duplex while the assistant's
        voice may be in the microphone. What was being heard is dropped."""
        deaf = self.muted or (
            self.settings.audio.half_duplex
            and frame_start_s < self.sink.busy_until() + self._echo_tail_s
        )
        if deaf:
            self.segmenter.reset()
        return deaf

    def push(self, frame: np.ndarray, start_s: float) -> Segment | None:
        """One frame heard: the segment event it completes, if any."""
        if self.wake is not None and not (
            self.in_speech or self.wake.awake(start_s, self.sink.busy_until())
        ):
            # asleep: nothing has played for follow_up_s, so there is no echo to take out;
            # only the wake word hears the frame, and the pre-roll keeps it (a request in
            # the wake word's breath starts there)
            self.woken = self.wake.hear(frame, start_s) or self.woken
            return self.segmenter.push(frame, False, start_s)
        far, clean = self._cancelled(frame, start_s)
        if self.wake is not None:  # over a reply: its own voice saying the word is not heard
            self.woken = self.wake.hear(clean, start_s) or self.woken
        hears, over_echo = self._hears_user(frame, far, clean)
        if self.settings.activation.mode == "ptt":
            hears = over_echo = False  # only what is said while the button is held
        # the detector has already weighed the voice over its window: no more frames
        # are waited for before the reply is stopped
        confirmed = over_echo and self.double_talk.sure
        return self.segmenter.push(frame, hears or self.talk_held, start_s, confirmed)

    def barged_in(self) -> None:
        """The user spoke over the reply: what came before their voice was the assistant's."""
        onset = self.double_talk.onset_frames
        if onset:
            self.segmenter.keep_last(onset + ONSET_MARGIN_FRAMES)

    def _cancelled(self, frame: np.ndarray, start_s: float) -> tuple[np.ndarray, np.ndarray]:
        """What the speaker played from ECHO_TAIL_S before the frame to LEAD_S after it
        (empty without a canceller), and the frame with the assistant's voice taken out
        (always, so the canceller stays adapted)."""
        if self.echo is None or self.reference is None:
            return np.zeros(0, np.int16), frame
        n, tail = len(frame), round(ECHO_TAIL_S * 16000)
        far = self.reference.read(start_s - ECHO_TAIL_S, tail + n + round(LEAD_S * 16000))
        played = far[tail : tail + n]  # what the speaker played while this was heard
        return far, self.echo.process(frame, played)

    def _hears_user(
        self, frame: np.ndarray, far: np.ndarray, clean: np.ndarray
    ) -> tuple[bool, bool]:
        """Whether the user is speaking in this frame, with the assistant's own voice
        taken out of the decision, and whether that was over the echo. The recogniser
        still gets the frame as it is: the canceller's suppressor chops the start of words
        in double talk, and whisper copes better with a little echo than with chopped
        words."""
        if self.echo is None or self.reference is None:
            return self.vad.is_speech(frame), False
        n, tail = len(frame), round(ECHO_TAIL_S * 16000)
        speech = self.vad.is_speech(frame)
        # always too: it follows the room's delay and noise between the replies
        offset, length = self.double_talk.far_window(n)  # within what was read
        ahead = far[tail + offset : tail + offset + length]
        over_echo = self.double_talk.user_speaks(frame, ahead, speech)
        if not far.any():  # nothing of ours can be in the room
            self.double_talk.reset()
            return speech, False
        if self.segmenter.in_speech:  # the user is talking: double talk must not chop them
            return self.vad.is_speech(clean), False
        return over_echo, over_echo
