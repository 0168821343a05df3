"""Who is it talking to: the wake phrase, follow-ups, push-to-talk."""

from dataclasses import replace

import pytest

from tests.fakes import ScriptedLlm, ScriptedStt, WakeAt, speech_and_silence
from tests.test_pipeline import SETTINGS, make_pipeline, run
from voiced.config import ActivationSettings
from voiced.listen.activation import ANSWER_S, Activation
from voiced.listen.wake import WakeGate

WAKE = ActivationSettings(mode="wake", wake_source="transcript", follow_up_s=4.0)


@pytest.mark.parametrize(
    ("said", "wanted"),
    [
        ("Hey, Sam. What time is it?", "What time is it?"),
        ("Hey Sam, set a timer for five minutes.", "Set a timer for five minutes."),
        ("Hey Psalm, tell me a joke.", "Tell me a joke."),  # as Whisper may spell it
        ("Okay, Sam! What's the date?", "What's the date?"),
        ("Sam, how are you?", "How are you?"),
        ("Heysam what is up", "What is up"),
        ("Hey Sam.", ""),  # the phrase alone: the request comes next
    ],
)
def test_the_wake_phrase_is_found_and_cut_off(said, wanted):
    admission = Activation(WAKE).admit(said, 10.0, None)
    assert admission.admitted and admission.woke and admission.request == wanted


@pytest.mark.parametrize(
    "said",
    [
        "What time is it?",
        "Samantha called earlier.",
        "Some people never learn.",
        "Hey son, come here.",
        "And then he said hey to Sam",  # not at the start
    ],
)
def test_speech_without_the_phrase_is_not_for_it(said):
    assert not Activation(WAKE).admit(said, 10.0, None).admitted


def test_a_follow_up_inside_the_window_needs_no_phrase():
    activation = Activation(WAKE)
    assert activation.admit("And tomorrow?", 13.9, replied_until_s=10.0).admitted
    assert not activation.admit("And tomorrow?", 14.1, replied_until_s=10.0).admitted


def test_a_reply_that_asked_something_is_listened_to_for_its_answer_even_without_follow_ups():
    activation = Activation(replace(WAKE, follow_up_s=0.0))
    assert not activation.admit("The lamp.", 11.0, replied_until_s=10.0).admitted
    assert activation.admit("The lamp.", 11.0, replied_until_s=10.0, asked=True).admitted
    assert not activation.admit("The lamp.", 10.0 + ANSWER_S + 0.1, 10.0, asked=True).admitted
    # the acoustic wake word's gate keeps the microphone open for it alike
    gate = WakeGate(WakeAt(), 0.0, asked=lambda: True)
    assert gate.awake(11.0, speaking_until_s=10.0)
    assert not WakeGate(WakeAt(), 0.0).awake(11.0, speaking_until_s=10.0)


def test_other_names_and_phrases_from_the_config():
    settings = replace(WAKE, name="Jarvis", wake_phrases=["computer"])
    activation = Activation(settings)
    assert activation.admit("Computer, lights on.", 0, None).request == "Lights on."
    assert activation.admit("Hey Jarvis, hello.", 0, None).request == "Hello."
    assert not activation.admit("Hey Sam, hello.", 0, None).admitted


def test_conversation_mode_takes_everything():
    activation = Activation(ActivationSettings())
    admission = activation.admit("What time is it?", 0, None)
    assert admission.admitted and admission.request == "What time is it?"


def _session(tmp_path, heard, pattern, settings):
    stt = ScriptedStt(heard)
    llm = ScriptedLlm([f"Reply {i}." for i in range(1, 10)])
    pipeline, tts, _ = make_pipeline(stt, llm, speech_and_silence(pattern), tmp_path, settings)
    run(pipeline)
    return pipeline, tts, llm


@pytest.mark.slow
def test_wake_mode_in_the_loop_ignores_others_and_takes_follow_ups(tmp_path):
    settings = replace(SETTINGS, activation=WAKE)
    heard = [
        "The weather is nice today.",  # the television: ignored
        "Hey Sam, tell me a joke.",  # a reply
        "And another one.",  # a follow-up inside the window: a reply
        "What a game that was.",  # long after: ignored
    ]
    talk = ("speech", 0.6)
    pattern = [talk, ("silence", 2.0), talk, ("silence", 2.0), talk, ("silence", 8.0), talk]
    pipeline, tts, llm = _session(tmp_path, heard, [*pattern, ("silence", 2.0)], settings)
    assert [p[-1]["content"] for p in llm.prompts] == ["Tell me a joke.", "And another one."]
    assert [t.outcome.value for t in pipeline.turns] == ["ignored", "llm", "llm", "ignored"]
    assert tts.spoken == ["Reply 1.", "Reply 2."]


def test_the_phrase_alone_is_acknowledged_and_the_next_utterance_is_the_request(tmp_path):
    settings = replace(SETTINGS, activation=WAKE)
    heard = ["Hey Sam.", "What is the capital of France?"]
    talk = ("speech", 0.6)
    pattern = [talk, ("silence", 2.0), talk, ("silence", 2.0)]
    pipeline, tts, llm = _session(tmp_path, heard, pattern, settings)
    assert tts.spoken == ["Yes?", "Reply 1."]
    assert [p[-1]["content"] for p in llm.prompts] == ["What is the capital of France?"]
    assert [t.outcome.value for t in pipeline.turns] == ["wake", "llm"]


def test_push_to_talk_mode_hears_nothing_without_the_button(tmp_path):
    settings = replace(SETTINGS, activation=ActivationSettings(mode="ptt"))
    talk = ("speech", 0.6)
    pipeline, tts, llm = _session(tmp_path, ["Hello there."], [talk, ("silence", 2.0)], settings)
    assert pipeline.turns == type(pipeline.turns)() and llm.prompts == [] and tts.spoken == []


def test_a_typed_request_needs_no_wake_phrase(tmp_path):
    import asyncio

    settings = replace(SETTINGS, activation=WAKE)
    llm = ScriptedLlm(["Here is one."])
    audio = speech_and_silence([("silence", 2.0)])
    pipeline, tts, _ = make_pipeline(ScriptedStt([]), llm, audio, tmp_path, settings)

    async def main():
        running = asyncio.create_task(pipeline.run())
        await asyncio.sleep(0.01)
        result = await pipeline.ask("Tell me a joke.")
        await running
        return result

    result = asyncio.run(asyncio.wait_for(main(), 30))
    pipeline.runner.workers.shutdown()
    assert result.reply == "Here is one." and tts.spoken == ["Here is one."]
