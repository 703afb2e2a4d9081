"""`motia-core dev`: serve the project and reload the runners of what changed (docs/dev.md).

A reload of a language is drain-and-replace: a new runner of that language loads the current files
next to the old one; when it is ready the registry is swapped (routes, subscriptions and cron at
once, registry.LiveRegistry) and new calls go to it; the old runner is told to shut down, which
lets the calls it has in flight finish on the old code, then exits. A load error (syntax, import,
config the runner cannot evaluate) in the new runner is logged with file, line and message and the
new runner is dropped: the old one never stopped serving, and the next good save recovers.

Like Motia's `dev`, it keeps the project's `types.d.ts` (`motia-core generate-types`) in step with the
steps: written at start and after every swap, when the project has TypeScript or JavaScript steps or
already has the file; an unchanged file is not rewritten, and the project root is not watched.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass

from motia_core.app import MotiaCore
from motia_core.errors import ConfigIssue, ProjectError
from motia_core.project import RunnerName, StepFile, discover
from motia_core.runners.supervisor import RunnerProcess, RunnerSpec
from motia_core.runners.transport import LoadFailure, Manifest
from motia_core.watch import Change, watch

RETIRE_CLOSE_WAIT = 2.0  # at dev's stop: how long old runners still draining get before the core's own stop


@dataclass
class Candidate:
    runtime: RunnerName
    proc: RunnerProcess
    manifest: Manifest | None = None
    adopted: bool = False


class DevReloader:
    """Reloads runners one batch at a time (a lock: reloads never overlap)."""

    def __init__(self, core: MotiaCore) -> None:
        self.core = core
        self.logger = core.logger
        self.reloads = 0  # batches that swapped the registry
        self.rejected = 0  # batches whose new runner failed to load and was dropped
        self._lock = asyncio.Lock()
        self._retiring: dict[asyncio.Task[None], RunnerProcess] = {}

    def present(self) -> set[RunnerName]:
        """Runtimes a change can reload: those with a runner, those whose files could not load (a
        failed prepare), and those with files now (a first .rb)."""
        core = self.core
        known = set(core._runners) | set(core._load_issues)
        try:
            return known | discover(core.project_dir, core.runners).runtimes()
        except ProjectError:  # a file two declarations claim: _reload says so
            return known

    async def on_change(self, change: Change) -> None:
        shown = ", ".join(change.paths[:5]) + (f" and {len(change.paths) - 5} more" if len(change.paths) > 5 else "")
        for note in change.notes:
            self.logger.warn(note)
        await self.reload(change.runtimes, f"{shown} changed")

    async def reload(self, runtimes: set[RunnerName], why: str) -> bool:
        """Reload the runners of `runtimes` with the files on disk now; True if the registry was swapped."""
        async with self._lock:
            return await self._reload(runtimes, why)

    async def _reload(self, runtimes: set[RunnerName], why: str) -> bool:
        core = self.core
        started = time.perf_counter()
        try:
            discovery = discover(core.project_dir, core.runners)
        except ProjectError as exc:  # e.g. a new file two runner declarations claim
            self.logger.error(f"cannot reload: {exc}")
            self.rejected += 1
            return False
        if core._config_auth and core.project_config is not None:  # the Node runner runs authenticate
            discovery.files.append(core.project_config.file)
        gone: list[RunnerName] = []
        wanted: dict[RunnerName, list[StepFile]] = {}
        for runtime in sorted(runtimes):
            files = [f for f in discovery.files if f.runtime == runtime]
            if not files:
                gone.append(runtime)  # its last file was deleted: its runner retires, its steps go
                continue
            wanted[runtime] = files
        # each runner's prepare (build) first, side by side: a failed one keeps the old runner serving
        ready = await asyncio.gather(*(core.launcher.ready_spec(r, files) for r, files in wanted.items()))
        candidates: list[Candidate] = []
        failed_fresh = False  # a runner that never started (its first prepare failed) has new errors to show
        for (runtime, files), spec in zip(wanted.items(), ready, strict=True):
            if isinstance(spec, RunnerSpec):
                candidates.append(self._candidate(runtime, spec_files=files, proc_spec=spec))
                continue
            self._log_prepare_failure(runtime, spec)
            if runtime not in core._runners:
                core._load_issues[runtime] = spec
                failed_fresh = True
        await asyncio.gather(*(c.proc.start() for c in candidates))
        good = [c for c in candidates if self._loaded_cleanly(c)]
        for bad in (c for c in candidates if c not in good):
            self._retire(bad.proc, grace=3.0)  # Shutdown first: it exits quietly
        if not good and not [r for r in gone if r in core._runners or r in core._load_issues]:
            self.rejected += 1
            if failed_fresh:
                core.discovery = discovery
                core.reconcile(f"the build failed ({why})")
            return False
        old: list[RunnerProcess] = []
        for c in good:
            c.adopted = True
            previous = core._runners.get(c.runtime)
            if previous is not None:
                old.append(previous)
            core._runners[c.runtime] = c.proc
            core._load_issues.pop(c.runtime, None)  # a build that failed before succeeded now
            assert c.manifest is not None
            core.loads[c.runtime] = core.runtime_load(c.proc.files, c.manifest)
        for runtime in gone:
            proc = core._runners.pop(runtime, None)
            if proc is not None:
                old.append(proc)
            core.loads.pop(runtime, None)
            core._load_issues.pop(runtime, None)
        core.discovery = discovery
        # one swap for the whole batch, in this event-loop step: calls from now on reach the new runners
        core.reconcile(f"reloaded {', '.join(sorted(c.runtime for c in good) + gone)} ({why})")
        grace = max(core.options.api_timeout, core.options.shutdown_timeout)
        for proc in old:  # what they run now finishes on the old code, within the grace
            self._retire(proc, grace)
        self.reloads += 1
        self.logger.debug(f"reload took {(time.perf_counter() - started) * 1000:.0f} ms")
        self.write_types()
        return True

    def write_types(self) -> None:
        """Regenerate types.d.ts after the registry changed; a failure is a warning, never a stop."""
        from motia_core import typegen

        core = self.core
        path = core.project_dir / "types.d.ts"
        # types.d.ts is for TypeScript editors: projects with TS/JS steps, or that already have it
        node_steps = any(s.language in ("typescript", "javascript") for s in core.registry.steps)
        if not node_steps and not path.exists():
            return
        try:
            changed = typegen.write_types(core.registry, path, None, typegen.auth_context_schema(core))
        except Exception as exc:  # a schema the generator trips on must not stop the dev loop
            self.logger.warn(f"types.d.ts not updated: {type(exc).__name__}: {exc}")
            return
        if changed:
            self.logger.info("types.d.ts updated (motia-core generate-types)")

    def _log_prepare_failure(self, runtime: RunnerName, issues: list[ConfigIssue]) -> None:
        keeps = "the old one keeps serving" if runtime in self.core._runners else "it starts after the next good save"
        for issue in issues:
            if not issue.message.startswith("not loaded:"):  # the others only point at these
                self.logger.error(
                    f"{issue}; the {runtime} runner's build failed, {keeps}", file=issue.file, line=issue.line
                )
        if all(i.message.startswith("not loaded:") for i in issues) and issues:
            self.logger.error(f"{issues[0].message}; {keeps}")

    def _candidate(self, runtime: RunnerName, spec_files: list[StepFile], proc_spec: RunnerSpec) -> Candidate:
        core = self.core
        holder: list[Candidate] = []

        def on_manifest(rt: RunnerName, manifest: Manifest, first: bool) -> None:
            candidate = holder[0]
            if candidate.adopted and not first:  # restarted after a crash, once serving: as in serve
                core.loads[rt] = core.runtime_load(candidate.proc.files, manifest)
                core.reconcile(f"the {rt} runner restarted")
            else:
                candidate.manifest = manifest

        proc = RunnerProcess(proc_spec, spec_files, core._server, self.logger, on_manifest)
        holder.append(Candidate(runtime, proc))
        return holder[0]

    def _loaded_cleanly(self, c: Candidate) -> bool:
        """Did the new runner load every file the old one could? Files that failed before and still
        fail do not block a reload (they were not served either way)."""
        proc = c.proc
        if c.manifest is None or proc.session is None or proc.session.closed.done():
            self.logger.error(f"the new {c.runtime} runner did not start; the old one keeps serving")
            return False
        before = self.core.loads.get(c.runtime)
        known = set(before.quarantined) | {e.step_id for e in before.manifest.errors} if before else set[str]()
        failures = [e for e in c.manifest.errors if e.step_id not in known]
        files = {f.step_id: f for f in proc.files}
        for failure in failures:
            self.logger.error(
                f"{_where(failure, files.get(failure.step_id))}: {failure.error_type or 'Error'}: "
                f"{_first_line(failure.message)}; the {c.runtime} runner keeps the code it had",
                file=failure.step_id,
                line=_line_of(failure, files.get(failure.step_id)),
            )
        quarantined = {k: v for k, v in proc.quarantined.items() if k not in known}
        for step_id, message in quarantined.items():
            self.logger.error(f"{step_id}: {message}; the {c.runtime} runner keeps the code it had", file=step_id)
        return not failures and not quarantined

    def _retire(self, proc: RunnerProcess, grace: float) -> None:
        task = asyncio.create_task(proc.stop(grace), name=f"retire-{proc.name}")
        self._retiring[task] = proc
        task.add_done_callback(lambda t: self._retiring.pop(t, None))

    async def close(self) -> None:
        """Before the core's stop: runners still draining get a moment, then are stopped for good."""
        if self._retiring:
            await asyncio.wait(list(self._retiring), timeout=RETIRE_CLOSE_WAIT)
        for task, proc in list(self._retiring.items()):
            killed = proc.kill()  # SIGKILL first: a cancelled stop() would leave its process running
            if killed:
                self.logger.warn(f"killed the retired {proc.name} runner {killed} at shutdown")
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def serve_dev(core: MotiaCore) -> None:
    """serve_forever, plus the watcher: a change reloads the runners of its language(s)."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    reloader = DevReloader(core)
    watcher: asyncio.Task[None] | None = None
    try:
        await core.start()
        reloader.write_types()
        watcher = asyncio.create_task(
            watch(core.project_dir, reloader.present, reloader.on_change, stop, core.logger, runners=core.runners),
            name="dev-watch",
        )
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({watcher, stopped}, return_when="FIRST_COMPLETED")
        stopped.cancel()
        if watcher.done() and not stop.is_set():
            watcher.result()  # the watcher failed: say why, then stop like Ctrl-C
        core.logger.info("shutting down: draining runners")
    finally:
        stop.set()
        if watcher is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(watcher, 2.0)
        await reloader.close()
        await core.stop()


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "(no message)"


def _line_of(failure: LoadFailure, file: StepFile | None) -> int | None:
    """The line the runner's error points at in the file itself (its message or stack names it)."""
    text = f"{failure.message}\n{failure.stack}"
    names = [file.relative_path, file.path.name] if file is not None else [failure.step_id]
    for name in names:
        match = re.search(re.escape(name) + r"[\"']?(?::|, line |\(| line )(\d+)", text)
        if match:
            return int(match.group(1))
    match = re.search(r"\bline (\d+)", text)
    return int(match.group(1)) if match else None


def _where(failure: LoadFailure, file: StepFile | None) -> str:
    where = file.relative_path if file is not None else failure.step_id
    line = _line_of(failure, file)
    return f"{where}:{line}" if line is not None else where
