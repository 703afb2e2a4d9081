"""The core's exception tree.

MotiaError                      base of everything the core raises on purpose
├── ProjectError                the project folder or its files are unusable
│   ├── ConfigError             a step config is invalid (carries ConfigIssue list)
│   ├── ProjectConfigError      motia.config.ts / .js does not evaluate or sets a key wrongly (project_config.py)
│   └── StorageError            a database under .motia/ cannot be opened (damaged, not a database, not writable)
├── CreateError                 `motia-core create` cannot write the project (unknown template, folder not empty)
├── RunnerError                 talking to a language runner failed
│   ├── RunnerUnavailable       no ready runner for the step's language (HTTP 503)
│   ├── RunnerLost              the runner died or its stream ended mid-invocation (HTTP 503)
│   ├── AdmissionTimeout        no free runner slot within the admission deadline (HTTP 503)
│   └── ProtocolError           the peer broke the protocol (bad first message, bad secret...)
└── CallFailed                  a runner->core call cannot be served (becomes a CallError reply)
    └── StorageUnavailable      a database under .motia/ went away or failed while running: the write is
                                refused (CODE_UNAVAILABLE to a runner, HTTP 503 to POST /emit)
"""

from __future__ import annotations

from dataclasses import dataclass


class MotiaError(Exception):
    """Base class of the core's deliberate errors."""


class ProjectError(MotiaError):
    """The project folder or one of its files cannot be used."""


class CreateError(MotiaError):
    """`motia-core create` cannot write the project (create.py)."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a step config: where it is and what was expected."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigError(ProjectError):
    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues))


class RunnerError(MotiaError):
    """Talking to a language runner failed."""


class RunnerUnavailable(RunnerError):
    """No ready runner can take the invocation."""


class RunnerLost(RunnerError):
    """The runner died, or its stream ended, while the invocation was in flight."""


class AdmissionTimeout(RunnerError):
    """The runner had no free slot before the admission deadline."""


class ProtocolError(RunnerError):
    """The peer broke the runner protocol."""


class CallFailed(MotiaError):
    """A runner->core call cannot be served; code is a CallError.Code name."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class StorageError(ProjectError):
    """A database under .motia/ cannot be opened; the message names the file and what to do."""


class StorageUnavailable(CallFailed):
    """A database under .motia/ was deleted, replaced or failed while the core ran: a write that would
    accept new data is refused rather than lost (docs/delivery.md#storage-faults)."""

    def __init__(self, message: str) -> None:
        super().__init__("CODE_UNAVAILABLE", message)
