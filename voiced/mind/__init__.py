"""The mind: what it knows about the user and how the conversation has gone. Facts told
and their store, the conversation's history and prompt, how the user sounds. Uses the
engines' chat interface and the leaves; knows nothing of audio devices or turns.

facts.py         what a sentence tells about the user, by pattern ("my sister is called ...")
extract.py       the language model asked for the facts the patterns miss
memory.py        the facts kept on disk, recalled, corrected and forgotten
conversation.py  the persona, the history within its budget, the reply's sentences
affect.py        how the user sounds (their voice and words), to shape the tone
"""
