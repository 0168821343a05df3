"""Listening: whether someone is speaking to it, where an utterance starts and ends, and
the wake words. Uses the engines (voice activity, wake words, the end-of-turn judge),
audio and config; knows nothing of turns or what is said back.

segmenter.py   voice activity into utterances: a pure state machine with a pre-roll
endpoint.py    whether the user's turn is over: the smart-turn judge over a quiet stretch
activation.py  whether a transcript is addressed to it (the wake phrase, follow-ups)
wake.py        the acoustic wake word gate: asleep, nothing else hears the room
listener.py    the microphone frames through echo cancelling, the gate and the segmenter
"""
