"""The API steps with the core started two ways: in a session of its own (`setsid`, as the bench
and a service manager start it) and in the caller's session with the load generator in it too (a
plain shell script). Linux autogroup schedules sessions against each other, so this is where a
runner that outweighs the core on their shared CPU shows up (docs/performance.md, "Robust to how it
is started"); bench/session_check.py is the same measurement on its own, for digging in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchlib import resources
from benchlib.loadgen import wrk
from benchlib.procs import Service, free_port
from benchlib.suite_base import VENV_BIN, SuiteBase

SESSION_LANGS = ("py", "rb", "ts")  # the two C-core gRPC runners and grpc-js
SESSION_ROUNDS = 2  # interleaved (own, caller / caller, own); CPU per request is steady enough for 2


class SessionScenario(SuiteBase):
    def caller_session_core(self, project: Path) -> tuple[Service, int]:
        """A second motia-core in this process's session (not setsid), on the servers' CPU."""
        port = free_port()
        argv = [str(VENV_BIN / "motia-core"), "serve", "--dir", str(project), "--port", str(port)]
        argv += ["--host", "127.0.0.1", "--log-level", "warn"]
        svc = Service(
            "motia-core-caller-session",
            argv,
            log=self.logs / "motia-core-caller-session.log",
            env={"BENCH_SINK_PORT": str(self.sink_port)},
            cpus=self.layout.sut,
            new_session=False,
        )
        return svc, port

    def session_modes(self, own: Service, own_port: int) -> None:
        """c16 on each language's no-op step against `own` (the main run's setsid core, wrk in a session
        of its own) and against a core in the bench's session (wrk in the bench's session too)."""
        langs = [lang for lang in SESSION_LANGS if lang != "rb" or self.ruby]
        project = self.copy_project("bench", self.work / "bench-project-caller", ruby=self.ruby)
        caller, caller_port = self.caller_session_core(project)
        caller.start()
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        try:
            caller.wait_http(f"http://127.0.0.1:{caller_port}/noop/{langs[0]}", timeout=60)
            servers = {"own": (own, own_port), "caller": (caller, caller_port)}
            for lang in langs:
                for svc, port in servers.values():  # warm-up (Node's JIT), not counted
                    self._session_run(f"http://127.0.0.1:{port}/noop/{lang}", svc, self.d.warm, svc.new_session)
            for r in range(SESSION_ROUNDS):
                for lang in langs:
                    modes = ["own", "caller"] if r % 2 == 0 else ["caller", "own"]
                    for mode in modes:
                        svc, port = servers[mode]
                        run = self._session_run(f"http://127.0.0.1:{port}/noop/{lang}", svc, self.d.api, mode == "own")
                        out.setdefault(lang, {}).setdefault(mode, []).append(run)
                        self.progress(f"api {lang} c16 core in {mode} session r{r + 1}", self._session_line(run, lang))
        except RuntimeError as exc:
            self.fail("api in the caller's session", str(exc))
        finally:
            caller.stop()
        self.results["api_session"] = out

    def _session_run(self, url: str, svc: Service, seconds: float, new_session: bool) -> dict[str, Any]:
        with resources.Sampler(svc.pid) as sampler:
            run: dict[str, Any] = wrk(
                url, connections=16, duration=seconds, cpus=self.layout.load, new_session=new_session
            )
        run["resources"] = sampler.result()
        return run

    @staticmethod
    def _session_line(run: dict[str, Any], lang: str) -> str:
        by_role = run["resources"]["by_role"]
        wall = run["resources"]["wall_s"]
        n = max(1, run["requests"])
        core = by_role.get("core", {}).get("cpu_pct", 0.0) * wall / 100 / n * 1e6
        runner_role = {"py": "python runner", "rb": "ruby runner"}.get(lang, "node runner")
        runner = by_role.get(runner_role, {}).get("cpu_pct", 0.0) * wall / 100 / n * 1e6
        return f"{run['rps']:>9,.0f} req/s  CPU/request core {core:.0f} µs + runner {runner:.0f} µs"
