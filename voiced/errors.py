"""Errors a user sees: one sentence each, with a distinct process exit code.

Exit codes follow sysexits(3) where one fits, so systemd and scripts can tell
causes apart (78 in particular tells systemd not to restart into the same
bad configuration).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # an unexpected internal error
EXIT_USAGE = 2  # bad command line (argparse's own code)
EXIT_AUDIO_FILE = 65  # EX_DATAERR: an audio file that cannot be read
EXIT_AUDIO_DEVICE = 69  # EX_UNAVAILABLE: no such audio device, or it cannot be opened
EXIT_CONFIG = 78  # EX_CONFIG: the configuration is invalid
EXIT_MODEL = EXIT_CONFIG  # a model file missing or corrupt: restarting cannot mend it either


class VoicedError(Exception):
    """An error with a one-line message for the user and an exit code."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(VoicedError):
    exit_code = EXIT_USAGE


class ConfigError(VoicedError):
    exit_code = EXIT_CONFIG


class ModelError(VoicedError):
    exit_code = EXIT_MODEL


class AudioDeviceError(VoicedError):
    exit_code = EXIT_AUDIO_DEVICE


class AudioFileError(VoicedError):
    exit_code = EXIT_AUDIO_FILE
