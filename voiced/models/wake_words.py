"""The wake words voiced knows: the microWakeWord models pymicro-wakeword ships, by name."""

WAKE_WORDS = {
    "hey_jarvis": "Hey Jarvis",
    "hey_mycroft": "Hey Mycroft",
    "okay_nabu": "Okay Nabu",
    "alexa": "Alexa",
}
"""Each model's name, with what it listens for (its last word is the name the assistant
answers to)."""
