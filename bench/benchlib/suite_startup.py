"""Cold start (`serve` to the first 200 OK, idle RSS) and the RSS floors of the imports."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from benchlib.procs import Service
from benchlib.suite_base import REPO, SuiteBase


class StartupScenarios(SuiteBase):
    # -- cold start --------------------------------------------------------------------------------

    def cold_start(self, reps: int = 3) -> None:
        def launch(i: int) -> tuple[Service, int]:
            project = self.copy_project("cold", self.work / f"cold-{i}")
            return self.motia_core(project, f"motia-core-cold-{i}", self.layout.both)

        runs, idle = self.cold_starts("motia-core", reps, launch, timeout=60)
        self.results["cold_start"] = {"motia_core": {"runs_s": runs, "idle": idle}}

    def import_floors(self) -> None:
        """RSS of a fresh interpreter after importing what the core and the Node runner import: the
        floor under their idle RSS."""
        steps = [
            ("python (nothing imported)", "sys"),
            ("+ aiohttp, uvloop, orjson", "aiohttp,uvloop,orjson"),
            ("+ grpcio", "aiohttp,uvloop,orjson,grpc"),
            (
                "+ pydantic, jsonschema, fastjsonschema, croniter",
                "aiohttp,uvloop,orjson,grpc,pydantic,jsonschema,fastjsonschema,croniter",
            ),
            (
                "+ motia_core.app (the whole core)",
                "aiohttp,uvloop,orjson,grpc,pydantic,jsonschema,fastjsonschema,croniter,motia_core.app",
            ),
        ]
        code = (
            "import importlib, sys, psutil\nfor m in sys.argv[1].split(','): importlib.import_module(m)\n"
            "print(psutil.Process().memory_info().rss / 2**20)"
        )
        out: list[dict[str, Any]] = []
        try:
            for label, mods in steps:
                r = subprocess.run([sys.executable, "-c", code, mods], capture_output=True, text=True, timeout=60)
                out.append({"what": label, "rss_mb": float(r.stdout.strip())})
            node_mods = REPO / "runners/node/node_modules"
            js = (
                "const m = process.argv.slice(1); for (const x of m) require(x); "
                "console.log(process.memoryUsage().rss / 2**20)"
            )
            node_steps: list[tuple[str, list[str]]] = [
                ("node (nothing required)", []),
                ("+ @grpc/grpc-js, esbuild", [str(node_mods / "@grpc/grpc-js"), str(node_mods / "esbuild")]),
            ]
            for label, modules in node_steps:
                r = subprocess.run(["node", "-e", js, *modules], capture_output=True, text=True, timeout=60)
                out.append({"what": label, "rss_mb": float(r.stdout.strip())})
        except (ValueError, OSError, subprocess.TimeoutExpired) as exc:
            self.fail("import floors", str(exc))
        self.results["import_floors"] = out
