"""The admin guard: who may use the admin surface (docs/security.md).

Admin = every path under ADMIN_PREFIXES. The guard is a per-route wrapper built at start-up and put
on admin routes only: API step routes never pay for it.

* Without a token the admin surface answers a request only when it comes from a loopback peer AND
  names a loopback Host AND carries no Origin or a loopback one AND no proxy header. The Host rule
  stops DNS rebinding (a page on evil.example whose name now resolves to 127.0.0.1 still sends
  `Host: evil.example`) and a reverse proxy on the same machine that forwards the client's Host;
  the proxy headers catch one that rewrites Host to its upstream; the Origin rule stops a page of
  another site driving it from a developer's browser.
* With a token (`--admin-token` / MOTIA_ADMIN_TOKEN) any host that presents it is answered, as
  `Authorization: Bearer <token>` or as the session cookie POST /__motia/login sets. A request
  without credentials still passes the loopback rule above, so the local CLI keeps working; a
  request with a wrong Bearer gets 401 even from loopback (it asked to be judged by its token).

Refusals are JSON and say how to get in. Admin responses never carry CORS headers, and admin
requests that change something must be `application/json` (a browser cannot send that cross-site
without a preflight, which the admin surface never approves).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

import orjson
from aiohttp import hdrs, web

from motia_core.http.common import Handler, admin_json_response
from motia_core.logs import Logger
from motia_core.steps import RESERVED_PATH_PREFIXES

# Every admin path starts with one of these (the path itself, or the path followed by "/"): the
# paths the core reserves for itself, which API steps may not take (steps.py: one list for both).
ADMIN_PREFIXES: tuple[str, ...] = RESERVED_PATH_PREFIXES
SESSION_COOKIE = "motia_admin"
_SESSION_CONTEXT = b"motia-core admin session v1"
# A proxy that rewrites Host to its upstream (Apache's default, nginx's `$proxy_host`) still
# announces itself with one of these; a local CLI or script sends none of them.
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP", "Via")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_HOW_TO = (
    "connect from this machine (loopback address, Host: localhost or 127.0.0.1, no foreign Origin), "
    "or start the core with --admin-token TOKEN (or env MOTIA_ADMIN_TOKEN) and send "
    "'Authorization: Bearer TOKEN' (a browser can log in with POST /__motia/login {\"token\": ...})"
)


def is_admin_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in ADMIN_PREFIXES)


def loopback_address(text: str | None) -> bool:
    """127.0.0.0/8, ::1 and ::ffff:127.x.x.x; anything unparsable is not loopback."""
    if not text:
        return False
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def loopback_host(hostport: str) -> bool:
    """A Host header (or an Origin's authority) naming this machine: localhost, 127.x.x.x or [::1],
    with an optional port."""
    value = hostport.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        rest = value[end + 1 :] if end > 0 else "?"
        if rest and not (rest[:1] == ":" and rest[1:].isdigit()):
            return False
        return loopback_address(value[1:end])
    name, colon, port = value.rpartition(":")
    if not colon:
        name = value
    elif not port.isdigit():
        return False
    return name == "localhost" or (":" not in name and loopback_address(name))


def loopback_origin(origin: str) -> bool:
    scheme, sep, authority = origin.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or "/" in authority or "@" in authority:
        return False
    return loopback_host(authority)


def local_problem(request: web.Request) -> str | None:
    """Why the request does not count as local, or None if it does (peer, Host, Origin, proxy headers)."""
    if not loopback_address(request.remote):
        return f"the client {request.remote or '?'} is not on this machine"
    host = request.headers.get(hdrs.HOST)
    if host is None or not loopback_host(host):
        return f"the Host header {host!r} does not name this machine (DNS rebinding or a proxy?)"
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is not None and not loopback_origin(origin):
        return f"the request comes from a web page of another site (Origin {origin!r})"
    for name in PROXY_HEADERS:
        if name in request.headers:
            return f"the request came through a proxy ({name} header): its client may be anywhere"
    return None


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def json_body_problem(request: web.Request) -> web.Response | None:
    """415 unless a state-changing request is application/json (a DELETE without a body is fine)."""
    if request.method in _SAFE_METHODS or (request.method == "DELETE" and not request.body_exists):
        return None
    if request.content_type == "application/json":
        return None
    return admin_json_response(
        415,
        {
            "error": "Unsupported media type",
            "message": f"{request.method} {request.path} accepts only Content-Type: application/json "
            f"(got {request.headers.get(hdrs.CONTENT_TYPE) or 'none'})",
        },
    )


class AdminGuard:
    def __init__(self, token: str | None, logger: Logger) -> None:
        self._token = _bytes(token) if token else None
        self._session = (
            hmac.new(self._token, _SESSION_CONTEXT, hashlib.sha256).hexdigest().encode() if self._token else None
        )
        self._logger = logger

    @property
    def has_token(self) -> bool:
        return self._token is not None

    def token_matches(self, presented: str) -> bool:
        return self._token is not None and hmac.compare_digest(_bytes(presented), self._token)

    def session_value(self) -> str:
        """The login cookie's value: an HMAC of the token (the token itself never travels in a cookie)."""
        assert self._session is not None
        return self._session.decode()

    def refusal(self, request: web.Request) -> web.Response | None:
        """None if the request may use the admin surface, else the 401/403 that refuses it."""
        if self._token is not None:
            authorization = request.headers.get(hdrs.AUTHORIZATION)
            if authorization is not None:
                scheme, _, presented = authorization.strip().partition(" ")
                if scheme.lower() == "bearer" and self.token_matches(presented.strip()):
                    return None
                return self.refuse(request, 401, "the Authorization header does not carry the admin token")
            cookie = request.cookies.get(SESSION_COOKIE)
            if cookie is not None and self._session is not None and hmac.compare_digest(_bytes(cookie), self._session):
                return None
        problem = local_problem(request)
        if problem is None:
            return None
        if self._token is not None:
            return self.refuse(request, 401, f"admin credentials required: {problem}")
        return self.refuse(request, 403, f"the admin surface answers this machine only: {problem}")

    def refuse(self, request: web.Request, status: int, why: str) -> web.Response:
        self._logger.info(  # info, not warn: a port scanner must not flood the warnings
            f"admin request refused ({status}): {request.method} {request.path}: {why}",
            source="http",
            peer=request.remote or "?",
        )
        error = "Unauthorized" if status == 401 else "Forbidden"
        response = admin_json_response(status, {"error": error, "message": why, "howToEnable": _HOW_TO})
        if status == 401:
            response.headers[hdrs.WWW_AUTHENTICATE] = 'Bearer realm="motia-core admin"'
        return response

    def wrap(self, handler: Handler, *, open_to_all: bool = False) -> Handler:
        """The admin route `handler` behind the guard (open_to_all: login/logout, which check the token
        themselves), the JSON content-type rule, and a JSON 500 for anything unexpected."""
        refusal = self.refusal
        logger = self._logger

        async def guarded(request: web.Request) -> web.StreamResponse:
            refused = None if open_to_all else refusal(request)
            if refused is None:
                refused = json_body_problem(request)
            if refused is not None:
                return refused
            try:
                return await handler(request)
            except web.HTTPException as exc:  # aiohttp's own (413 from read(), ...): JSON like the rest
                return admin_json_response(exc.status, {"error": exc.reason, "message": exc.text or exc.reason})
            except Exception as exc:  # never a text 500 from the admin surface
                logger.error(f"{request.method} {request.path} failed: {exc!r}", source="http")
                return admin_json_response(500, {"error": "Internal server error", "message": type(exc).__name__})

        return guarded


def add_login_routes(app: web.Application, guard: AdminGuard) -> None:
    """POST /__motia/login {"token"} sets the session cookie (HttpOnly, SameSite=Strict, Path=/) that the
    guard accepts like the Bearer; POST /__motia/logout clears it (revoking every session = a new token)."""

    async def login(request: web.Request) -> web.StreamResponse:
        if not guard.has_token:
            return admin_json_response(
                400,
                {
                    "error": "No admin token",
                    "message": "this core has no admin token, so there is nothing to log in with: start it with "
                    "--admin-token or MOTIA_ADMIN_TOKEN (clients on this machine need no login)",
                },
            )
        try:
            doc = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            return admin_json_response(400, {"error": "Invalid request body", "message": f"malformed JSON: {exc}"})
        token = doc.get("token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            return admin_json_response(400, {"error": "Invalid request body", "message": 'expected {"token": string}'})
        if not guard.token_matches(token):
            return guard.refuse(request, 401, "wrong admin token")
        response = admin_json_response(200, {"loggedIn": True})
        response.set_cookie(
            SESSION_COOKIE, guard.session_value(), path="/", httponly=True, samesite="Strict", secure=request.secure
        )
        return response

    async def logout(_: web.Request) -> web.StreamResponse:
        response = admin_json_response(200, {"loggedIn": False})
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    app.router.add_post("/__motia/login", guard.wrap(login, open_to_all=True))
    app.router.add_post("/__motia/logout", guard.wrap(logout, open_to_all=True))
