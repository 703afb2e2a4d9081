"""The API steps with the core started two ways: in a session of its own (`setsid`, as the bench
and a service manager start it) and in the caller's session with the load generator in it too (a
plain shell script). Linux autogroup schedules sessions against each other, so this is where a
runner that outweighs the core on their shared CPU shows up (docs/performance.md, "Robust to how it
is started"); bench/session_check.py is the same measurement on its own, for digging in."""

from __future__ import annotations

from typing import Any

from benchlib import resources
from benchlib.loadgen import wrk
from benchlib.procs import Service, free_port
from benchlib.suite_base import VENV_BIN, SuiteBase

SESSION_LANGS = ("py", "rb", "ts")  # the two C-core gRPC runners and grpc-js
# Many short interleaved rounds rather than a few long ones: this VM's CPU runs the same work at a speed
# that drifts by ±20 % over seconds (CPU per request 375-672 µs for the same step in one run with the
# servers' CPU saturated and no other load on it: bench/README.md, "Rows that flip with noise"), so each
# pair's two runs must sit close in time and the median of many per-round ratios is the figure.
SESSION_ROUNDS = 8  # ABBA: own, caller in even rounds, caller, own in odd ones
SESSION_SECONDS = 1.5  # per run: ~2,500-4,000 requests at c16


class SessionScenario(SuiteBase):
    def session_core(self, mode: str) -> tuple[Service, int]:
        """A fresh motia-core on the servers' CPU: `own` in a session of its own (setsid, as the bench and
        a service manager start it), `caller` in this process's session."""
        project = self.copy_project("bench", self.work / f"bench-project-{mode}-session", ruby=self.ruby)
        port = free_port()
        argv = [str(VENV_BIN / "motia-core"), "serve", "--dir", str(project), "--port", str(port)]
        argv += ["--host", "127.0.0.1", "--log-level", "warn"]
        svc = Service(
            f"motia-core-{mode}-session",
            argv,
            log=self.logs / f"motia-core-{mode}-session.log",
            env={"BENCH_SINK_PORT": str(self.sink_port)},
            cpus=self.layout.sut,
            new_session=mode == "own",
        )
        return svc, port

    def session_modes(self) -> None:
        """c16 on each language's no-op step against a core in its own session (wrk in a session of its
        own) and one in the bench's session (wrk in the bench's session too). Both cores are started
        here and warmed the same way: comparing the main run's core (its runners warmed by the whole
        matrix, its storage grown by it) with a fresh one measured their histories, not the session."""
        langs = [lang for lang in SESSION_LANGS if lang != "rb" or self.ruby]
        servers = {mode: self.session_core(mode) for mode in ("own", "caller")}
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        try:
            for svc, _ in servers.values():
                svc.start()
            for svc, port in servers.values():
                svc.wait_http(f"http://127.0.0.1:{port}/noop/{langs[0]}", timeout=90)
            for lang in langs:
                for svc, port in servers.values():  # warm-up (Node's JIT), not counted
                    self._session_run(f"http://127.0.0.1:{port}/noop/{lang}", svc, self.d.warm_first, svc.new_session)
            for r in range(SESSION_ROUNDS):
                for lang in langs:
                    modes = ["own", "caller"] if r % 2 == 0 else ["caller", "own"]
                    for mode in modes:
                        svc, port = servers[mode]
                        url = f"http://127.0.0.1:{port}/noop/{lang}"
                        run = self._session_run(url, svc, SESSION_SECONDS, mode == "own")
                        out.setdefault(lang, {}).setdefault(mode, []).append(run)
                        self.progress(f"api {lang} c16 core in {mode} session r{r + 1}", self._session_line(run, lang))
        except RuntimeError as exc:
            self.fail("api in the caller's session", str(exc))
        finally:
            for svc, _ in servers.values():
                svc.stop()
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
