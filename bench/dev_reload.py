"""`motia-core dev`: save-to-new-code-answering time per language (docs/dev.md#the-dev-loop).

    python bench/dev_reload.py [--edits 20] [--out FILE.json]

Runs a real `motia-core dev` on a copy of tests/fixtures/dv_app. For each language it saves a
step `--edits` times (an editor's atomic save: temp file + rename) and measures, from the rename,
how long until a call to that step answers with the new code: watcher debounce + new runner start
+ load + registry swap, as a developer sees it. A client polls every 5 ms; the figure is the first
answer with the new value. Prints p50/p99/max per language.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests/fixtures/dv_app"
TARGETS = {  # language -> (file, route, value template)
    "typescript": ("steps/ts.step.ts", "/ts", "ts-v{}"),
    "python": ("steps/version_step.py", "/py/v1", "py-v{}"),
    "ruby": ("steps/version_step.rb", "/rb", "rb-v{}"),
}
POLL = 0.005
EDIT_TIMEOUT = 60.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _value(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return str(json.loads(resp.read()).get("v"))
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _save(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(edits: int) -> dict[str, dict[str, float]]:
    work = Path(tempfile.mkdtemp(prefix="dev-bench-"))
    project = work / "dv_app"
    shutil.copytree(FIXTURE, project)
    port = _port()
    url = f"http://127.0.0.1:{port}"
    log = (work / "core.log").open("w")
    cmd = [sys.executable, "-m", "motia_core", "dev", "--dir", str(project), "--port", str(port)]
    core = subprocess.Popen([*cmd, "--host", "127.0.0.1", "--log-format", "json"], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while _value(url + "/ts") != "ts-v1":
            if core.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"motia-core dev did not start; see {work / 'core.log'}")
            time.sleep(0.1)
        time.sleep(1.0)  # the watcher starts just after the port opens
        out: dict[str, dict[str, float]] = {}
        for language, (rel, route, template) in TARGETS.items():
            path = project / rel
            samples: list[float] = []
            for n in range(2, edits + 2):
                text = path.read_text().replace(template.format(n - 1), template.format(n))
                want = template.format(n)
                saved = time.perf_counter()
                _save(path, text)
                while _value(url + route) != want:
                    if time.perf_counter() - saved > EDIT_TIMEOUT:
                        raise SystemExit(f"{language}: edit {n} not live after {EDIT_TIMEOUT:g}s")
                    time.sleep(POLL)
                samples.append((time.perf_counter() - saved) * 1000)
                time.sleep(0.3)  # the retired runner's exit is not part of the next sample
            out[language] = {
                "edits": len(samples),
                "p50_ms": statistics.median(samples),
                "p99_ms": _percentile(samples, 0.99),
                "max_ms": max(samples),
            }
            print(
                f"{language:<10} {len(samples)} edits: p50 {out[language]['p50_ms']:.0f} ms, "
                f"p99 {out[language]['p99_ms']:.0f} ms, max {out[language]['max_ms']:.0f} ms",
                flush=True,
            )
        return out
    finally:
        core.send_signal(signal.SIGTERM)
        try:
            core.wait(30)
        except subprocess.TimeoutExpired:
            core.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--edits", type=int, default=20, help="saves per language (20)")
    p.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = p.parse_args()
    figures = run(args.edits)
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
