"""Errors of the runner process and the exit codes they lead to.

The tree::

    RunnerError                 base of the errors the runner raises on purpose
    ├── SettingsError           an environment variable is missing or malformed         -> exit 3
    ├── RefusedError            the core answered Hello with a Refusal                  -> exit 2
    ├── ProtocolError           the core sent something the protocol does not allow     -> exit 1
    ├── StreamClosedError       the stream ended or failed (exit 0 if after Shutdown)   -> exit 1
    └── ConfigNotJsonError      a step's ``config`` holds a value that is not JSON      -> a LoadError

Errors inside step code never escape: import failures become ``LoadError`` records and handler
failures ``Failed`` results.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """How the runner process ends."""

    OK = 0  # the core asked us to shut down and we did
    FAILED = 1  # the stream ended or failed without a Shutdown, or the core went away (stdin EOF)
    REFUSED = 2  # the core refused the handshake
    ENVIRONMENT = 3  # the interpreter or the environment cannot run the runner


class RunnerError(Exception):
    """Base of the errors the runner raises on purpose."""


class SettingsError(RunnerError):
    """An environment variable is missing or malformed."""


class RefusedError(RunnerError):
    """The core refused the handshake."""


class ProtocolError(RunnerError):
    """The core sent a message the protocol does not allow at this point."""


class StreamClosedError(RunnerError):
    """The stream to the core ended or failed."""


class ConfigNotJsonError(RunnerError):
    """A value in a step's ``config`` cannot be represented as JSON; the message names its path."""
