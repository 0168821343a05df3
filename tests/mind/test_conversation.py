from tests.fakes import ScriptedLlm
from voiced.mind.conversation import Conversation, reply_sentences


def words(text: str) -> int:
    return len(text.split())


def test_prompt_has_persona_history_and_the_new_turn():
    conv = Conversation("Be kind.", words, budget_tokens=1000)
    conv.add_exchange("hi there", "hello")
    messages = conv.messages_for("how are you")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"] == "Be kind."
    assert messages[-1]["content"] == "how are you"


def test_history_is_trimmed_oldest_first_in_whole_exchanges():
    conv = Conversation("p", words, budget_tokens=130)
    for i in range(10):
        conv.add_exchange(f"question number {i}", f"answer number {i}")
    messages = conv.messages_for("last one")
    # each message costs 3 words + 8 overhead, an exchange 22; persona 9, a usual turn's
    # reserve 32 (a quarter): room for 89 (4 exchanges). The fifth cut it to half (3 and 4),
    # the eighth again (6 and 7); 8 and 9 came after
    assert [m["content"] for m in messages[1:-1]] == [
        f"{kind} number {i}" for i in (6, 7, 8, 9) for kind in ("question", "answer")
    ]
    assert sum(words(m["content"]) + 8 for m in messages) <= 130


def _history_of(messages):
    return [m["content"] for m in messages[1:-1]]


def test_the_start_of_the_prompt_lasts_so_the_models_cache_does():
    """The soak found it: a history cut by one exchange per turn changed the prompt right
    after the persona, and every reply read the whole history again (1.3 s -> 3.8 s)."""
    conv = Conversation("p", words, budget_tokens=400)
    prompts, told = [], 0
    for i in range(80):
        prompts.append(conv.messages_for(f"question number {i}"))
        conv.add_exchange(f"question number {i}", f"answer number {i}")
        told += conv.start_moved and i < 79  # the pipeline has the model read it at once
    moved = 0
    for before, after in zip(prompts, prompts[1:], strict=False):
        assert sum(words(m["content"]) + 8 for m in after) <= 400
        old, new = _history_of(before), _history_of(after)
        if new[: len(old)] != old:  # not an extension of the prompt before
            moved += 1
    # usual room 400 - 9 - 100 = 291 tokens: 13 exchanges, cut to 6: a move every 8 turns
    assert 5 <= moved <= 10 and told == moved
    last = _history_of(prompts[-1])
    assert last[-1] == "answer number 78"  # always the newest exchanges, whole
    assert [m.split()[0] for m in last] == ["question", "answer"] * (len(last) // 2)


def test_one_long_turn_leaves_history_out_for_itself_only():
    conv = Conversation("p", words, budget_tokens=400)
    for i in range(8):
        conv.add_exchange(f"question number {i}", f"answer number {i}")
    before = _history_of(conv.messages_for("and now?"))
    long = conv.messages_for(" ".join(["blah"] * 250) + " so what now?")
    assert len(_history_of(long)) < len(before)
    assert sum(words(m["content"]) + 8 for m in long) <= 400
    assert _history_of(conv.messages_for("and now?")) == before


def test_a_turn_with_nothing_said_is_not_recorded():
    conv = Conversation("p", words, budget_tokens=100)
    conv.add_exchange("hello?", "")
    assert conv.history == []


def test_reply_is_cut_to_max_sentences_and_generation_stopped():
    llm = ScriptedLlm(["One. Two! Three? Four."])
    got = list(reply_sentences(llm, [{"role": "user", "content": "x"}], max_sentences=2))
    assert got == ["One.", "Two!"]
    assert llm.closed == 1


def test_reply_sentences_are_speakable_and_the_tail_is_kept():
    llm = ScriptedLlm(["**Sure** thing. Here is `code`"])
    first_token = []
    got = list(
        reply_sentences(llm, [], max_sentences=3, on_first_token=lambda: first_token.append(1))
    )
    assert got == ["Sure thing.", "Here is code"]
    assert first_token == [1]


def test_words_after_the_last_sentence_of_a_reply_cut_short_are_not_said():
    from voiced.engines import CUT_SHORT

    class CutShort(ScriptedLlm):
        def stream(self, messages):
            yield from super().stream(messages)
            yield CUT_SHORT

    cut = CutShort(["Oh no, that must be so frustrating. How are"])
    assert list(reply_sentences(cut, [], 3)) == ["Oh no, that must be so frustrating."]
    ended = CutShort(["That's a lovely idea."])
    assert list(reply_sentences(ended, [], 3)) == ["That's a lovely idea."]


def test_reply_stops_when_asked():
    llm = ScriptedLlm(["A long reply. That goes on."])
    asked = iter([False, True])
    assert list(reply_sentences(llm, [], 5, should_stop=lambda: next(asked))) == []
    assert llm.closed == 1  # stopped after the first piece: generation was ended
    # stopped before the model's turn came (it was busy with another): never asked
    assert list(reply_sentences(llm, [], 5, should_stop=lambda: True)) == []
    assert len(llm.prompts) == 1


def test_a_sentence_already_said_is_not_said_again_unless_nothing_else_is_left():
    history = [
        {"role": "user", "content": "Hi."},
        {"role": "assistant", "content": "I'm so glad you're enjoying the beach! Hello."},
    ]
    messages = [{"role": "system", "content": "You are Sam."}, *history]
    messages.append({"role": "user", "content": "I finished my project."})
    parrot = ScriptedLlm(["I'm so glad you're enjoying the beach, well done on the project."])
    assert list(reply_sentences(parrot, messages, 2, first_clause_words=4)) == [
        "well done on the project."
    ]
    # short words may come again ("Hello."), and a reply with nothing new is still spoken
    again = ScriptedLlm(["Hello. I'm so glad you're enjoying the beach!"])
    assert list(reply_sentences(again, messages, 2)) == [
        "Hello.",
    ]
    only = ScriptedLlm(["I'm so glad you're enjoying the beach!"])
    assert list(reply_sentences(only, messages, 2)) == ["I'm so glad you're enjoying the beach!"]


def test_a_template_that_wants_one_system_message_gets_them_folded():
    from voiced.engines.llama import fold_system

    messages = [
        {"role": "system", "content": "You are Sam."},
        {"role": "user", "content": "Hi."},
        {"role": "assistant", "content": "Hello!"},
        {"role": "system", "content": "The user sounds tired."},
        {"role": "user", "content": "Long day."},
    ]
    assert fold_system(messages) == [
        {"role": "system", "content": "You are Sam.\n\nThe user sounds tired."},
        {"role": "user", "content": "Hi."},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Long day."},
    ]


def test_asked_again_the_same_answer_may_come_again():
    messages = [
        {"role": "system", "content": "You are Sam."},
        {"role": "user", "content": "Please tell me a long story about a dragon."},
        {"role": "assistant", "content": "Once upon a time there was a dragon"},  # cut off
        {"role": "user", "content": "Please tell me the long story about a dragon."},
    ]
    again = ScriptedLlm(["Once upon a time there was a dragon. It was brave."])
    assert list(reply_sentences(again, messages, 2)) == [
        "Once upon a time there was a dragon.",
        "It was brave.",
    ]


def test_a_turn_too_long_for_the_context_loses_history_first_then_its_start():
    conv = Conversation("You are Sam.", lambda text: len(text.split()), 60)
    conv.add_exchange("Hi there.", "Hello!")
    fits = conv.messages_for("What is the weather like in Paris today?")
    assert [m["role"] for m in fits] == ["system", "user", "assistant", "user"]
    # 25 words + persona leave no room for the history: it goes first
    long = " ".join(["blah"] * 20) + " so what time is it?"
    trimmed = conv.messages_for(long)
    assert [m["role"] for m in trimmed] == ["system", "user"] and trimmed[1]["content"] == long
    # longer than the whole budget: the start of it goes, the question at the end stays
    monologue = " ".join(["blah"] * 200) + " so what time is it?"
    cut = conv.messages_for(monologue, known="The user's name is Anna.", mood="tired")
    assert [m["role"] for m in cut] == ["system", "user"]
    assert cut[1]["content"].endswith("so what time is it?")
    assert sum(len(m["content"].split()) + 8 for m in cut) <= 60


def test_the_real_model_gets_a_pasted_page_without_overflowing(llm):
    from voiced.config import Settings
    from voiced.turn.load import conversation_for

    settings = Settings()
    conv = conversation_for(settings, llm)
    page = "The quick brown fox jumps over the lazy dog. " * 800 + "What did the fox do?"
    messages = conv.messages_for(page)
    used = sum(llm.count_tokens(m["content"]) + 8 for m in messages)
    assert used <= settings.llm.context_tokens - settings.llm.max_tokens
    assert messages[-1]["content"].endswith("What did the fox do?")
    list(reply_sentences(llm, messages, 1))  # no "exceeds the context window" error


def test_the_history_kept_in_memory_is_bounded():
    from voiced.mind.conversation import KEEP_EXCHANGES

    conv = Conversation("You are Sam.", lambda text: len(text.split()), 500)
    for i in range(KEEP_EXCHANGES + 50):
        conv.add_exchange(f"question {i}", f"answer {i}")
    assert len(conv.history) == 2 * KEEP_EXCHANGES
    assert conv.history[-1]["content"] == f"answer {KEEP_EXCHANGES + 49}"
    assert conv.history[0]["content"] == "question 50"


def test_a_long_conversation_never_overflows_the_real_models_context(llm):
    """The soak found it: after ~80 turns the estimated prompt was short of the template's
    real one and llama.cpp refused it. Now every turn fits, and the engine itself drops the
    oldest exchange if an estimate is ever short."""
    from voiced.config import Settings
    from voiced.engines.llama import _drop_oldest_exchange
    from voiced.turn.load import conversation_for

    settings = Settings()
    conv = conversation_for(settings, llm)
    for i in range(150):
        conv.add_exchange(
            f"Question {i}: what is a good thing to cook for dinner tonight?",
            "How about a simple pasta with tomatoes, garlic and a little basil?",
        )
    messages = conv.messages_for("And for dessert?", known="The user's name is Anna.", mood="tired")
    assert len(messages) > 30  # a long history was kept...
    list(reply_sentences(llm, messages, 1))  # ...and the model took it
    # the engine's last resort, on a prompt far over the window
    over = [messages[0]] + messages[1:-2] * 3 + messages[-2:]
    list(reply_sentences(llm, over, 1))
    pair = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    kept = [{"role": "system", "content": "s"}, *pair, {"role": "user", "content": "c"}]
    assert _drop_oldest_exchange(kept) and [m["content"] for m in kept] == ["s", "c"]


def test_notes_shape_the_reply_in_the_third_person_and_are_marked_private():
    from voiced.mind.conversation import about_them, private_notes

    assert about_them("The user's sister is called Annie. The user lives in Porto.") == (
        "Their sister is called Annie. They live in Porto."
    )
    notes = private_notes("The user's name is Theodore.", "tired")
    assert notes.startswith("Private notes, never to be read out")
    assert "Their name is Theodore." in notes
    assert "calm, gentle and brief" in notes and "the user" not in notes.lower()
    assert private_notes("", "") == ""


def test_a_sentence_reciting_the_notes_is_never_said():
    from tests.fakes import ScriptedLlm
    from voiced.mind.conversation import leaks_notes

    for leak in ("You sound tired.", "The user is now 10 meters away.", "You seem a bit low."):
        assert leaks_notes(leak)
    for fine in ("That sounds tough.", "You sound like you had fun!", "Sleep well, Theodore."):
        assert not leaks_notes(fine)
    llm = ScriptedLlm(["You sound tired. Sleep well, Theodore."])
    assert list(reply_sentences(llm, [{"role": "user", "content": "Bed."}], 2)) == [
        "Sleep well, Theodore."
    ]


def test_a_sentence_turning_away_from_what_they_said_is_never_said():
    from tests.fakes import ScriptedLlm

    said = "I understand you're feeling frustrated. How about we talk about something else?"
    llm = ScriptedLlm([said])
    told = [{"role": "user", "content": "The neighbours play loud music and I'm fed up."}]
    assert list(reply_sentences(llm, told, 2)) == ["I understand you're feeling frustrated."]
    # asked to, it may: the answer does not turn away, it asks what they would like
    llm = ScriptedLlm(["Of course! What would you like to talk about?"])
    asked = [{"role": "user", "content": "Can we talk about something else?"}]
    assert list(reply_sentences(llm, asked, 2)) == [
        "Of course!",
        "What would you like to talk about?",
    ]
