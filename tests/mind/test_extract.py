"""Facts read by the language model: only checked ones are kept, and never over a plain one."""

import pytest

from tests.fakes import ScriptedLlm, ScriptedStt, speech_and_silence
from voiced.mind.extract import LlmExtractor, grounded, parse
from voiced.mind.memory import Memory, MemoryStore


class ReadingLlm(ScriptedLlm):
    """Talks like ScriptedLlm; reads facts from a script of its own."""

    def __init__(self, replies, readings):
        super().__init__(replies)
        self.readings = list(readings)
        self.asked: list[str] = []

    def complete(self, messages, max_tokens):
        self.asked.append(messages[-1]["content"])
        return self.readings.pop(0) if self.readings else "none"


def test_only_known_fields_with_the_users_own_words_are_kept():
    said = "My brother Jack is visiting us in Porto on Sunday."
    answer = (
        "brother name: Jack\n"
        "lives in: Lisbon\n"  # invented: the user never said Lisbon
        "mood: happy\n"  # not a field
        "- likes: visiting\n"
        "just some chatter"
    )
    assert [(s.key, s.text) for s in parse(answer, said)] == [
        ("person:brother", "The user's brother is called Jack."),
        ("likes:visiting", "The user likes visiting."),
    ]
    assert parse("none", said) == []


@pytest.mark.parametrize(
    ("value", "said", "expected"),
    [
        ("Porto", "We moved to Porto.", True),
        ("the hospital", "I'm at the hospital these days.", True),
        ("Lisbon", "We moved to Porto.", False),
        ("the", "the end", False),  # nothing that carries meaning
    ],
)
def test_grounding(value, said, expected):
    assert grounded(value, said) is expected


def test_a_fact_read_by_the_model_never_replaces_one_stated_plainly(tmp_path):
    store = MemoryStore(tmp_path / "memory.db")
    memory = Memory(store, lambda text: len(text.split()), 100)
    memory.learn("My name is Anna.")
    memory.extractor = LlmExtractor(ReadingLlm([], ["name: Maria\nwife name: Maria"]))
    said = "Honestly, my wife Maria is the best."
    learnt = memory.keep_read(memory.extractor.extract(said), said)
    assert [f.key for f in learnt] == ["person:wife"]
    assert store.by_key("name").text == "The user's name is Anna."


def test_the_loop_asks_the_model_for_facts_only_when_the_patterns_found_none(tmp_path):
    from tests.test_pipeline import make_pipeline, run

    heard = ["We moved to Porto last year.", "My name is Anna.", "Where is Porto?"]
    stt, llm = ScriptedStt(heard), ReadingLlm(["Lovely.", "Hello Anna.", "In Portugal."], [])
    llm.readings = ["lives in: Porto"]
    audio = speech_and_silence([("speech", 0.6), ("silence", 2.0)] * len(heard))
    pipeline, _, _ = make_pipeline(stt, llm, audio, tmp_path)
    store = MemoryStore(tmp_path / "memory.db")
    pipeline.runner.router.memory = Memory(store, llm.count_tokens, 100)
    pipeline.runner.router.memory.extractor = LlmExtractor(llm)
    run(pipeline)
    # the second turn's facts came from the patterns; the question was never read for facts
    assert llm.asked == ["We moved to Porto last year."]
    assert sorted(f.key for f in store.facts()) == ["home", "name"]
    # and the third turn's prompt knew where the user lives
    assert "They live in Porto." in llm.prompts[-1][-2]["content"]


def test_the_real_model_reads_a_plain_fact_and_nothing_from_a_request(llm):
    extractor = LlmExtractor(llm)
    assert [s.key for s in extractor.extract("My name is Anna.")] == ["name"]
    assert extractor.extract("Tell me a joke.") == []


def test_the_history_is_read_again_after_the_model_read_facts(tmp_path):
    """Reading facts is a prompt of its own: it takes the model's cache, so the history is
    read into it again then, not at the start of the next reply."""
    from tests.test_pipeline import make_pipeline, run

    calls: list[str] = []

    class CachingLlm(ReadingLlm):
        def prefill(self, messages):
            calls.append("history read")
            return 1

        def complete(self, messages, max_tokens):
            calls.append("facts read")
            return super().complete(messages, max_tokens)

    llm = CachingLlm(["Lovely."], ["lives in: Porto"])
    audio = speech_and_silence([("speech", 0.6), ("silence", 2.0)])
    stt = ScriptedStt(["We moved to Porto last year."])
    pipeline, _, _ = make_pipeline(stt, llm, audio, tmp_path)
    pipeline.runner.router.memory = Memory(MemoryStore(tmp_path / "m.db"), llm.count_tokens, 100)
    pipeline.runner.router.memory.extractor = LlmExtractor(llm)
    run(pipeline)
    assert "facts read" in calls
    assert calls[-1] == "history read"
