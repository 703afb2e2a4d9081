"""Motia's project config file, ``motia.config.ts`` / ``motia.config.js`` (docs/configuration.md).

Motia 0.x reads it at start: ``export default config({streamAuth, redis, plugins, adapters, app})``.
motia-core honours what it implements and says, one line per key, what it does instead for the rest:

* ``streamAuth.authenticate`` runs in the Node runner for every stream WebSocket connection (the file
  is loaded there as STEP_FILE_KIND_PROJECT_CONFIG and answers TRIGGER_STREAM_AUTH), exactly like the
  project's stream auth file; ``streamAuth.contextSchema`` validates what it returns;
* ``redis`` selects the Redis backend (``--redis`` / ``MOTIA_REDIS_URL`` win over it);
* ``runners`` declares runners for more languages, or replaces an installed one (project_runners.py,
  runner_registry.py);
* ``plugins``, ``adapters``, ``app`` and unknown keys: a warning each, naming the key and the file.

The storage backend is opened before any runner starts, and ``redis`` decides which one it is, so the
file is first evaluated by a short-lived Node process (``runner.cjs --eval-config``, the same loader
as step files) that prints it as JSON. That costs one Node start (~0.3-0.5 s here) and only when the
file exists. A file that does not evaluate is a startup error with file, line and message: a
security setting (streamAuth) may be in it, so the core never serves without it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from motia_core import paths, project_runners
from motia_core.errors import ProjectError
from motia_core.plugins import RunnerDeclaration
from motia_core.project import FileKind, RunnerName, StepFile, load_dotenv
from motia_core.redis_conn import mask
from motia_core.runners.transport import LoadFailure, Manifest

if TYPE_CHECKING:  # pydantic and jsonschema behind them: serve reads the config before the heavy imports
    from motia_core.streams.config import AuthHook

CONFIG_NAMES = ("motia.config.ts", "motia.config.js")  # at the project root, Motia's names; .ts wins
EVAL_TIMEOUT = 30.0  # seconds the evaluation may take (a config that imports heavy plugins)
_MARKER = b"@@motia-config-result@@ "  # runners/node/src/config-file.ts EVAL_RESULT_MARKER
# Motia's config file is TypeScript/JavaScript whatever the steps are: the Node runner evaluates it and
# runs its streamAuth
CONFIG_RUNNER = RunnerName("node")
_KNOWN_STREAM_AUTH = frozenset({"authenticate", "contextSchema"})
_KNOWN_REDIS = frozenset({"useMemoryServer", "host", "port", "password", "username", "db"})


class ProjectConfigError(ProjectError):
    """motia.config.ts / .js cannot be used: it does not evaluate, or a key it sets is malformed."""

    def __init__(self, file: str, message: str, line: int = 0, field_: str = "") -> None:
        self.file = file
        self.line = line
        self.field = field_
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {field_ + ': ' if field_ else ''}{message}")


@dataclass(frozen=True)
class ProjectConfig:
    file: StepFile  # the Node runner loads it (FileKind.PROJECT_CONFIG) when streamAuth is used
    raw: dict[str, Any]  # the evaluated default export, as JSON (functions as {"$function": name})
    stream_auth: AuthHook | None  # streamAuth.authenticate, to run on every connection
    redis_url: str | None  # from `redis: {host, port, ...}`
    findings: list[str] = field(default_factory=list)  # one warning per key motia-core does not honour
    eval_ms: float = 0.0
    runners: tuple[RunnerDeclaration, ...] = ()  # the `runners` key (project_runners.py)


def find(project_dir: Path) -> tuple[Path | None, list[str]]:
    """The project's config file, and a warning when there are two."""
    found = [project_dir / n for n in CONFIG_NAMES if (project_dir / n).is_file()]
    if not found:
        return None, []
    extra = [f"{p.name}: ignored: {found[0].name} is the project's config file (as in Motia)" for p in found[1:]]
    return found[0], extra


def read(project_dir: Path, node_runner: Callable[[], list[str]]) -> ProjectConfig | None:
    """Find, evaluate and check the project's config file; None when the project has none.
    `node_runner` gives the command of the Node runner, asked for only when there is a file."""
    path, extra = find(project_dir)
    if path is None:
        return None
    rel = path.name
    file = StepFile(
        path=path,
        relative_path=rel,
        language="typescript" if path.suffix == ".ts" else "javascript",
        runtime=CONFIG_RUNNER,
        kind=FileKind.PROJECT_CONFIG,
    )
    started = time.perf_counter()
    raw = evaluate(file, project_dir, node_runner())
    config = interpret(file, raw, (time.perf_counter() - started) * 1000)
    config.findings[:0] = extra
    return config


def evaluate(file: StepFile, project_dir: Path, node_runner: list[str]) -> dict[str, Any]:
    """Run the file in a short-lived Node runner (the step loader) and return its default export."""
    rel = file.relative_path
    env = {**os.environ, **load_dotenv(project_dir)}  # what the runners see
    try:
        done = subprocess.run(
            [*node_runner, "--eval-config", str(file.path), str(project_dir)],
            cwd=project_dir,
            env=env,
            capture_output=True,
            timeout=EVAL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProjectConfigError(
            rel, f"did not finish evaluating within {EVAL_TIMEOUT:g} s (does it wait on a server at import?)"
        ) from None
    except OSError as exc:
        raise ProjectConfigError(rel, f"cannot start Node to evaluate it: {exc.strerror or exc}") from exc
    answer = _answer(done.stdout)
    if answer is None:
        tail = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()[-5:]
        detail = " | ".join(tail) or f"exit code {done.returncode}"
        raise ProjectConfigError(rel, f"Node could not evaluate it: {detail}")
    if not answer.get("ok"):
        error = answer.get("error") or {}
        message = f"{error.get('type') or 'Error'}: {error.get('message') or '(no message)'}"
        line = error.get("line")
        raise ProjectConfigError(rel, message, line if isinstance(line, int) else 0)
    config = answer.get("config")
    if not isinstance(config, dict):
        raise ProjectConfigError(rel, "the default export is not an object")
    return config


def _answer(stdout: bytes) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(_MARKER):
            try:
                doc = orjson.loads(line[len(_MARKER) :])
            except orjson.JSONDecodeError:
                return None
            return doc if isinstance(doc, dict) else None
    return None


def _is_function(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"$function"}


def _describe(value: object) -> str:
    """A config value in a warning: a plugin's function name, an adapter's class name."""
    if isinstance(value, dict) and "$function" in value:
        return f"{value['$function']}()"
    if isinstance(value, dict) and "$object" in value:
        return str(value["$object"])
    return type(value).__name__ if not isinstance(value, dict) else "object"


def interpret(file: StepFile, raw: dict[str, Any], eval_ms: float = 0.0) -> ProjectConfig:
    """What each key of the evaluated config means on motia-core (docs/configuration.md)."""
    rel = file.relative_path
    findings: list[str] = []
    stream_auth: AuthHook | None = None
    redis_url: str | None = None
    runners: list[RunnerDeclaration] = []
    for key, value in raw.items():
        if key == "streamAuth":
            stream_auth = _stream_auth(file, value, findings)
        elif key == "redis":
            redis_url = _redis(rel, value, findings)
        elif key == "runners":
            try:
                runners = project_runners.parse(value)
            except project_runners.FieldError as exc:
                raise ProjectConfigError(rel, exc.message, field_=exc.field) from None
        elif key == "plugins":
            names = ", ".join(_describe(p) for p in value) if isinstance(value, list) else _describe(value)
            findings.append(
                f"{rel}: plugins ({names or 'none'}) are not loaded: motia-core has no Workbench, so plugin "
                "panels are not shown and steps a plugin would add are not served (copy such steps into "
                "steps/ to serve them)"
            )
        elif key == "adapters":
            named = (
                ", ".join(f"{k}: {_describe(v)}" for k, v in value.items())
                if isinstance(value, dict)
                else _describe(value)
            )
            findings.append(
                f"{rel}: adapters ({named or 'none'}) are not used: motia-core keeps the queue, state, stream "
                "items and cron locks in its own backend (SQLite under .motia/, or Redis with this file's "
                "redis key or --redis, docs/adapters.md)"
            )
        elif key == "app":
            findings.append(
                f"{rel}: app (Motia's Express hook) is not run: motia-core serves HTTP without Express; "
                "routes come from API steps, per-route middleware from a step's config.middleware"
            )
        else:
            findings.append(f"{rel}: {key} is not a Motia setting motia-core knows: it is ignored")
    return ProjectConfig(file, raw, stream_auth, redis_url, findings, eval_ms, tuple(runners))


def node_command() -> list[str]:
    """The Node runner that evaluates the config file (the same loader as TypeScript step files)."""
    node = shutil.which("node")
    if node is None:
        raise ProjectError("node is not installed (TypeScript/JavaScript steps and motia.config.* need Node 20+)")
    return [node, str(paths.node_runner())]


def _stream_auth(file: StepFile, value: object, findings: list[str]) -> AuthHook | None:
    rel = file.relative_path
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProjectConfigError(rel, "expected an object {authenticate, contextSchema}", field_="streamAuth")
    for key in sorted(set(value) - _KNOWN_STREAM_AUTH):
        findings.append(f"{rel}: streamAuth.{key} is not a Motia setting motia-core knows: it is ignored")
    if not _is_function(value.get("authenticate")):
        got = "missing" if "authenticate" not in value else f"got {_describe(value['authenticate'])}"
        # refusing to start beats serving streams without the authentication the project asked for
        raise ProjectConfigError(
            rel, f"expected a function (request) => authContext, {got}", field_="streamAuth.authenticate"
        )
    schema = value.get("contextSchema")
    if schema is not None and (not isinstance(schema, dict) or "$object" in schema):
        detail = schema.get("error", _describe(schema)) if isinstance(schema, dict) else _describe(schema)
        raise ProjectConfigError(
            rel, f"expected a JSON Schema object or a zod schema, got {detail}", field_="streamAuth.contextSchema"
        )
    from motia_core.schema import compile_schema  # late: only a config with streamAuth needs them
    from motia_core.streams.config import AuthHook

    _compiled, problem = compile_schema(schema)
    if problem is not None:
        raise ProjectConfigError(rel, f"not a valid JSON Schema: {problem}", field_="streamAuth.contextSchema")
    return AuthHook(file=file, config={"name": "streamAuth"}, context_schema=schema)


def _redis(rel: str, value: object, findings: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProjectConfigError(rel, "expected an object {host, port, ...} or {useMemoryServer: true}", field_="redis")
    for key in sorted(set(value) - _KNOWN_REDIS):
        findings.append(f"{rel}: redis.{key} is not a Motia setting motia-core knows: it is ignored")
    if value.get("useMemoryServer") is True or "host" not in value:
        findings.append(
            f"{rel}: redis asks for Motia's embedded Redis (useMemoryServer): motia-core starts no Redis; the "
            "queue, state, stream items and cron locks stay in its embedded SQLite under .motia/ (one instance; "
            "set redis.host and redis.port, or --redis, to share them between instances)"
        )
        return None
    host, port, db = value.get("host"), value.get("port", 6379), value.get("db", 0)
    if not isinstance(host, str) or not host or not re.fullmatch(r"[A-Za-z0-9.:_\-\[\]]+", host):
        raise ProjectConfigError(rel, f"expected a host name, got {host!r}", field_="redis.host")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ProjectConfigError(rel, f"expected a port number 1-65535, got {port!r}", field_="redis.port")
    if not isinstance(db, int) or isinstance(db, bool) or db < 0:
        raise ProjectConfigError(rel, f"expected a database number >= 0, got {db!r}", field_="redis.db")
    auth = ""
    username, password = value.get("username"), value.get("password")
    for name, item in (("username", username), ("password", password)):
        if item is not None and not isinstance(item, str):
            raise ProjectConfigError(rel, f"expected a string, got {_describe(item)}", field_=f"redis.{name}")
    if username or password:
        auth = f"{quote(username or '', safe='')}:{quote(password or '', safe='')}@"
    return f"redis://{auth}{host}:{port}/{db}"


def storage(config: ProjectConfig | None, redis_url: str | None, backend: str | None) -> tuple[str | None, list[str]]:
    """The Redis URL to build the backend with, and the info lines saying where it came from. The
    command line (--redis, MOTIA_REDIS_URL, --backend) wins over the file, as flags win over files."""
    if config is None or config.redis_url is None:
        return redis_url, []
    rel, theirs = config.file.relative_path, mask(config.redis_url)
    if redis_url is not None:
        return redis_url, [f"--redis / MOTIA_REDIS_URL ({mask(redis_url)}) wins over {rel} redis ({theirs})"]
    if backend is not None and backend != "redis":
        return None, [f"--backend {backend} wins over {rel} redis ({theirs})"]
    return config.redis_url, [f"{rel}: redis: the queue, state, stream items and cron locks are on {theirs}"]


def config_auth_wins(config: ProjectConfig | None, auth_files: list[StepFile]) -> tuple[bool, str | None]:
    """Whether the config's streamAuth is the stream auth hook to run, and a line to log when both the
    config and a stream auth file set one. The file wins: it exists only for motia-core (Motia 0.x does
    not read it), so a project that has both was adapted to motia-core on purpose."""
    if config is None or config.stream_auth is None:
        return False, None
    if not auth_files:
        return True, None
    return False, (
        f"stream authentication: the stream auth file {auth_files[0].relative_path} wins; "
        f"{config.file.relative_path} streamAuth is not used (remove the file to use streamAuth.authenticate)"
    )


def take_entry(manifest: Manifest, config: ProjectConfig | None) -> tuple[Manifest, LoadFailure | None]:
    """Split the config file's manifest entry off a Node runner's manifest (the step registry never sees it);
    a load failure of the file is returned to be reported."""
    if config is None:
        return manifest, None
    step_id = config.file.step_id
    failure = next((e for e in manifest.errors if e.step_id == step_id), None)
    return (
        Manifest(
            steps=[e for e in manifest.steps if e.step_id != step_id],
            errors=[e for e in manifest.errors if e.step_id != step_id],
        ),
        failure,
    )
