"""The security model of docs/security.md: the admin surface closed to other hosts and other sites,
tokens and the login cookie, no CORS on admin, JSON-only state changes, the streams REST endpoints
under the same checks as a WebSocket join, --cors-origins, and parameter validation.

Requests from another host are real: a network namespace with a veth pair (10.254.77.1 on this
side, 10.254.77.2 inside), the core listening on 0.0.0.0, the client (tests/security_client.py)
run inside the namespace.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from motia_core.http.guard import is_admin_path, loopback_host, loopback_origin
from tests.conftest import ROOT, CoreProcess, copy_fixture
from tests.security_client import exchange

TOKEN = "s3cret-admin-token"
HOST_IP = "10.254.77.1"
NS_IP = "10.254.77.2"
CLIENT = Path(__file__).with_name("security_client.py")
LOCK_FILE = Path("/tmp/motia-core-test-netns.lock")  # one namespace with these addresses at a time


# -- helpers -----------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        assert self.headers.get("content-type", "").startswith("application/json"), self
        return json.loads(self.body)

    def cors(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k.startswith("access-control-")}


def send(
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    netns: str | None = None,
) -> Reply:
    """One request with exactly these headers (Host included), from this process or from inside `netns`."""
    spec: dict[str, Any] = {"url": url, "method": method, "headers": headers or {}}
    if body is not None:
        spec["body_b64"] = base64.b64encode(body).decode()
    if netns is None:
        result = exchange(spec)
    else:
        cmd = ["ip", "netns", "exec", netns, sys.executable, str(CLIENT), json.dumps(spec)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
    headers_out = {k.lower(): v for k, v in result["headers"]}
    return Reply(result["status"], headers_out, base64.b64decode(result["body_b64"]))


def post_json(url: str, data: object, headers: dict[str, str] | None = None, netns: str | None = None) -> Reply:
    ctype = {"Content-Type": "application/json"}
    return send(url, "POST", {**ctype, **(headers or {})}, json.dumps(data).encode(), netns)


@dataclass
class Netns:
    name: str

    def url(self, core: CoreProcess, path: str) -> str:
        return f"http://{HOST_IP}:{core.port}{path}"

    def send(self, core: CoreProcess, path: str, headers: dict[str, str] | None = None) -> Reply:
        return send(self.url(core, path), headers=headers, netns=self.name)

    def post_json(self, core: CoreProcess, path: str, data: object, headers: dict[str, str] | None = None) -> Reply:
        return post_json(self.url(core, path), data, headers, netns=self.name)


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@contextlib.contextmanager
def _netns_lock() -> Iterator[None]:
    with LOCK_FILE.open("w") as lock:
        deadline = time.monotonic() + 40
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another test run holds {LOCK_FILE} (a namespace with {HOST_IP})")
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def netns() -> Iterator[Netns]:
    """A network namespace reachable at 10.254.77.2, this side at 10.254.77.1 (a /30 of its own)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 (`ip`) to make a network namespace for the non-loopback tests")
    pid = os.getpid() % 100000
    name, outside, inside = f"motia-sec-{pid}", f"msech{pid}", f"msecn{pid}"
    with _netns_lock():
        # a run that died without cleaning up may have left an interface with our address
        for line in _ip("-o", "addr", "show", "to", f"{HOST_IP}/30").stdout.splitlines():
            stale = line.split()[1].split("@")[0]
            if stale.startswith("msech"):
                _ip("link", "del", stale)
        setup = [
            ("netns", "add", name),
            ("link", "add", outside, "type", "veth", "peer", "name", inside),
            ("link", "set", inside, "netns", name),
            ("addr", "add", f"{HOST_IP}/30", "dev", outside),
            ("link", "set", outside, "up"),
            ("netns", "exec", name, "ip", "addr", "add", f"{NS_IP}/30", "dev", inside),
            ("netns", "exec", name, "ip", "link", "set", inside, "up"),
            ("netns", "exec", name, "ip", "link", "set", "lo", "up"),
        ]
        try:
            for step in setup:
                done = _ip(*step)
                if done.returncode != 0:
                    pytest.skip(f"cannot make a network namespace (ip {' '.join(step)}): {done.stderr.strip()}")
            yield Netns(name)
        finally:
            _ip("link", "del", outside)
            _ip("netns", "del", name)


def _core(tmp: Path, *args: str, env: dict[str, str] | None = None) -> CoreProcess:
    project = copy_fixture("streams", tmp)
    core = CoreProcess(project, ["--host", "0.0.0.0", *args], env={"MOTIA_ADMIN_TOKEN": "", **(env or {})})
    core.wait_ready()
    return core


@pytest.fixture(scope="module")
def open_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    """No token, default CORS: admin is loopback-only."""
    core = _core(tmp_path_factory.mktemp("security-open"))
    yield core
    core.stop()


@pytest.fixture(scope="module")
def token_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    """MOTIA_ADMIN_TOKEN set, --cors-origins narrowed to one origin."""
    core = _core(
        tmp_path_factory.mktemp("security-token"),
        "--cors-origins",
        "https://app.example, http://localhost:5173",
        env={"MOTIA_ADMIN_TOKEN": TOKEN},
    )
    yield core
    core.stop()


# -- the rules themselves ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("localhost", True),
        ("localhost:3000", True),
        ("127.0.0.1:3000", True),
        ("127.8.9.10", True),
        ("[::1]:3000", True),
        ("[::1]", True),
        ("[::ffff:127.0.0.1]:80", True),
        ("LOCALHOST:3000", True),
        ("evil.example", False),
        ("evil.example:3000", False),
        ("localhost.evil.example", False),
        ("127.0.0.1.nip.io", False),
        ("10.254.77.1:3000", False),
        ("0.0.0.0:3000", False),
        ("[::1", False),
        ("[::1]x", False),
        ("localhost:abc", False),
        ("", False),
    ],
)
def test_loopback_host_names(host: str, local: bool) -> None:
    assert loopback_host(host) is local


@pytest.mark.parametrize(
    ("origin", "local"),
    [
        ("http://localhost:5173", True),
        ("https://127.0.0.1", True),
        ("http://[::1]:3000", True),
        ("null", False),
        ("https://evil.example", False),
        ("http://localhost.evil.example", False),
        ("http://evil.example@localhost", False),
        ("file://localhost", False),
    ],
)
def test_loopback_origins(origin: str, local: bool) -> None:
    assert loopback_origin(origin) is local


def test_admin_prefixes() -> None:
    for path in ("/__motia", "/__motia/state", "/emit", "/emit/", "/metrics", "/__motia/streams/list"):
        assert is_admin_path(path), path
    for path in ("/", "/hello", "/emitter", "/__motiax", "/api/__motia"):
        assert not is_admin_path(path), path


# -- from another host -------------------------------------------------------------------------------

PROBE = {"topic": "security.probe", "data": {}}
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def test_admin_refused_from_another_host_without_token(open_core: CoreProcess, netns: Netns) -> None:
    for path in ("/__motia/state", "/__motia/runners", "/__motia", "/__motia/streams/list", "/__motia/nope"):
        reply = netns.send(open_core, path)
        assert reply.status == 403, (path, reply)
        doc = reply.json()
        assert doc["error"] == "Forbidden" and "not on this machine" in doc["message"]
        assert "--admin-token" in doc["howToEnable"] and "MOTIA_ADMIN_TOKEN" in doc["howToEnable"]
        assert reply.cors() == {}
    assert netns.post_json(open_core, "/emit", PROBE).status == 403
    # a Bearer means nothing to a core without a token
    assert netns.send(open_core, "/__motia/state", BEARER).status == 403


def test_api_routes_are_public_from_another_host(open_core: CoreProcess, netns: Netns) -> None:
    reply = netns.send(open_core, "/hello")
    assert reply.status == 200 and reply.json() == {"hello": "world"}
    assert reply.headers["access-control-allow-origin"] == "*"  # Motia's default CORS on API steps
    missing = netns.send(open_core, "/no/such/route")
    assert missing.status == 404 and missing.json()["error"] == "Not found"  # the public 404 says nothing more


def test_token_opens_admin_to_another_host(token_core: CoreProcess, netns: Netns) -> None:
    bare = netns.send(token_core, "/__motia/state")
    assert bare.status == 401 and bare.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in bare.json()["howToEnable"]
    wrong = netns.send(token_core, "/__motia/state", {"Authorization": "Bearer nope"})
    assert wrong.status == 401 and "does not carry the admin token" in wrong.json()["message"]
    good = netns.send(token_core, "/__motia/state", BEARER)
    assert good.status == 200 and "groups" in good.json()
    assert good.cors() == {}
    # a valid Bearer from a foreign page is fine: that page cannot have the token
    emitted = netns.post_json(token_core, "/emit", PROBE, {**BEARER, "Origin": "https://evil.example"})
    assert emitted.status == 200 and emitted.json()["success"] is True
    assert emitted.cors() == {}


def test_emit_cli_sends_the_token_from_the_environment(token_core: CoreProcess, netns: Netns) -> None:
    cmd = ["ip", "netns", "exec", netns.name, sys.executable, "-m", "motia_core", "emit", "--topic", "security.cli"]
    cmd += ["--url", netns.url(token_core, "")]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "core")}
    with_token = subprocess.run(
        cmd, capture_output=True, text=True, timeout=30, env={**env, "MOTIA_ADMIN_TOKEN": TOKEN}
    )
    assert with_token.returncode == 0, with_token.stderr
    assert json.loads(with_token.stdout)["success"] is True
    without = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env={**env, "MOTIA_ADMIN_TOKEN": ""})
    assert without.returncode == 1 and "401" in without.stderr


def test_login_cookie_flow(token_core: CoreProcess, netns: Netns) -> None:
    login = "/__motia/login"
    assert netns.post_json(token_core, login, {"token": "wrong"}).status == 401
    assert netns.post_json(token_core, login, {}).status == 400
    as_text = send(netns.url(token_core, login), "POST", {"Content-Type": "text/plain"}, TOKEN.encode(), netns.name)
    assert as_text.status == 415
    ok = netns.post_json(token_core, login, {"token": TOKEN})
    assert ok.status == 200 and ok.json() == {"loggedIn": True}
    set_cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/" in set_cookie
    assert TOKEN not in set_cookie  # an HMAC of the token, never the token
    assert ok.cors() == {}
    cookie = {"Cookie": set_cookie.split(";", 1)[0]}
    assert cookie["Cookie"].startswith("motia_admin=")
    assert netns.send(token_core, "/__motia/runners", cookie).status == 200
    assert netns.send(token_core, "/__motia/runners", {"Cookie": "motia_admin=forged"}).status == 401
    out = netns.post_json(token_core, "/__motia/logout", {}, cookie)
    assert out.status == 200 and out.headers["set-cookie"].startswith('motia_admin="";')
    assert "Max-Age=0" in out.headers["set-cookie"]  # the browser drops it
    assert netns.send(token_core, "/__motia/runners").status == 401


def test_login_without_a_token_configured_explains(open_core: CoreProcess) -> None:
    reply = post_json(f"{open_core.url}/__motia/login", {"token": "x"})
    assert reply.status == 400 and "--admin-token" in reply.json()["message"]


# -- from this machine -------------------------------------------------------------------------------


def test_loopback_with_a_loopback_host_is_admin(open_core: CoreProcess, token_core: CoreProcess) -> None:
    for core in (open_core, token_core):  # with a token set, local clients still need none
        for host in (f"127.0.0.1:{core.port}", f"localhost:{core.port}", f"[::1]:{core.port}", "localhost"):
            reply = send(f"{core.url}/__motia/runners", headers={"Host": host})
            assert reply.status == 200, (host, reply)
            assert reply.cors() == {}


def test_foreign_host_on_loopback_is_refused(open_core: CoreProcess, token_core: CoreProcess) -> None:
    """DNS rebinding (evil.example resolved to 127.0.0.1) and a reverse proxy forwarding its Host."""
    reply = send(f"{open_core.url}/__motia/state", headers={"Host": "evil.example"})
    assert reply.status == 403 and "Host header" in reply.json()["message"]
    assert reply.cors() == {}
    proxy_headers = {
        "X-Forwarded-For": "203.0.113.9",
        "Forwarded": "for=203.0.113.9",
        "Via": "1.1 p",
        "X-Real-IP": "::1",
    }
    for name, value in proxy_headers.items():
        # a proxy that rewrites Host to its upstream (Apache's default) still says it is one
        rewritten = send(f"{open_core.url}/__motia/state", headers={name: value})
        assert rewritten.status == 403 and "through a proxy" in rewritten.json()["message"], name
    proxied = send(f"{token_core.url}/__motia/state", headers={"Host": "api.example.com"})
    assert proxied.status == 401
    authed = send(f"{token_core.url}/__motia/state", headers={"Host": "api.example.com", **BEARER})
    assert authed.status == 200


def test_foreign_origin_on_loopback_is_refused(open_core: CoreProcess) -> None:
    reply = post_json(f"{open_core.url}/emit", PROBE, {"Origin": "https://evil.example"})
    assert reply.status == 403 and "another site" in reply.json()["message"]
    assert reply.cors() == {}
    assert send(f"{open_core.url}/__motia/state", headers={"Origin": "null"}).status == 403
    local_page = post_json(f"{open_core.url}/emit", PROBE, {"Origin": "http://localhost:5173"})
    assert local_page.status == 200 and local_page.cors() == {}


def test_state_changes_take_json_only(open_core: CoreProcess) -> None:
    url = open_core.url
    body = json.dumps(PROBE).encode()
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        reply = send(f"{url}/emit", "POST", {"Content-Type": ctype}, body)
        assert reply.status == 415, (ctype, reply)
        assert "application/json" in reply.json()["message"] and reply.cors() == {}
    assert send(f"{url}/__motia/dlq/purge", "POST", {"Content-Type": "text/plain"}).status == 415
    assert send(f"{url}/__motia/dlq/x/replay", "POST").status == 415  # no Content-Type at all
    assert post_json(f"{url}/__motia/dlq/x/replay", {}).status == 404  # JSON: let through
    # a DELETE without a body has nothing to type; one with a text body is refused
    assert send(f"{url}/__motia/dlq/x", "DELETE").json() == {"purged": 0}
    assert send(f"{url}/__motia/dlq/x", "DELETE", {"Content-Type": "text/plain"}, b"x").status == 415
    assert post_json(f"{url}/emit", PROBE).status == 200


def test_preflight_to_admin_is_never_approved(open_core: CoreProcess) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    foreign = send(f"{open_core.url}/emit", "OPTIONS", {**preflight, "Origin": "https://evil.example"})
    assert foreign.status == 403 and foreign.cors() == {}
    for path in ("/emit", "/__motia/state", "/__motia/dlq/purge"):
        local = send(f"{open_core.url}{path}", "OPTIONS", {**preflight, "Origin": "http://localhost:5173"})
        assert local.status == 204 and local.cors() == {}, (path, local)
    public = send(f"{open_core.url}/hello", "OPTIONS", {**preflight, "Origin": "https://evil.example"})
    assert public.status == 204 and public.headers["access-control-allow-origin"] == "*"


# -- streams REST --------------------------------------------------------------------------------------


async def test_streams_rest_applies_can_access(open_core: CoreProcess) -> None:
    url = open_core.url
    async with aiohttp.ClientSession() as session:
        for group_id in ("alice", "bob"):
            item = {"stream": "private", "op": "set", "groupId": group_id, "id": "1", "data": {"text": group_id}}
            async with session.post(f"{url}/ts/streams", json=item) as resp:
                assert resp.status == 200
        async with session.post(f"{url}/ts/streams", json={**item, "stream": "todo"}) as resp:
            assert resp.status == 200

        async def get(path: str) -> tuple[int, Any]:
            async with session.get(f"{url}/__motia/streams/{path}") as resp:
                assert resp.content_type == "application/json" and "Access-Control-Allow-Origin" not in resp.headers
                return resp.status, await resp.json()

        assert await get("item/private/alice/1?authToken=alice") == (200, {"text": "alice", "id": "1"})
        status, doc = await get("item/private/alice/1?authToken=bob")
        assert status == 403 and doc["code"] == "STREAM_ACCESS_DENIED"
        assert (await get("item/private/alice/1"))[0] == 403  # anonymous: denied, as a join would be
        assert await get("group/private/alice?authToken=alice") == (200, [{"text": "alice", "id": "1"}])
        assert (await get("group/private/bob?authToken=alice"))[0] == 403
        assert await get("groups/private?authToken=alice") == (200, {"groups": ["alice"]})
        assert (await get("item/private/alice/1?authToken=bad"))[0] == 401  # the auth hook throws
        assert await get("item/todo/bob/1") == (200, {"text": "bob", "id": "1"})  # no canAccess: public
        assert (await get("item/nope/a/1"))[0] == 404
        assert (await get("item/audit/log/1?authToken=root.admin"))[0] == 200  # Python canAccess: admins


def test_streams_rest_keeps_admin_credentials_from_the_auth_hook(start_core: Callable[..., CoreProcess]) -> None:
    """tests/fixtures/security_streams: vault.canAccess allows only if the hook saw no Authorization/Cookie."""
    core = start_core("security_streams", env={"MOTIA_ADMIN_TOKEN": TOKEN})
    url = f"{core.url}/__motia/streams/item/vault/g/1"
    assert send(url + "?authToken=u1").status == 200
    creds = {**BEARER, "Cookie": "motia_admin=x; other=1"}
    assert send(url + "?authToken=u1", headers=creds).status == 200
    assert send(url, headers=creds).status == 403  # anonymous: denied


def test_a_step_that_sets_its_own_cors_keeps_it(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core("security_streams", "--cors-origins", "https://app.example")
    reply = send(f"{core.url}/own-cors", headers={"Origin": "https://evil.example"})
    assert reply.status == 200 and reply.headers["access-control-allow-origin"] == "https://own.example"


def test_streams_rest_is_admin(open_core: CoreProcess, netns: Netns) -> None:
    reply = netns.send(open_core, "/__motia/streams/item/todo/bob/1?authToken=alice")
    assert reply.status == 403 and reply.cors() == {}


# -- CORS on API steps and the WebSocket -------------------------------------------------------------


def test_cors_origins_list_on_an_api_step(token_core: CoreProcess) -> None:
    url = f"{token_core.url}/hello"
    listed = send(url, headers={"Origin": "https://app.example"})
    assert listed.status == 200 and listed.headers["access-control-allow-origin"] == "https://app.example"
    assert "Origin" in listed.headers["vary"]
    other = send(url, headers={"Origin": "https://evil.example"})
    assert other.status == 200 and "access-control-allow-origin" not in other.headers
    assert "Origin" in other.headers["vary"]
    preflight = {"Access-Control-Request-Method": "GET"}
    ok = send(url, "OPTIONS", {**preflight, "Origin": "http://localhost:5173"})
    assert ok.status == 204 and ok.headers["access-control-allow-origin"] == "http://localhost:5173"
    refused = send(url, "OPTIONS", {**preflight, "Origin": "https://evil.example"})
    assert refused.status == 204 and refused.cors() == {}
    missing = send(f"{token_core.url}/no/such/route", headers={"Origin": "https://evil.example"})
    assert missing.status == 404 and missing.cors() == {}


async def test_cors_origins_list_on_the_websocket(token_core: CoreProcess, open_core: CoreProcess) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(token_core.url + "/", origin="https://evil.example")
        assert refused.value.status == 403
        for origin in ("https://app.example", None):  # listed, or no Origin (not a browser)
            ws = await session.ws_connect(token_core.url + "/", origin=origin)
            await ws.close()
        ws = await session.ws_connect(open_core.url + "/", origin="https://evil.example")  # default '*'
        await ws.close()


# -- parameters ----------------------------------------------------------------------------------------

HOSTILE = [
    "/__motia/traces?limit=abc",
    "/__motia/traces?limit=-1",
    "/__motia/traces?limit=0",
    "/__motia/traces?limit=1e9",
    "/__motia/traces?limit=1001",
    "/__motia/traces?limit=99999999999999999999999",
    "/__motia/traces?limit=%D9%A1",  # an Arabic-Indic digit one
    "/__motia/traces?limit=",
    "/__motia/state?groupId=" + "g" * 2000,
    "/__motia/state?groupId=a%00b",
    "/__motia/dlq?subscription=" + "s" * 5000,
    "/__motia/dlq/" + "d" * 3000,
    "/__motia/traces/" + "t" * 3000,
    "/__motia/streams/item/todo/" + "g" * 2000 + "/1",
]


@pytest.mark.parametrize("path", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_query_strings_get_a_json_400(open_core: CoreProcess, path: str) -> None:
    reply = send(open_core.url + path)
    assert reply.status == 400, reply
    assert reply.json()["error"] == "Invalid parameter"


def test_request_line_over_the_parser_limit_is_a_400(open_core: CoreProcess) -> None:
    """aiohttp's parser refuses a request line over 8190 bytes (plain text, before any route)."""
    assert send(f"{open_core.url}/__motia/state?groupId=" + "g" * 10000).status == 400


def test_odd_but_valid_parameters_answer(open_core: CoreProcess) -> None:
    url = open_core.url
    assert len(send(f"{url}/__motia/traces?limit=5").json()["traces"]) <= 5
    assert send(f"{url}/__motia/traces?limit=1&limit=abc").status == 200  # the first value counts
    assert send(f"{url}/__motia/state?groupId=%FF%FE").json() == {"items": []}  # undecodable: replaced
    assert send(f"{url}/__motia/dlq?subscription=%E2%80%AE").json() == {"deadLetters": []}
    assert send(f"{url}/__motia/traces/%00").status == 400
