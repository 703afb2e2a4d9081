"""Motia's motia.config.ts / .js on motia-core (docs/configuration.md): streamAuth guards the stream
WebSocket for canAccess functions in TypeScript, Python and Ruby (driven by Motia's own npm client),
redis selects the Redis backend, every key motia-core does not implement is announced in `serve`
and in `steps`, the project's stream auth file wins over streamAuth, a broken file stops the start."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from motia_core import project_config
from motia_core.project import RunnerName, StepFile
from tests.conftest import CoreProcess, copy_fixture
from tests.redis_server import RedisServer
from tests.stream_client.harness import NodeClient, WsClient

DENIED = {"code": "STREAM_ACCESS_DENIED", "message": "Access denied"}
GUARDED = ("notes", "inbox", "board")  # canAccess in TypeScript, Python, Ruby


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    project = copy_fixture("mc_streams", tmp_path_factory.mktemp("mc"))
    proc = CoreProcess(project)
    proc.wait_ready(60)
    yield proc
    proc.stop()


async def _put(core: CoreProcess, stream: str, group_id: str, item_id: str, text: str) -> None:
    async with aiohttp.ClientSession() as session:
        body = {"stream": stream, "groupId": group_id, "id": item_id, "data": {"text": text}}
        async with session.post(f"{core.url}/mc/items", json=body) as resp:
            assert resp.status == 200, await resp.text()


async def _join_event(client: WsClient, stream: str, group_id: str) -> dict[str, object]:
    msg = await client.join_synced(stream, group_id)
    return msg["event"]  # type: ignore[no-any-return]


async def _handshake_status(core: CoreProcess, path: str = "/", **kwargs: object) -> int:
    async with aiohttp.ClientSession() as session:
        try:
            ws = await session.ws_connect(core.url.replace("http", "ws") + path, **kwargs)  # type: ignore[arg-type]
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status
        await ws.close()
        return 101


def _get_status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return int(resp.status)


def _steps(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "motia_core", "steps", "--dir", str(project), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.timeout(120)
async def test_accepted_token_sees_its_items_in_every_language(core: CoreProcess) -> None:
    for stream in GUARDED:
        await _put(core, stream, "alice", "1", f"{stream} for alice")
    client = await NodeClient.start(
        core.url,
        [{"name": s, "kind": "group", "stream": s, "groupId": "alice"} for s in GUARDED],
        protocols=["Authorization", "alice-token"],  # Motia's client: the token as a subprotocol
    )
    try:
        for stream in GUARDED:
            state = await client.state_of(stream, lambda s: bool(s))
            assert state == [{"text": f"{stream} for alice", "id": "1"}], stream
        await _put(core, "board", "alice", "2", "live")  # a change after the join reaches the client too
        state = await client.state_of("board", lambda s: len(s) == 2)
        assert [i["id"] for i in state] == ["1", "2"]
        assert not client.of("error")
    finally:
        await client.close()


@pytest.mark.timeout(120)
async def test_unknown_token_is_refused_with_401(core: CoreProcess) -> None:
    client = await NodeClient.start(
        core.url, [{"name": "n", "kind": "group", "stream": "notes", "groupId": "alice"}], ["Authorization", "nope"]
    )
    try:
        refused = await client.wait_for(lambda d: d["t"] == "error")
        assert "401" in refused["message"]  # `ws`: "Unexpected server response: 401"
        assert not client.of("open") and not client.of("change")
    finally:
        await client.close()
    assert await _handshake_status(core, "/?authToken=nope") == 401
    core.wait_for_log(lambda d: "rejected by motia.config.ts" in d.get("msg", "") and "unknown token nope" in d["msg"])


@pytest.mark.timeout(120)
async def test_denied_stream_gets_motias_access_denied_event(core: CoreProcess) -> None:
    subs = [{"name": s, "kind": "group", "stream": s, "groupId": "bob", "events": ["error"]} for s in GUARDED]
    client = await NodeClient.start(core.url, subs, protocols=["Authorization", "alice-token"])
    try:
        for stream in GUARDED:
            error = await client.wait_for(lambda d, s=stream: d["t"] == "event" and d["sub"] == s)
            assert error["data"] == DENIED, stream
            assert not client.of("change", stream)
    finally:
        await client.close()


@pytest.mark.timeout(120)
async def test_auth_context_reaches_can_access_in_every_language(core: CoreProcess) -> None:
    """The context authenticate returned decides in TS, Python and Ruby alike: own group yes, another
    user's no, an admin's context everywhere, and null (an anonymous connection) nowhere."""
    alice = await WsClient.connect(core.url, "/?authToken=alice-token")
    root = await WsClient.connect(core.url, protocols=("Authorization", "root-token"))
    anonymous = await WsClient.connect(core.url)
    try:
        for stream in GUARDED:
            assert (await _join_event(alice, stream, "alice"))["type"] == "sync", stream
            assert (await _join_event(alice, stream, "carol"))["event"]["data"] == DENIED, stream  # type: ignore[index]
            assert (await _join_event(root, stream, "carol"))["type"] == "sync", stream
            assert (await _join_event(anonymous, stream, "alice"))["event"]["data"] == DENIED, stream  # type: ignore[index]
        assert (await _join_event(anonymous, "lobby", "hall"))["type"] == "sync"  # no canAccess: open
    finally:
        for client in (alice, root, anonymous):
            await client.close()


@pytest.mark.timeout(60)
async def test_context_failing_context_schema_is_refused_with_a_reason(core: CoreProcess) -> None:
    assert await _handshake_status(core, "/?authToken=wrong-shape-token") == 401
    line = core.wait_for_log(lambda d: "does not match its contextSchema" in d.get("msg", ""))
    assert line["level"] == "warn" and "/userId: 42 is not of type 'string'" in line["msg"], line
    assert "/role: is required" in line["msg"]


FINDINGS = {
    "plugins": "motia.config.js: plugins (observabilityPlugin()) are not loaded: motia-core has no Workbench",
    "adapters": "motia.config.js: adapters (events: BullMQEventAdapter) are not used",
    "app": "motia.config.js: app (Motia's Express hook) is not run",
    "redis": "motia.config.js: redis asks for Motia's embedded Redis (useMemoryServer): motia-core starts no Redis",
    "other": "motia.config.js: workbenchTheme is not a Motia setting motia-core knows: it is ignored",
}


@pytest.mark.timeout(120)
def test_every_unsupported_key_is_announced_by_serve_and_steps(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("mc_keys")
    for key, text in FINDINGS.items():
        lines = core.find_logs(lambda d, t=text: d.get("msg", "").startswith(t))
        assert len(lines) == 1, (key, core.output())  # one warning per key
        assert lines[0]["level"] == "warn" and lines[0]["file"] == "motia.config.js"
    assert _get_status(core.url + "/hello") == 200  # the project is served (on SQLite, no Redis)
    done = _steps(core.project)
    assert done.returncode == 0, done.stderr
    shown = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("CONFIG")]
    assert len(shown) == len(FINDINGS), done.stdout
    for text in FINDINGS.values():
        assert any(line.startswith("CONFIG  " + text) for line in shown), (text, done.stdout)
    as_json = json.loads(_steps(core.project, "--json").stdout)
    assert as_json["config"]["file"] == "motia.config.js" and len(as_json["config"]["findings"]) == len(FINDINGS)


@pytest.mark.timeout(120)
async def test_stream_auth_file_wins_over_config_stream_auth(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("mc_both")
    line = core.wait_for_log(lambda d: "stream authentication: the stream auth file" in d.get("msg", ""))
    assert line["msg"].startswith("stream authentication: the stream auth file steps/stream-auth.ts wins; ")
    assert "motia.config.ts streamAuth is not used" in line["msg"]
    assert await _handshake_status(core, "/?authToken=config-token") == 401
    client = await WsClient.connect(core.url, "/?authToken=file-token")
    try:
        assert (await _join_event(client, "who", "g"))["type"] == "sync"  # canAccess saw the file's context
    finally:
        await client.close()
    done = _steps(core.project)
    assert "CONFIG  stream authentication: the stream auth file steps/stream-auth.ts wins" in done.stdout


@pytest.mark.timeout(120)
async def test_stream_auth_file_context_schema_is_enforced_too(tmp_path: Path) -> None:
    project = copy_fixture("mc_both", tmp_path)
    auth = project / "steps" / "stream-auth.ts"
    schema = "{ type: 'object', properties: { userId: { const: 'someone-else' } }, required: ['userId'] }"
    auth.write_text(
        auth.read_text().replace("{ name: 'StreamAuth' }", f"{{ name: 'StreamAuth', contextSchema: {schema} }}")
    )
    core = CoreProcess(project)
    try:
        core.wait_ready(60)
        assert await _handshake_status(core, "/?authToken=file-token") == 401
        line = core.wait_for_log(lambda d: "does not match its contextSchema" in d.get("msg", ""))
        assert "the auth context steps/stream-auth.ts returned" in line["msg"], line
    finally:
        core.stop()


@pytest.mark.timeout(120)
async def test_a_python_only_project_gets_a_node_runner_for_stream_auth(
    start_core: Callable[..., CoreProcess],
) -> None:
    core = start_core("mc_pyonly")  # motia.config.js in CommonJS, a Python stream, no JS/TS steps
    assert set(core.runner_pids()) == {"node", "python"}
    assert await _handshake_status(core, "/?authToken=other") == 401
    client = await WsClient.connect(core.url, "/?authToken=py-token")
    try:
        assert (await _join_event(client, "room", "g"))["type"] == "sync"  # Python canAccess got the context
    finally:
        await client.close()


@pytest.mark.timeout(120)
def test_a_config_that_throws_stops_the_start_with_file_and_line(tmp_path: Path) -> None:
    project = copy_fixture("mc_broken", tmp_path)
    core = CoreProcess(project)
    assert core.proc.wait(90) == 2
    core.stop()
    assert "motia-core: motia.config.ts:4: Error: MISSING_PORT is not set" in core.output()
    assert not core.find_logs(lambda d: "listening on" in d.get("msg", ""))
    done = _steps(project)
    assert done.returncode == 2 and "motia.config.ts:4: Error: MISSING_PORT is not set" in done.stderr


@pytest.mark.timeout(120)
def test_a_config_with_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    project = copy_fixture("mc_broken", tmp_path)
    (project / "motia.config.ts").write_text(
        "import { config } from 'motia'\n\nexport default config({ redis: { ) })\n"
    )
    done = _steps(project)
    assert done.returncode == 2, done.stderr
    assert "motia-core: motia.config.ts:3: SyntaxError: " in done.stderr, done.stderr


@pytest.mark.timeout(120)
def test_a_stream_auth_without_authenticate_stops_the_start(tmp_path: Path) -> None:
    project = copy_fixture("mc_broken", tmp_path)
    (project / "motia.config.ts").write_text("export default { streamAuth: { contextSchema: {} } }\n")
    done = _steps(project)
    assert done.returncode == 2
    assert "motia.config.ts: streamAuth.authenticate: expected a function (request) => authContext, missing" in (
        done.stderr
    )


@pytest.mark.timeout(120)
def test_redis_key_selects_the_redis_backend(start_core: Callable[..., CoreProcess], redis_server: RedisServer) -> None:
    core = start_core("mc_redis", env={"MC_REDIS_PORT": str(redis_server.port)})
    line = core.wait_for_log(lambda d: "motia.config.ts: redis:" in d.get("msg", ""))
    assert f"are on redis://127.0.0.1:{redis_server.port}/0" in line["msg"]
    assert _get_status(core.url + "/hello") == 200
    assert not (core.project / ".motia" / "queue.db").exists()  # nothing on SQLite


@pytest.mark.timeout(120)
def test_redis_flag_wins_over_the_config_file(
    start_core: Callable[..., CoreProcess], redis_server: RedisServer, tmp_path: Path
) -> None:
    # the file names a port nothing listens on; --redis names the live server, and wins
    core = start_core("mc_redis", "--redis", redis_server.url, env={"MC_REDIS_PORT": "1"})
    line = core.wait_for_log(lambda d: "wins over motia.config.ts redis" in d.get("msg", ""))
    assert line["msg"] == (
        f"--redis / MOTIA_REDIS_URL (redis://127.0.0.1:{redis_server.port}/0) wins over motia.config.ts redis "
        "(redis://127.0.0.1:1/0)"
    )
    assert _get_status(core.url + "/hello") == 200


def _interpret(raw: dict[str, object]) -> project_config.ProjectConfig:
    file = StepFile(Path("/p/motia.config.ts"), "motia.config.ts", "typescript", RunnerName("node"))
    return project_config.interpret(file, raw)


def test_redis_settings_become_a_url_and_the_command_line_wins() -> None:
    config = _interpret(
        {"redis": {"host": "cache.local", "port": 6380, "username": "u", "password": "p@ss/w", "db": 2}}
    )
    assert config.redis_url == "redis://u:p%40ss%2Fw@cache.local:6380/2"
    url, lines = project_config.storage(config, None, None)
    assert url == config.redis_url and lines == [
        "motia.config.ts: redis: the queue, state, stream items and cron locks are on redis://u:***@cache.local:6380/2"
    ]
    url, lines = project_config.storage(config, "redis://other:6379/0", None)
    assert url == "redis://other:6379/0" and "wins over motia.config.ts redis (redis://u:***@cache.local" in lines[0]
    url, lines = project_config.storage(config, None, "sqlite")
    assert url is None and lines == [
        "--backend sqlite wins over motia.config.ts redis (redis://u:***@cache.local:6380/2)"
    ]
    assert project_config.storage(None, None, None) == (None, [])


def test_malformed_settings_name_the_field() -> None:
    with pytest.raises(project_config.ProjectConfigError, match=r"^motia.config.ts: redis.port: expected a port"):
        _interpret({"redis": {"host": "h", "port": "6379"}})
    with pytest.raises(project_config.ProjectConfigError, match=r"streamAuth.contextSchema: expected a JSON Schema"):
        _interpret({"streamAuth": {"authenticate": {"$function": "a"}, "contextSchema": {"$object": "Foo"}}})
    with pytest.raises(project_config.ProjectConfigError, match=r"streamAuth.contextSchema: not a valid JSON Schema"):
        _interpret({"streamAuth": {"authenticate": {"$function": "a"}, "contextSchema": {"type": 12}}})
    config = _interpret({"streamAuth": {"authenticate": {"$function": "a"}, "cache": True}, "redis": {"tls": True}})
    assert config.stream_auth is not None and config.stream_auth.file.relative_path == "motia.config.ts"
    assert (
        config.findings[0] == "motia.config.ts: streamAuth.cache is not a Motia setting motia-core knows: it is ignored"
    )
    assert "redis.tls is not a Motia setting" in config.findings[1] and "useMemoryServer" in config.findings[2]
