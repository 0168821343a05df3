"""voiced: a private voice companion — listen, transcribe, reason, speak, all on the device."""

__version__ = "0.1.0"
