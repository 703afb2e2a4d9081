"""The runner conformance kit (`motia-core conformance`) against every runner, and against bad ones."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from motia_core.conformance import CASES
from motia_core.runner_registry import installed_runners

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "core" / "motia_core" / "conformance" / "fixtures"
NODE_RUNNER = ROOT / "runners" / "node" / "dist" / "runner.cjs"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.MULTILINE)

# A runner that is wrong on purpose. "garbage": a Hello with a wrong pid and language, no steps,
# wrong pong nonces, results that are not JSON. "hang": a Hello, then silence; it ignores stdin EOF
# and SIGTERM, so only the kit's SIGKILL ends it.
BAD_RUNNER = """
import os, queue, signal, sys, threading
import grpc
from motia_core._proto.motia.runner.v1 import runner_pb2 as pb

mode, pid_file = sys.argv[1], sys.argv[2]
with open(pid_file, "w") as f:
    f.write(str(os.getpid()))
outgoing = queue.Queue()

def frames():
    while True:
        yield outgoing.get()

def send(message):
    outgoing.put(pb.RunnerFrame(messages=[message]))

hello = pb.RunnerMessage()
hello.hello.protocol_min = 1
hello.hello.protocol_max = 1
hello.hello.runner_instance_id = "always-the-same"
hello.hello.language = "cobol" if mode == "garbage" else "python"
hello.hello.runtime_version = "x"
hello.hello.sdk_version = "x"
hello.hello.concurrency_slots = 1
hello.hello.secret = os.environ["MOTIA_RUNNER_SECRET"]
hello.hello.pid = os.getpid() + 1
send(hello)
channel = grpc.insecure_channel(os.environ["MOTIA_CORE_ADDRESS"])
connect = channel.stream_stream(
    "/motia.runner.v1.RunnerService/Connect",
    request_serializer=pb.RunnerFrame.SerializeToString,
    response_deserializer=pb.CoreFrame.FromString,
)
responses = connect(frames())
if mode == "hang":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Event().wait()
for frame in responses:
    for message in frame.messages:
        kind = message.WhichOneof("kind")
        reply = pb.RunnerMessage()
        if kind == "load_steps":
            reply.steps_loaded.request_id = message.load_steps.request_id
        elif kind == "ping":
            reply.pong.nonce = message.ping.nonce + 1
        elif kind == "start":
            reply.result.invocation_id = message.start.invocation_id
            reply.result.fencing_token = message.start.fencing_token
            reply.result.completed.payload_json = b"this is not JSON"
        else:
            continue
        send(reply)
"""


def run_kit(runner: str, lang: str, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "motia_core", "conformance", "--runner", runner, "--lang", lang, *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def run_outside(runner: str, fixtures: Path, broken: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The path of a runner registered nowhere: only --runner, --fixtures and --broken."""
    command = [sys.executable, "-m", "motia_core", "conformance", "--runner", runner, "--fixtures", str(fixtures)]
    command += ["--broken", str(broken)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def broken_file(tmp_path: Path, runner: str, language: str) -> Path:
    """The registered broken file of a built-in language, as an outsider would keep it: a file."""
    decl = installed_runners().runner(runner)
    assert decl is not None
    fixture = decl.conformance[language]
    path = tmp_path / "broken" / Path(fixture.broken_file).name
    path.parent.mkdir()
    path.write_text(fixture.broken_source, encoding="utf-8")
    return path


def assert_all_passed(result: subprocess.CompletedProcess[str]) -> None:
    report = result.stdout + result.stderr
    found = SUMMARY.findall(result.stdout)
    assert found, report
    assert found[-1] == (str(len(CASES)), "0"), report
    assert result.stdout.rstrip().endswith(f"{len(CASES)} passed, 0 failed"), report
    assert result.returncode == 0, report


@pytest.mark.timeout(180)
def test_python_runner_conforms(tmp_path: Path) -> None:
    runner = f"{shlex.quote(sys.executable)} {shlex.quote(str(ROOT / 'runners/python/motia_runner/bootstrap.py'))}"
    result = run_outside(runner, FIXTURES / "python", broken_file(tmp_path, "python", "python"))
    assert_all_passed(result)
    assert "SyntaxError" in _case_lines(result.stdout)["load_error"], result.stdout


@pytest.mark.timeout(180)
def test_typescript_runner_conforms_through_runner_and_fixtures(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not NODE_RUNNER.is_file():
        pytest.skip("node or runners/node/dist/runner.cjs is missing (run `make install`)")
    broken = broken_file(tmp_path, "node", "typescript")
    assert_all_passed(
        run_outside(f"{shlex.quote(node)} {shlex.quote(str(NODE_RUNNER))}", FIXTURES / "typescript", broken)
    )


@pytest.mark.timeout(180)
@pytest.mark.parametrize("lang", ["ts", "js"])
def test_node_runner_conforms(lang: str) -> None:
    node = shutil.which("node")
    if node is None or not NODE_RUNNER.is_file():
        pytest.skip("node or runners/node/dist/runner.cjs is missing (run `make install`)")
    assert_all_passed(run_kit(f"{shlex.quote(node)} {shlex.quote(str(NODE_RUNNER))}", lang))


@pytest.mark.timeout(180)
def test_ruby_runner_conforms() -> None:
    if shutil.which("ruby") is None:
        pytest.skip("ruby is not installed")
    # only --lang: the declaration gives the command, the fixtures and the broken file
    command = [sys.executable, "-m", "motia_core", "conformance", "--lang", "ruby"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=170, cwd=ROOT)
    assert_all_passed(result)
    assert "runner 'ruby', ruby, fixtures" in result.stdout, result.stdout


def _bad_runner(tmp_path: Path, mode: str) -> tuple[str, Path]:
    script = tmp_path / "bad_runner.py"
    script.write_text(BAD_RUNNER, encoding="utf-8")
    pid_file = tmp_path / f"{mode}.pid"
    command = " ".join(shlex.quote(part) for part in (sys.executable, str(script), mode, str(pid_file)))
    return command, pid_file


def _case_lines(stdout: str) -> dict[str, str]:
    lines = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in CASES and parts[1] in ("PASS", "FAIL"):
            lines[parts[0]] = line
    return lines


def test_kit_fails_a_misbehaving_runner(tmp_path: Path) -> None:
    runner, _ = _bad_runner(tmp_path, "garbage")
    cases = ["handshake", "manifest", "api_invocation", "unknown_step", "ping_pong"]
    result = run_kit(runner, "py", "--timeout", "5", *(arg for case in cases for arg in ("--case", case)))
    report = result.stdout + result.stderr
    assert result.returncode == 1, report
    assert result.stdout.rstrip().endswith(f"0 passed, {len(cases)} failed"), report
    lines = _case_lines(result.stdout)
    assert all("FAIL" in lines[case] for case in cases), report
    assert "language is 'cobol'" in lines["handshake"], report
    assert "missing step(s)" in lines["manifest"], report
    assert "did not load" in lines["api_invocation"], report
    assert "expected Failed FAILURE_KIND_UNKNOWN_STEP" in lines["unknown_step"], report
    assert "Pong with nonce" in lines["ping_pong"], report


def test_kit_fails_a_hanging_runner_and_kills_it(tmp_path: Path) -> None:
    runner, pid_file = _bad_runner(tmp_path, "hang")
    result = run_kit(runner, "py", "--timeout", "2", "--case", "ping_pong", "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    assert '"summary": "0 passed, 1 failed"' in result.stdout
    assert "timed out" in result.stdout
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the kit left its runner running"


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_unknown_runner_command_is_a_usage_error() -> None:
    result = run_kit("definitely-not-a-runner-binary", "py")
    assert result.returncode == 2
    assert "cannot run" in result.stderr
    assert os.path.isdir(FIXTURES / "python")
