"""gRPC's polling path for the runner streams (core/motia_core/runners/grpc_polling.py;
docs/performance.md, "Per-request cost at c1").

The core and the Python runner import grpc with its EventEngine endpoints off, so the thread that
polls the completion queue reads the socket itself instead of an EventEngine thread handing every
message over; the variable is gone again once grpc is imported (runners and handlers' children do
not inherit it); a GRPC_EXPERIMENTS the user set is left alone. The effect is checked by counting
the context switches of grpc's `event_engine` threads per request: a count, not a time, and the two
paths differ by far more than any load moves it (~0.1-1 against ~5-12 per request, measured).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CoreProcess

POLLING = "-event_engine_listener,-event_engine_for_all_other_endpoints,-event_engine_client"
REQUESTS = 300


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.decode().partition("=")[::2] for item in raw.split(b"\0") if item)


def _event_engine_switches(pid: int) -> int:
    """Context switches so far of a process's grpc EventEngine threads."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            if Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip() != "event_engine":
                continue
            for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines():
                if line.endswith("ctxt_switches") or "ctxt_switches:" in line:
                    total += int(line.split()[1])
        except OSError:  # a thread that ended meanwhile
            continue
    return total


def test_the_choice_is_made_before_the_core_imports_grpc_and_taken_back_after() -> None:
    # -X importtime lists a module when its import ends; a package's own __init__ ends before its
    # submodules import grpc, so motia_core.runners must be listed before grpc's first module.
    code = "import os, motia_core.app; print(os.environ.get('GRPC_EXPERIMENTS', '<unset>'))"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        timeout=60,
        check=True,
    )
    assert proc.stdout.strip() == "<unset>"  # children of the core do not inherit it
    names = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")]
    first_grpc = next(i for i, name in enumerate(names) if name == "grpc" or name.startswith("grpc."))
    assert names.index("motia_core.runners") < first_grpc, names[max(0, first_grpc - 3) : first_grpc + 3]


def test_a_value_passed_on_by_a_process_that_never_imported_grpc_is_still_ours() -> None:
    # the parent imports the package (the choice) but not grpc (so never takes it back out); the core
    # it starts must still see the value as its own: used for grpc, then gone from its environment
    child = "import os, motia_core.app; print(sorted(k for k in os.environ if 'GRPC_EXP' in k or 'MOTIA_GRPC' in k))"
    parent = (
        "import os, subprocess, sys, motia_core.runners.transport\n"
        "assert os.environ['GRPC_EXPERIMENTS'] and os.environ['MOTIA_GRPC_POLLING'] == '1'\n"
        f"print(subprocess.run([sys.executable, '-c', {child!r}], capture_output=True, text=True, check=True).stdout)"
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    proc = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_only_our_own_value_counts_as_ours() -> None:
    from motia_core.runners.grpc_polling import MARK, POLLING, VARIABLE, ours

    assert ours({})
    assert ours({VARIABLE: POLLING, MARK: "1"})
    assert not ours({VARIABLE: POLLING})  # the user wrote the same value: theirs
    assert not ours({VARIABLE: "-event_engine_client", MARK: "1"})  # the user changed it
    assert not ours({VARIABLE: ""})


_PINGS = textwrap.dedent(
    """
    import asyncio, os, sys
    import motia_core.runners.grpc_server  # what `serve` imports: the choice, grpc, then settled()
    import grpc
    from tests.test_corehot_grpc_polling import _event_engine_switches

    async def main():
        handler = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
        server = grpc.aio.server()
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("t.T", {"M": handler})])
        address = "unix:" + sys.argv[1]
        server.add_insecure_port(address)
        await server.start()
        async with grpc.aio.insecure_channel(address) as channel:
            ping = channel.unary_unary("/t.T/M")
            for _ in range(50):
                await ping(b"x")
            before = _event_engine_switches(os.getpid())
            for _ in range(N_REQUESTS):
                await ping(b"x")
            print((_event_engine_switches(os.getpid()) - before) / N_REQUESTS)
        await server.stop(None)

    asyncio.run(main())
    """
).replace("N_REQUESTS", str(REQUESTS))


def _pings(tmp_path: Path, user_value: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k != "GRPC_EXPERIMENTS"}
    if user_value is not None:
        env["GRPC_EXPERIMENTS"] = user_value
    proc = subprocess.run(
        [sys.executable, "-c", _PINGS, str(tmp_path / "t.sock")],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        cwd=str(Path(__file__).resolve().parents[1]),
    )
    assert proc.returncode == 0, proc.stderr
    return float(proc.stdout.strip())


@pytest.mark.timeout(200)
def test_the_core_process_polls_without_event_engine_hand_offs(tmp_path: Path) -> None:
    polling = _pings(tmp_path, None)
    event_engine = _pings(tmp_path, "")  # the user's (empty) value wins: grpc's default path
    assert polling < 2.0, polling
    assert event_engine > 2 * polling + 2.0, (polling, event_engine)


def _runner_switches_per_request(core: CoreProcess) -> tuple[float, dict[str, str]]:
    pid = core.runner_pids()["python"]
    for _ in range(30):
        with urllib.request.urlopen(core.url + "/py/hello/x", timeout=10) as resp:
            assert resp.status == 200
    before = _event_engine_switches(pid)
    for _ in range(REQUESTS):
        with urllib.request.urlopen(core.url + "/py/hello/x", timeout=10) as resp:
            resp.read()
    return (_event_engine_switches(pid) - before) / REQUESTS, _environ(pid)


@pytest.mark.timeout(240)
def test_the_python_runner_polls_too_and_runners_inherit_nothing(
    start_core: Callable[..., CoreProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRPC_EXPERIMENTS", raising=False)
    monkeypatch.setenv("MOTIA_RUNNER_TRANSPORT", "grpc")  # grpc.aio's threads are what this counts
    core = start_core("mixed")
    polling, environ = _runner_switches_per_request(core)
    assert "GRPC_EXPERIMENTS" not in environ  # neither the core's choice nor the bootstrap's leaks
    core.stop()
    monkeypatch.setenv("GRPC_EXPERIMENTS", "")  # the user's value: kept, so grpc's default path
    event_engine, environ = _runner_switches_per_request(start_core("mixed"))
    assert environ.get("GRPC_EXPERIMENTS") == ""
    assert polling < 2.0, polling
    assert event_engine > 2 * polling + 1.0, (polling, event_engine)
