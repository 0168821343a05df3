"""Facts read by the language model after the turn: checked, dated, keyed for corrections,
read in pieces only while no turn wants the model."""

import asyncio
import datetime as dt

import pytest

from tests.fakes import ScriptedLlm, ScriptedStt, speech_and_silence
from voiced.mind.extract import FactReader, grounded, key_of, lines, parse, worth_reading
from voiced.mind.memory import Memory, MemoryStore

MONDAY = dt.datetime(2026, 12, 7, 19, 0)


class ScriptedReading:
    """A reading that takes `steps` pieces and then answers its script."""

    def __init__(self, answer: str, steps: int, log: list[str]):
        self.answer, self.left, self.log, self.text = answer, steps, log, ""

    def step(self) -> bool:
        self.log.append("step")
        self.left -= 1
        if self.left > 0:
            return False
        self.text = self.answer
        return True


class ScriptedReader:
    """A Reader (logic only): each reading answers the next line of its script."""

    def __init__(self, answers, steps=3):
        self.answers, self.steps = list(answers), steps
        self.asked: list[str] = []
        self.log: list[str] = []

    def reading(self, messages, grammar, max_tokens):
        self.asked.append(messages[-1]["content"])
        answer = self.answers.pop(0) if self.answers else "none"
        return ScriptedReading(answer, self.steps, self.log)


def test_only_facts_in_the_users_own_words_are_kept():
    said = "My brother Jack is visiting us in Porto on Sunday."
    answer = (
        "brother|name|Their brother is called Jack.\n"
        "user|home|They live in Lisbon.\n"  # invented: the user never said Lisbon
        "brother|plan|Their brother Jack is visiting them in Porto on Sunday.\n"
        "mood|feeling|They are happy.\n"  # not a kind
        "just some chatter"
    )
    assert [(s.key, s.text) for s in parse(answer, said, MONDAY)] == [
        ("person:brother", "Their brother is called Jack."),
        ("", "Their brother Jack is visiting them in Porto on Sunday 13 December 2026."),
    ]
    assert parse("none", said, MONDAY) == []
    assert parse("", said, MONDAY) == []
    assert parse("{\x00garbage|||", said, MONDAY) == []


def test_a_fact_longer_than_a_sentence_or_said_twice_is_kept_once_or_not_at_all():
    said = "Our dog Biscuit is terrified of thunder."
    answer = (
        "dog|name|Their dog is called Biscuit.\n"
        "dog|other|They dog Biscuit is terrified of thunder.\n"
        "dog|other|Their dog Biscuit is terrified of thunder.\n"
        "dog|other|Their dog Biscuit is terrified of thunder " + "and thunder " * 20 + "."
    )
    assert [s.text for s in parse(answer, said, MONDAY)] == [
        "Their dog is called Biscuit.",
        "Their dog Biscuit is terrified of thunder.",
    ]


@pytest.mark.parametrize(
    ("fact", "said", "expected"),
    [
        ("They moved to Porto.", "We moved to Porto.", True),
        ("Their cat is called Whiskers.", "We adopted a grey cat last weekend.", False),
        ("They live in New York City.", "I moved to Edinburgh.", False),
        ("Their mother's birthday is in March.", "Mum's birthday is in March.", True),
        ("They must not forget it again.", "I must not forget it again.", False),
    ],
)
def test_grounding(fact, said, expected):
    assert grounded(fact, said) is expected


@pytest.mark.parametrize(
    ("said", "worth"),
    [
        ("I've been learning the cello for three months.", True),
        ("Which instrument am I learning?", False),
        ("If I ever get a horse I'll call her Storm.", False),
        ("The weather presenter said his wife is called Maria.", False),
        ("Okay.", False),
        ("I'd love to learn the violin one day.", False),  # a wish ("They love the violin.")
        ("I love the violin.", True),
    ],
)
def test_what_is_worth_reading(said, worth):
    assert worth_reading(said) is worth


def test_one_value_kinds_get_a_key_only_when_the_fact_fits_the_kind():
    (home,) = lines("user|home|They moved to York last month.")
    (misfiled,) = lines("user|job|They drive an old blue Volvo.")
    (sister,) = lines("my sister|name|Their sister is called Hannah.")
    (mum,) = lines("mum|birthday|Their mum's birthday is on the fourteenth of March.")
    assert key_of(home) == "home"
    assert key_of(misfiled) == ""  # replaces no job
    assert key_of(sister) == "person:sister"
    assert key_of(mum) == "mother:birthday"


def memory_with(tmp_path, reader=None):
    memory = Memory(MemoryStore(tmp_path / "memory.db"), lambda text: len(text.split()), 100)
    memory.reader = reader
    return memory


def test_a_correction_replaces_the_old_value_and_the_patterns_own_reading_is_not_doubled(
    tmp_path,
):
    memory = memory_with(tmp_path)
    memory.learn("I live in Leeds.")
    said = "I live in Leeds."
    memory.keep_read(parse("user|home|They live in Leeds.", said, MONDAY), said, 0)
    assert [f.text for f in memory.store.facts()] == ["The user lives in Leeds."]
    moved = "Actually, we moved to York last month."
    memory.learn(moved)
    memory.keep_read(parse("user|home|They moved to York last month.", moved, MONDAY), moved, 0)
    assert [f.text for f in memory.store.facts()] == ["They moved to York in November 2026."]
    assert memory.store.facts()[0].source == moved


def test_the_same_fact_in_other_words_is_kept_once(tmp_path):
    memory = memory_with(tmp_path)
    memory.learn("I love green tea.")
    again = "Honestly I love green tea."
    memory.keep_read(parse("user|likes|They love green tea.", again, MONDAY), again, 0)
    assert len(memory.store.facts()) == 1


def test_what_was_forgotten_while_the_model_read_it_is_not_kept(tmp_path):
    memory = memory_with(tmp_path)
    said = "I'm saving up for a motorbike."
    memory.learn(said)
    ticket = memory.ticket()
    assert memory.answer("Forget that.") == "There is nothing to forget."
    read = parse("user|plan|They are saving up for a motorbike.", said, MONDAY)
    assert memory.keep_read(read, said, ticket) == []
    other = "My cat is called Pebble."
    memory.learn(other)
    ticket = memory.ticket()
    memory.answer("Forget everything.")
    assert (
        memory.keep_read(
            parse("cat|name|Their cat is called Pebble.", other, MONDAY), other, ticket
        )
        == []
    )
    assert memory.store.facts() == []


@pytest.mark.parametrize(
    ("told", "forget", "left"),
    [
        (
            ["My doctor is called Dr Hughes.", "My sister is called Anna."],
            "Forget what I told you about my doctor.",
            ["The user's sister is called Anna."],
        ),
        (
            ["I work as a nurse.", "I live in York."],
            "Forget that I'm a nurse.",
            ["The user lives in York."],
        ),
        (
            ["My doctor is called Dr Hughes."],
            "Please forget everything about my doctor",
            [],
        ),
    ],
)
def test_forgetting_by_voice_deletes_the_matching_facts(tmp_path, told, forget, left):
    memory = memory_with(tmp_path)
    for said in told:
        memory.learn(said)
    assert memory.wants(forget)
    assert "forgotten" in memory.answer(forget)
    assert [f.text for f in memory.store.facts()] == left


def test_what_it_remembers_is_said_briefly(tmp_path):
    memory = memory_with(tmp_path)
    for i, city in enumerate(["Leeds", "York", "Bath", "Ely", "Wells", "Ripon", "Truro", "Derby"]):
        memory.store.remember("other", f"They visited {city}.", source=f"I visited {city} ({i}).")
    summary = memory.answer("What do you remember about me?")
    assert summary.startswith("Here is what I remember. You visited Bath.")
    assert "You visited Derby." in summary
    assert "Leeds" not in summary and summary.endswith(
        "And 2 more things: ask me about anything you told me."
    )


def run_turns(tmp_path, heard, replies, reader):
    from tests.test_pipeline import make_pipeline, run

    stt, llm = ScriptedStt(heard), ScriptedLlm(replies)
    audio = speech_and_silence([("speech", 0.6), ("silence", 2.0)] * len(heard))
    pipeline, _, _ = make_pipeline(stt, llm, audio, tmp_path)
    memory = memory_with(tmp_path, FactReader(reader))
    pipeline.runner.router.memory = memory
    run(pipeline)
    return pipeline, memory, llm


def test_the_loop_has_every_statement_read_and_no_question(tmp_path):
    heard = ["We moved to Porto last year.", "My name is Anna.", "Where is Porto?"]
    reader = ScriptedReader(
        ["user|home|They moved to Porto last year.", "user|name|Their name is Anna."]
    )
    _, memory, llm = run_turns(tmp_path, heard, ["Lovely.", "Hello Anna.", "In Portugal."], reader)
    assert reader.asked == ["We moved to Porto last year.", "My name is Anna."]
    assert sorted(f.text for f in memory.store.facts()) == [
        "The user's name is Anna.",  # the patterns' (the model's reading of it was the same)
        f"They moved to Porto in {dt.date.today().year - 1}.",
    ]


def test_reading_waits_while_a_turn_wants_the_model(tmp_path):
    """The reading is done in pieces on the model's worker, each only while no turn is
    being answered and the user is not speaking."""
    from tests.test_pipeline import make_pipeline

    stt, llm = ScriptedStt([]), ScriptedLlm([])
    pipeline, _, _ = make_pipeline(stt, llm, speech_and_silence([("silence", 0.1)]), tmp_path)
    runner = pipeline.runner
    reader = ScriptedReader(["user|hobby|They play chess."], steps=5)
    memory = memory_with(tmp_path, FactReader(reader))

    async def scenario():
        runner.heard_voice()  # the user is speaking
        runner._read_later(memory, "I play chess on Sundays.")
        await asyncio.sleep(0.3)
        held = len(reader.log)
        runner._responding = True  # then a turn is answered
        await asyncio.sleep(0.8)
        answering = len(reader.log)
        runner._responding = False
        await runner.settle()
        return held, answering

    held, answering = asyncio.run(scenario())
    assert held == 0 and answering == 0
    assert [f.text for f in memory.store.facts()] == ["They play chess."]
    assert len(reader.log) == 5
    runner.workers.shutdown()


def test_a_failing_reading_is_one_log_line_and_the_loop_goes_on(tmp_path, caplog):
    class BrokenReader(ScriptedReader):
        def reading(self, messages, grammar, max_tokens):
            raise RuntimeError("the model fell over")

    heard = ["I play chess on Sundays.", "My name is Anna."]
    _, memory, _ = run_turns(tmp_path, heard, ["Nice.", "Hello Anna."], BrokenReader([]))
    assert [f.key for f in memory.store.facts()] == ["name"]  # the patterns still work
    assert len([r for r in caplog.records if "reading facts failed" in r.getMessage()]) == 2


@pytest.mark.slow
def test_the_default_model_reads_a_fact_in_passing_and_nothing_from_a_request(settings, tmp_path):
    """On the 1.5B default (the tests' small model does not read facts); the reading of the
    prompt's fixed start is kept, and a second reader (a new process) starts from it."""
    from dataclasses import replace

    from voiced.engines.llama import LlamaChat, LlamaReader

    standard = replace(settings, llm=replace(settings.llm, model="standard"))
    chat = LlamaChat(standard.llm, standard.llm_path)
    reader = FactReader(LlamaReader(chat, tmp_path))
    cat = reader.extract("We adopted a grey cat last weekend and called her Pebble.", MONDAY)
    assert any("Pebble" in s.text and "cat" in s.text for s in cat), cat
    assert list(tmp_path.glob("reader-*.npz"))

    again = FactReader(LlamaReader(chat, tmp_path))
    reading = again.reading("Tell me a joke about penguins.")
    steps = 1
    while not reading.step():
        steps += 1
    assert again.facts(reading, "Tell me a joke about penguins.", MONDAY) == []
    assert steps < 40  # its words and the answer: the rest was read from the kept file


def test_a_fact_about_someone_says_whom_it_is_about():
    said = "My brother Sam lives in Toronto with his wife."
    (fact,) = parse("brother|home|They live in Toronto with his wife.", said, MONDAY)
    assert fact.text == "Their brother lives in Toronto with his wife."
    assert fact.key == "brother:home"


def test_a_fact_is_about_someone_else_only_if_the_user_spoke_of_them():
    piano = "I teach piano to kids on Saturday mornings."
    (fact,) = parse("teacher|job|They teach piano to kids on Saturday mornings.", piano, MONDAY)
    assert fact.text == "They teach piano to kids on Saturday mornings."
    mum = "Mum's birthday is on the fourteenth of March."
    (fact,) = parse("mother|birthday|Their birthday is on the fourteenth of March.", mum, MONDAY)
    assert fact.text == "Their mother's birthday is on the fourteenth of March."
    assert fact.key == "mother:birthday"
    connor = "My best mate Connor lives in Belfast."
    (fact,) = parse("connor|home|They live in Belfast.", connor, MONDAY)
    assert fact.text == "Connor lives in Belfast."


def test_a_move_said_as_where_they_are_now_is_their_home():
    bath = "We've moved house, we're in Bath now."
    (fact,) = parse("user|home|They are in Bath now.", bath, MONDAY)
    assert fact.key == "home"


def test_what_is_true_only_today_or_names_a_relation_nobody_said_is_not_kept():
    soup = "I'm making soup tonight."
    assert parse("user|plan|They are making soup tonight.", soup, MONDAY) == []
    nadia = "Nadia has been run off her feet at the vet's all week."
    assert parse("niece|other|Their niece Nadia has been busy at the vet's.", nadia, MONDAY) == []
    mum = "Mum's birthday is on the fourteenth of March."
    assert parse("mother|birthday|Their mother's birthday is in March.", mum, MONDAY)


def test_a_negation_or_a_name_nobody_gave_is_not_kept():
    tea = "Green tea is more my thing than coffee these days."
    assert parse("user|dislikes|They don't like coffee these days.", tea, MONDAY) == []
    seville = "I speak Spanish fairly well, my mother is from Seville."
    kept = parse(
        "mother|name|Their mother is called Seville.\nmother|other|Their mother is from Seville.",
        seville,
        MONDAY,
    )
    assert [s.text for s in kept] == ["Their mother is from Seville."]


@pytest.mark.parametrize(
    ("said", "read", "kind", "kept"),
    [
        # a name given after a word
        (
            "My best mate Connor lives in Belfast.",
            "mate|name|Their best mate Connor lives in Belfast.",
            "name",
            "Their best mate Connor lives in Belfast.",
        ),
        # a thing filed as a name, nobody named: kept as what it is
        (
            "We drive a red Fiat Panda.",
            "car|name|Their car is a red Fiat Panda.",
            "other",
            "Their car is a red Fiat Panda.",
        ),
        # "run" is a form of "runs"
        (
            "Ewa gave up flying, she runs a bakery now.",
            "ewa|job|They run a bakery now.",
            "job",
            "Ewa runs a bakery now.",
        ),
        # found by `voiced memory life`: "They were a fisherman." had been kept, and read as
        # the user's own job; a granddad or a tortoise is not the user
        (
            "My granddad was a fisherman.",
            "granddad|job|They were a fisherman.",
            "job",
            "Their granddad was a fisherman.",
        ),
        (
            "We've got a tortoise called Columbus, he's older than me.",
            "tortoise|other|They are older than me.",
            "other",
            "Their tortoise is older than me.",
        ),
    ],
)
def test_what_is_kept_says_whose_it_is_and_what_it_is(said, read, kind, kept):
    (fact,) = parse(read, said, MONDAY)
    assert (fact.kind, fact.text) == (kind, kept)


def test_what_someone_watches_is_theirs_and_what_a_presenter_said_is_not():
    assert worth_reading("Honestly, the only thing I watch on telly is snooker.")
    assert not worth_reading("The man on the radio said his son is called Felix.")


def test_readings_one_after_another_never_interleave(tmp_path):
    """The reading context holds one prompt: a second reading waits for the first."""
    from tests.test_pipeline import make_pipeline

    stt, llm = ScriptedStt([]), ScriptedLlm([])
    pipeline, _, _ = make_pipeline(stt, llm, speech_and_silence([("silence", 0.1)]), tmp_path)
    runner = pipeline.runner
    reader = ScriptedReader(["user|hobby|They play chess.", "user|hobby|They play golf."], steps=4)
    original = reader.reading

    def reading(messages, grammar, max_tokens):
        reader.log.append(f"begin {messages[-1]['content']}")
        return original(messages, grammar, max_tokens)

    reader.reading = reading
    memory = memory_with(tmp_path, FactReader(reader))

    async def scenario():
        runner._read_later(memory, "I play chess on Sundays.")
        runner._read_later(memory, "I play golf on Mondays.")
        await runner.settle()

    asyncio.run(scenario())
    assert reader.log == [
        "begin I play chess on Sundays.",
        *["step"] * 4,
        "begin I play golf on Mondays.",
        *["step"] * 4,
    ]
    runner.workers.shutdown()


def test_a_stopping_loop_leaves_a_reading_unfinished(tmp_path):
    """A daemon told to stop does not wait for the model to finish reading (its first
    reading, with no kept start, takes half a minute on 2 cores)."""
    from tests.test_pipeline import make_pipeline

    stt, llm = ScriptedStt([]), ScriptedLlm([])
    pipeline, _, _ = make_pipeline(stt, llm, speech_and_silence([("silence", 0.1)]), tmp_path)
    runner = pipeline.runner
    reader = ScriptedReader(["user|hobby|They play chess."], steps=1000)
    memory = memory_with(tmp_path, FactReader(reader))

    async def scenario():
        runner._responding = True  # a turn holds the model
        runner._read_later(memory, "I play chess on Sundays.")
        await asyncio.sleep(0.2)
        runner.stopping.set()
        await runner.settle()

    asyncio.run(scenario())
    assert reader.log == [] and memory.store.facts() == []
    runner.workers.shutdown()
