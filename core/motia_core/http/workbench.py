"""Serving the Workbench (docs/workbench.md): the static bundle under the Workbench path, behind the
admin guard like /__motia/* (loopback in dev, the token elsewhere).

Routes (PATH = --workbench-path, /__workbench by default):
* GET PATH            -> 308 to PATH/ (the page loads its assets relative to PATH/)
* GET PATH/           -> index.html with a <script> per plugin panel; in token mode a browser without
                         credentials gets a small login page instead of a JSON 401
* GET PATH/<asset>    -> app.js, app.css, their source maps
* GET PATH/plugins/<name>.js -> a plugin panel's bundle (workbench/plugins.py)
The bundle is not in git: a core whose bundle was never built answers 503 with the command to run.
Assets have stable names, so they are sent `Cache-Control: no-cache` with an ETag: a browser
revalidates (304) instead of running yesterday's bundle after `make install`.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from motia_core.errors import ProjectError
from motia_core.http.common import Handler, admin_json_response
from motia_core.http.guard import AdminGuard
from motia_core.logs import Logger
from motia_core.steps import Step
from motia_core.workbench import STATIC_DIR, workbench_path_problem
from motia_core.workbench.plugins import PluginPanel, discover_plugins

INDEX = "index.html"
PLUGIN_MARKER = "<!--plugins-->"
_CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".map": "application/json",
    ".html": "text/html",
}
# The page talks only to its own origin; React Flow positions nodes with inline styles.
_CSP = (
    "default-src 'self'; script-src 'self'{extra}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _page(status: int, body: str, nonce: str | None = None) -> web.Response:
    headers = {
        **_SECURITY_HEADERS,
        "Cache-Control": "no-store",
        "Content-Security-Policy": _CSP.format(extra=f" 'nonce-{nonce}'" if nonce else ""),
    }
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8", headers=headers)


def not_built_page(static_dir: Path) -> web.Response:
    return _page(
        503,
        "<!doctype html><meta charset=utf-8><title>Workbench not built</title>"
        "<h1>The Workbench is not built</h1>"
        f"<p>This core has no Workbench bundle in <code>{html.escape(str(static_dir))}</code>.</p>"
        "<p>Build it with <code>make install</code> in the motia-core checkout "
        "(or <code>cd core/workbench-ui &amp;&amp; npm ci &amp;&amp; npm run build</code>), then reload this page. "
        "Start the core with <code>--no-workbench</code> to turn the Workbench off.</p>",
    )


def login_page() -> web.Response:
    """The token-mode door: POST /__motia/login takes JSON only (the guard's CSRF rule), so the form
    posts through fetch and reloads into the Workbench once the session cookie is set."""
    nonce = secrets.token_urlsafe(16)
    return _page(
        401,
        "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        "<title>motia Workbench: log in</title>"
        "<style>body{font-family:system-ui,sans-serif;background:#f6f7f9;margin:0}"
        "form{max-width:360px;margin:15vh auto;background:#fff;padding:24px;border:1px solid #dde1e8;"
        "border-radius:8px;display:flex;flex-direction:column;gap:10px}#err{color:#d64545}</style>"
        "<form id=login><h2>motia Workbench</h2>"
        "<p>This core runs with an admin token. Enter it to continue.</p>"
        "<input id=token type=password aria-label='Admin token' autofocus required>"
        "<button type=submit>Log in</button><p id=err role=alert></p></form>"
        f"<script nonce='{nonce}'>"
        "document.getElementById('login').addEventListener('submit',async function(e){e.preventDefault();"
        "var err=document.getElementById('err');err.textContent='';"
        "try{var r=await fetch('/__motia/login',{method:'POST',headers:{'Content-Type':'application/json'},"
        "body:JSON.stringify({token:document.getElementById('token').value})});"
        "if(r.ok){location.reload();return}var d=await r.json().catch(function(){return{}});"
        "err.textContent=(d.message||('login failed: '+r.status))}catch(x){err.textContent=String(x)}});"
        "</script>",
        nonce,
    )


def _file(path: Path) -> web.FileResponse:
    response = web.FileResponse(path, headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"})
    response.content_type = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    return response


def _not_found(request: web.Request) -> web.Response:
    return admin_json_response(404, {"error": "Not found", "message": f"no Workbench file at {request.path}"})


def add_workbench_routes(
    app: web.Application, guard: AdminGuard, *, path: str, static_dir: Path, plugins: Sequence[PluginPanel]
) -> None:
    """Mount the Workbench at `path` (validated by workbench.workbench_path_problem)."""
    by_name = {plugin.name: plugin for plugin in plugins}
    plugin_tags = "".join(f'<script src="plugins/{html.escape(name)}.js"></script>' for name in sorted(by_name))

    async def redirect(request: web.Request) -> web.StreamResponse:
        target = path + "/" + (f"?{request.query_string}" if request.query_string else "")
        return web.Response(status=308, headers={"Location": target})

    async def index(request: web.Request) -> web.StreamResponse:
        page = static_dir / INDEX
        try:
            text = page.read_text(encoding="utf-8")  # small; read each time so a rebuild shows on reload
        except FileNotFoundError:
            return not_built_page(static_dir)
        response = _page(200, text.replace(PLUGIN_MARKER, plugin_tags))
        response.headers["Cache-Control"] = "no-cache"
        return response

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name == INDEX:
            return await index(request)
        file = static_dir / name
        if not file.is_file():
            return not_built_page(static_dir) if not (static_dir / INDEX).is_file() else _not_found(request)
        return _file(file)

    async def plugin(request: web.Request) -> web.StreamResponse:
        found = by_name.get(request.match_info["name"])
        if found is None or not found.file.is_file():
            return _not_found(request)
        return _file(found.file)

    checked_index = guard.wrap(index, open_to_all=True)  # the guard's verdict is taken just below

    async def index_or_login(request: web.Request) -> web.StreamResponse:
        refused = guard.refusal(request)
        if refused is None:
            return await checked_index(request)
        # In token mode a browser that has not logged in gets a page it can log in with, not JSON.
        return login_page() if refused.status == 401 and guard.has_token else refused

    routes: list[tuple[str, Handler]] = [
        (path, guard.wrap(redirect)),
        (path + "/", index_or_login),
        (path + "/plugins/{name:[a-z0-9][a-z0-9_-]*}.js", guard.wrap(plugin)),
        (path + "/{name:[A-Za-z0-9][A-Za-z0-9._-]*}", guard.wrap(asset)),
    ]
    for route, handler in routes:
        app.router.add_get(route, handler)


def route_claims(route: str, path: str) -> bool:
    """Whether the API step route (Express style, '/users/:id') could answer a URL at or under `path`:
    each of `path`'s segments equals the route's segment there or meets a parameter."""
    route_segments = route.strip("/").split("/")
    path_segments = path.strip("/").split("/")
    if len(route_segments) < len(path_segments):
        return False
    return all(r.startswith(":") or r == p for r, p in zip(route_segments, path_segments, strict=False))


def add_workbench(
    app: web.Application, guard: AdminGuard, path: str, api_steps: Sequence[Step], logger: Logger
) -> None:
    """Mount the built Workbench and the installed plugin panels at `path`; an API step under `path`
    is a start-up error (ProjectError naming the step), since one of the two would be unreachable."""
    problem = workbench_path_problem(path)
    if problem is not None:
        raise ProjectError(f"--workbench-path {path!r}: {problem}")
    for step in api_steps:
        route = step.path or ""
        if route_claims(route, path):
            raise ProjectError(
                f"{step.file.relative_path}: path: {step.method} {route} overlaps the Workbench at {path}; "
                "move the step or start the core with another --workbench-path (or --no-workbench)"
            )
    add_workbench_routes(app, guard, path=path, static_dir=STATIC_DIR, plugins=discover_plugins(logger))
    if not (STATIC_DIR / INDEX).is_file():
        logger.warn(f"the Workbench at {path}/ is not built (no {STATIC_DIR / INDEX}): run `make install`")
