"""How the user sounds: real recordings and controlled variations of them, and the words."""

import json

import numpy as np
import pytest

from tests.conftest import DATA, voiced
from voiced.audio.files import write_wav
from voiced.engines.whisper import read_audio_file
from voiced.mind.affect import Affect, AffectEstimator, text_valence, voice_features

SENTENCE = "speechbrain_spk1_snt1.wav"


def recording(name=SENTENCE):
    return (read_audio_file(DATA / name) * 32767).astype(np.int16)


def louder(audio, gain):
    return np.clip(audio.astype(np.int32) * gain, -32768, 32767).astype(np.int16)


def sped(audio, factor):
    """Played `factor` times faster: quicker and higher, as a tape would."""
    n = int(len(audio) / factor)
    return np.interp(np.arange(n) * factor, np.arange(len(audio)), audio).astype(np.int16)


def test_features_follow_the_changes_made_to_a_recording():
    plain = voice_features(recording(), words=10)
    assert voice_features(louder(recording(), 3), 10).loudness_db == pytest.approx(
        plain.loudness_db + 20 * np.log10(3), abs=1.0
    )
    higher = voice_features(sped(recording(), 1.19), 10)
    assert higher.pitch_st - plain.pitch_st == pytest.approx(3.0, abs=0.7)  # 1.19x = 3 semitones
    assert higher.rate_per_s > plain.rate_per_s  # the same words in less time


@pytest.fixture
def knows_the_speaker():
    """An estimator that has heard this speaker sound as usual."""
    estimator = AffectEstimator()
    for name in (SENTENCE, "speechbrain_spk1_snt3.wav"):
        estimator.estimate(recording(name), "a sentence of about ten words said as usual")
    return estimator


WORDS = "a sentence of about ten words said as usual"


def test_louder_faster_and_higher_reads_as_more_aroused(knows_the_speaker):
    usual = knows_the_speaker.estimate(recording(), WORDS, learn=False)
    excited = knows_the_speaker.estimate(louder(sped(recording(), 1.15), 2.5), WORDS, learn=False)
    assert excited.arousal > usual.arousal + 0.3
    assert excited.deviations["loudness_db"] > 1 and excited.deviations["pitch_st"] > 0.5


def test_quieter_slower_and_lower_reads_as_calmer(knows_the_speaker):
    usual = knows_the_speaker.estimate(recording(), WORDS, learn=False)
    tired = knows_the_speaker.estimate(sped(recording(), 0.87) // 3, WORDS, learn=False)
    assert tired.arousal < usual.arousal - 0.3
    assert tired.deviations["pitch_st"] < -0.5 and tired.deviations["rate_per_s"] < 0


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("I'm so happy today, this is wonderful!", 1),
        ("I got the job, I'm thrilled.", 1),
        ("I feel terrible and sad.", -1),
        ("Everything went wrong, I hate this.", -1),
        ("What time is it?", 0),
    ],
)
def test_valence_of_the_words(text, sign):
    score = text_valence(text)
    assert (score > 0.3) if sign > 0 else (score < -0.3) if sign < 0 else abs(score) < 0.1


def test_tired_and_low_asks_for_a_slower_softer_voice_and_excited_for_a_quicker_one():
    tired = Affect(arousal=-0.6, valence=-0.5, confidence=0.8)
    assert tired.describe() == "tired and low" and tired.pace > 1.05
    excited = Affect(arousal=0.7, valence=0.6, confidence=0.8)
    assert excited.describe() == "excited and happy" and excited.pace < 1.0
    # the voice not yet known: its arousal is not acted on, the words still are
    unsure = Affect(arousal=0.9, valence=-0.9, confidence=0.1)
    assert unsure.describe() == "low" and unsure.pace == 1.0


QUIET = {"loudness_db": -1.5, "pitch_st": -1.0}
LOUD = {"loudness_db": 1.2, "pitch_st": 2.0}


def test_the_mood_reaches_the_prompt_and_the_voice(tmp_path):
    from tests.fakes import ScriptedLlm, ScriptedStt, speech_and_silence
    from tests.test_pipeline import make_pipeline, run

    stt, llm = ScriptedStt(["I had a long day."]), ScriptedLlm(["Rest a little."])
    audio = speech_and_silence([("speech", 0.6), ("silence", 2.0)])
    pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path)
    pipeline.runner.router.affect = _Tired()
    run(pipeline)
    # just before the user's turn, after the persona and history the model has cached
    note = llm.prompts[0][-2]["content"]
    assert llm.prompts[0][-1]["content"] == "I had a long day."
    assert "gentle, calm and brief" in note and "do not remark on how they seem" in note
    assert "the user" not in note.lower()  # a model echoes what it reads
    assert tts.spoken == ["Rest a little."]  # the tone is shaped, never remarked on
    assert tts.paces == [Affect(-0.6, -0.5, 0.8).pace] and tts.paces[0] > 1
    assert pipeline.turns[0].timings.extra["arousal"] == -0.6


@pytest.mark.slow
def test_affect_command_on_recordings(tmp_path):
    calm = tmp_path / "calm.wav"
    excited = tmp_path / "excited.wav"
    write_wav(calm, sped(recording(), 0.87) // 3, 16000)
    write_wav(excited, louder(sped(recording(), 1.15), 2.5), 16000)
    base = str(DATA / "speechbrain_spk1_snt3.wav")
    result = voiced("affect", "--json", "--baseline", base, str(calm), str(excited))
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["file"].endswith("calm.wav") and second["file"].endswith("excited.wav")
    assert first["arousal"] < second["arousal"]
    assert first["text"] and 0 < first["confidence"] <= 1
    missing = voiced("affect", str(tmp_path / "nope.wav"))
    assert missing.returncode == 65 and missing.stderr.count("\n") == 1


def test_the_voice_is_never_remarked_on_and_an_unsure_tone_is_left_out(tmp_path):
    from tests.fakes import ScriptedLlm, ScriptedStt, speech_and_silence
    from tests.test_pipeline import make_pipeline, run

    moods = [
        Affect(arousal=-0.6, valence=0.0, confidence=0.8, deviations=QUIET),  # tired
        Affect(arousal=0.7, valence=0.6, confidence=0.8, deviations=LOUD),  # excited
        Affect(arousal=0.7, valence=-0.9, confidence=0.1, deviations=LOUD),  # voice unknown
    ]

    class Scripted(AffectEstimator):
        def estimate(self, audio, text="", learn=True):
            return moods.pop(0)

    stt, llm = ScriptedStt(["One.", "Two.", "Three."]), ScriptedLlm(["Okay."] * 3)
    audio = speech_and_silence([("speech", 0.6), ("silence", 2.0)] * 3)
    pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path)
    pipeline.runner.router.affect = Scripted()
    run(pipeline)
    assert [t.reply for t in pipeline.turns] == ["Okay."] * 3  # no "You sound tired."
    notes = [
        prompt[-2]["content"] if prompt[-2]["role"] == "system" else "" for prompt in llm.prompts
    ]
    assert "calm, gentle and brief" in notes[0] and "bright and lively" in notes[1]
    assert notes[2] == ""  # low confidence: no note at all


def test_a_model_that_reads_ahead_gets_the_tone_it_read_with_the_words_and_no_other(tmp_path):
    """The note is read ahead with the words while the user speaks; one the model has not
    read would cost more at the end of the turn than the rest of the prompt, so a turn too
    short to be read ahead gets none (the voice still follows the mood)."""
    from tests.fakes import ScriptedLlm, speech_and_silence
    from tests.test_pipeline import make_pipeline, run

    class Reading(ScriptedLlm):
        def __init__(self, replies):
            super().__init__(replies)
            self.read: list[list[dict]] = []

        def prefill(self, messages, should_stop=lambda: False):
            self.read.append(list(messages))
            return 1

    heard = ["I had a really long day at work.", "So tired."]
    stt, llm = _drafting_stt(heard), Reading(["Rest a little.", "Sleep well."])
    audio = speech_and_silence([("speech", 1.6), ("silence", 2.0), ("speech", 0.6), ("silence", 2)])
    pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path)
    pipeline.runner.router.affect = _Tired()
    run(pipeline)
    ahead = [m for m in llm.read if m[-1]["content"] == "I had a really"]
    assert ahead and "calm" in ahead[0][-2]["content"]  # read with the words so far
    long_turn, short_turn = llm.prompts
    assert long_turn[-2] == ahead[0][-2] and long_turn[-1]["content"] == heard[0]
    assert short_turn[-1]["content"] == heard[1] and short_turn[-2]["role"] != "system"
    assert tts.paces == [Affect(-0.6, -0.5, 0.8).pace] * 2  # the voice follows it both times


def test_a_note_the_model_was_stopped_from_reading_is_left_out_of_the_prompt(tmp_path):
    """The note is read first, on its own; a turn that comes before the model has read it
    (a slow model, a short utterance) gets no note: reading it then would delay the reply."""
    from tests.fakes import ScriptedLlm, read_until_stopped, speech_and_silence
    from tests.test_pipeline import make_pipeline, run

    class Slow(ScriptedLlm):
        """Reads a note only as far as the turn lets it: until it is told to stop."""

        def __init__(self, replies):
            super().__init__(replies)
            self.stopped_in: list[list[dict]] = []

        def prefill(self, messages, should_stop=lambda: False):
            if "calm" not in messages[-2]["content"]:
                return 0  # the history, read after the turn
            read_until_stopped(should_stop)
            self.stopped_in.append(list(messages))
            return 1

    heard = ["I had a really long day at work."]
    stt, llm = _drafting_stt(heard), Slow(["Rest a little."])
    audio = speech_and_silence([("speech", 1.6), ("silence", 2.0)])
    pipeline, tts, _ = make_pipeline(stt, llm, audio, tmp_path)
    pipeline.runner.router.affect = _Tired()
    run(pipeline)
    (stopped,) = llm.stopped_in
    assert "calm" in stopped[-2]["content"] and stopped[-1]["content"] == ""  # the note alone
    (prompt,) = llm.prompts
    assert prompt[-1]["content"] == heard[0] and not any("calm" in m["content"] for m in prompt)
    assert tts.paces == [Affect(-0.6, -0.5, 0.8).pace]  # the voice still follows the mood


class _Tired(AffectEstimator):
    def estimate(self, audio, text="", learn=True):
        return Affect(arousal=-0.6, valence=-0.5, confidence=0.8, deviations=QUIET)


def _drafting_stt(heard):
    """A recogniser whose drafts of speech in progress say 'I had a really long'."""
    from tests.fakes import DraftingStt

    return DraftingStt(heard, draft="I had a really long")
