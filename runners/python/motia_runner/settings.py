"""The runner's settings, read once from the environment the core spawns it with."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from .errors import SettingsError

DEFAULT_SLOTS = 1024
DEFAULT_THREADS = 64
TRANSPORTS = ("grpc", "h2")


def transport_from_env(env: Mapping[str, str]) -> str:
    """MOTIA_RUNNER_TRANSPORT as given, normalized (bootstrap.py reads it too, to check its import);
    `RunnerSettings.from_env` refuses anything but TRANSPORTS."""
    return env.get("MOTIA_RUNNER_TRANSPORT", "h2").strip().lower()


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
    if value < 1:
        raise SettingsError(f"{name}={raw!r} must be at least 1")
    return value


@dataclasses.dataclass(frozen=True)
class RunnerSettings:
    """What the core tells the runner (``MOTIA_*`` variables) plus two knobs for debugging."""

    address: str  # MOTIA_CORE_ADDRESS: gRPC target used as-is, e.g. "unix:/tmp/motia-x/core.sock"
    secret: str  # MOTIA_RUNNER_SECRET: echoed in Hello
    project_dir: str  # MOTIA_PROJECT_DIR: the project root (default: the working directory)
    slots: int = DEFAULT_SLOTS  # MOTIA_RUNNER_SLOTS: invocations in flight the core may send
    threads: int = DEFAULT_THREADS  # MOTIA_RUNNER_THREADS: worker threads for `def` handlers
    use_uvloop: bool = True  # MOTIA_RUNNER_LOOP=asyncio turns uvloop off
    # MOTIA_RUNNER_TRANSPORT: "h2" (h2_stream.py, the default: a third of grpc.aio's CPU per frame) or
    # "grpc" (grpc.aio, kept selectable for one release; docs/performance.md "Python runner over h2")
    transport: str = "h2"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RunnerSettings:
        env = os.environ if env is None else env
        address = env.get("MOTIA_CORE_ADDRESS", "").strip()
        if not address:
            raise SettingsError(
                "MOTIA_CORE_ADDRESS is not set: the runner is started by motia-core, which passes the address "
                "of its gRPC socket"
            )
        loop = env.get("MOTIA_RUNNER_LOOP", "uvloop").strip().lower()
        if loop not in ("uvloop", "asyncio"):
            raise SettingsError(f"MOTIA_RUNNER_LOOP={loop!r} must be 'uvloop' or 'asyncio'")
        transport = transport_from_env(env)
        if transport not in TRANSPORTS:
            raise SettingsError(f"MOTIA_RUNNER_TRANSPORT={transport!r} must be 'grpc' or 'h2'")
        return cls(
            address=address,
            secret=env.get("MOTIA_RUNNER_SECRET", ""),
            project_dir=os.path.abspath(env.get("MOTIA_PROJECT_DIR") or os.getcwd()),
            slots=_positive_int(env, "MOTIA_RUNNER_SLOTS", DEFAULT_SLOTS),
            threads=_positive_int(env, "MOTIA_RUNNER_THREADS", DEFAULT_THREADS),
            use_uvloop=loop == "uvloop",
            transport=transport,
        )
