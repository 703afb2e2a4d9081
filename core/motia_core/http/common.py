"""What every route module shares: the JSON response shape, the trace header, Motia's CORS headers
and the --cors-origins policy (docs/security.md#cors)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from aiohttp import hdrs, web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TRACE_HEADER = "x-motia-trace-id"

# Motia sends these on every response. Added per response rather than by an aiohttp middleware:
# a middleware wraps every request in two more calls, measurable on the hot path.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Max-Age": "600",
}
_JSON = "application/json"


def json_response(status: int, doc: object, trace_id: str | None = None) -> web.Response:
    headers = {**CORS_HEADERS, TRACE_HEADER: trace_id} if trace_id else CORS_HEADERS
    return web.Response(status=status, body=orjson.dumps(doc), content_type=_JSON, headers=headers)


def admin_json_response(status: int, doc: object, trace_id: str | None = None) -> web.Response:
    """A JSON response of the admin surface: never any CORS header (docs/security.md)."""
    headers = {TRACE_HEADER: trace_id} if trace_id else None
    return web.Response(status=status, body=orjson.dumps(doc), content_type=_JSON, headers=headers)


def admin_raw_json(body: bytes) -> web.Response:
    """Already-encoded JSON from the admin surface (no CORS header)."""
    return web.Response(body=body, content_type=_JSON)


class CorsPolicy:
    """`--cors-origins`: '*' (the default, Motia's: the constant CORS_HEADERS, nothing per request)
    or a list of origins. With a list, a response names the request's Origin only when it is listed
    (plus `Vary: Origin`, so caches keep the answers apart); any other origin gets no
    Access-Control-Allow-Origin and the browser withholds the response from its page."""

    def __init__(self, origins: tuple[str, ...]) -> None:
        listed = {normalize_origin(o) for o in origins if o.strip()}
        self.any = not listed or "*" in listed
        self.origins: frozenset[str] = frozenset() if self.any else frozenset(listed)

    def allows(self, origin: str | None) -> bool:
        """For the WebSocket upgrade: no Origin header = not a browser = allowed."""
        return self.any or origin is None or normalize_origin(origin) in self.origins

    def preflight_headers(self, origin: str | None) -> dict[str, str]:
        if self.any:
            return CORS_HEADERS
        if origin is not None and normalize_origin(origin) in self.origins:
            return {**CORS_HEADERS, "Access-Control-Allow-Origin": origin, hdrs.VARY: "Origin"}
        return {hdrs.VARY: "Origin"}

    def apply(self, response: web.StreamResponse, origin: str | None) -> None:
        """Narrow the default CORS headers a public response was built with. A step that set its own
        Access-Control-Allow-Origin (anything but '*') keeps it."""
        headers = response.headers
        if headers.get("Access-Control-Allow-Origin") == "*":
            if origin is not None and normalize_origin(origin) in self.origins:
                headers["Access-Control-Allow-Origin"] = origin
            else:
                for name, value in CORS_HEADERS.items():
                    if headers.get(name) == value:
                        del headers[name]
        vary = headers.get(hdrs.VARY)
        if vary is None:
            headers[hdrs.VARY] = "Origin"
        elif "origin" not in vary.lower():
            headers[hdrs.VARY] = f"{vary}, Origin"

    def wrap(self, handler: Handler) -> Handler:
        """An API step handler under a listed-origins policy (never used for '*': no per-request cost)."""
        apply = self.apply

        async def handle(request: web.Request) -> web.StreamResponse:
            response = await handler(request)
            if not response.prepared:
                apply(response, request.headers.get(hdrs.ORIGIN))
            return response

        return handle


def normalize_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()
