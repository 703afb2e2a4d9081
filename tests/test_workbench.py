"""The Workbench in a real browser (playwright + Debian's chromium) against a live core serving
tests/fixtures/wb_polyglot (TS, Python, Ruby and JS steps in one flow), plus its HTTP serving rules
(docs/workbench.md)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from playwright.sync_api import Browser, Page, expect

from motia_core.http.guard import AdminGuard
from motia_core.http.workbench import add_workbench_routes, route_claims
from motia_core.logs import Level, Logger
from motia_core.steps import path_problem
from motia_core.workbench import STATIC_DIR, workbench_path_problem
from tests.conftest import ROOT, CoreProcess, copy_fixture, free_port

pytest_plugins = ("tests.browser",)  # the browser and page fixtures

FIXTURE = "wb_polyglot"
FLOW_STEPS = {"PlaceOrder", "GetWbOrder", "PriceWbOrder", "ShipWbOrder", "CloseWbOrder"}
FLOW_EDGES = {("PlaceOrder", "PriceWbOrder"), ("PriceWbOrder", "ShipWbOrder"), ("ShipWbOrder", "CloseWbOrder")}
CHAIN_LANGUAGES = {"typescript", "python", "ruby", "javascript"}
SCREENSHOT = ROOT / "docs" / "images" / "workbench-traces.png"

pytestmark = pytest.mark.timeout(180)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the test looks at the redirect itself


_OPENER = urllib.request.build_opener(_NoRedirect)


def http(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=10) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


@pytest.fixture(scope="module")
def wb_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    """One core for the module's browser tests (starting four runners is the slow part)."""
    assert (STATIC_DIR / "index.html").is_file(), "the Workbench bundle is not built: run `make install`"
    project = copy_fixture(FIXTURE, tmp_path_factory.mktemp("wb"))
    core = CoreProcess(project, env={"MOTIA_RETRY_BASE_DELAY": "0.05"})  # the flaky step's retry comes fast
    core.wait_ready(60)
    yield core
    core.stop()


def open_panel(page: Page, core: CoreProcess, route: str) -> None:
    page.goto(f"{core.url}/__workbench/#/{route}")
    expect(page.locator("nav.nav")).to_be_visible()


def test_flows_shows_every_step_with_its_language_and_the_topic_edges(wb_core: CoreProcess, page: Page) -> None:
    open_panel(page, wb_core, "flows/wb-orders")
    nodes = page.locator(".react-flow__node .step-node")
    expect(nodes).to_have_count(len(FLOW_STEPS))
    seen = {n.get_attribute("data-step"): n.get_attribute("data-language") for n in nodes.all()}
    assert seen == {
        "PlaceOrder": "typescript",
        "GetWbOrder": "typescript",
        "PriceWbOrder": "python",
        "ShipWbOrder": "ruby",
        "CloseWbOrder": "javascript",
    }
    edges = page.locator(".react-flow__edge")
    expect(edges).to_have_count(len(FLOW_EDGES))
    ids = {e.get_attribute("data-id") or "" for e in edges.all()}
    by_file = {
        "PlaceOrder": "steps/place-order.step.ts",
        "PriceWbOrder": "steps/price_order_step.py",
        "ShipWbOrder": "steps/ship_order_step.rb",
        "CloseWbOrder": "steps/close-order.step.js",
    }
    assert {
        (s, d) for s, d in FLOW_EDGES if any(i.startswith(f"{by_file[s]}-{by_file[d]}:") for i in ids)
    } == FLOW_EDGES
    for topic in ("wb.order.placed", "wb.order.priced", "wb.order.shipped"):
        expect(page.locator(".react-flow__edge-text", has_text=topic)).to_have_count(1)
    # a node opens its config, file and schema in the side panel
    page.locator('[data-step="PriceWbOrder"]').click()
    details = page.get_by_test_id("step-details")
    expect(details.get_by_test_id("step-file")).to_have_text("steps/price_order_step.py")
    expect(details).to_contain_text("wb.order.placed")
    expect(details).to_contain_text('"required"')


def test_an_endpoint_call_from_the_form_shows_up_live_as_a_trace_across_languages(
    wb_core: CoreProcess, page: Page, browser: Browser, artifact: Callable[[str], Path]
) -> None:
    # a second tab watches the trace list: the new trace must arrive over the live socket, no reload
    watcher_context = browser.new_context(viewport={"width": 1440, "height": 900})
    watcher = watcher_context.new_page()
    try:
        open_panel(watcher, wb_core, "traces")
        expect(watcher.locator(".live-open")).to_be_visible()
        watcher.evaluate("window.__notReloaded = true")

        open_panel(page, wb_core, "endpoints")
        page.locator('[data-endpoint="POST /wb/orders"]').click()
        form = page.get_by_test_id("body-form")
        form.locator("#body-item").fill("teapot")
        form.locator("#body-quantity").fill("3")
        form.locator("#body-gift").check()
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_test_id("response-status")).to_contain_text("201")
        expect(page.get_by_test_id("response")).to_contain_text('"item": "teapot"')
        link = page.get_by_test_id("trace-link")
        trace_id = link.inner_text()
        assert trace_id

        expect(watcher.locator(f'tr[data-trace-id="{trace_id}"]')).to_be_visible(timeout=20_000)
        assert watcher.evaluate("window.__notReloaded") is True
    finally:
        watcher_context.close()

    link.click()  # the trace of the call, opened from the response
    view = page.get_by_test_id("trace-view")
    expect(view).to_have_attribute("data-trace-id", trace_id)
    rows = page.locator(".timeline-row")
    # the chain runs on after the response: the live "trace" message refreshes the view until all four hops are in
    for step in ("PlaceOrder", "PriceWbOrder", "ShipWbOrder", "CloseWbOrder"):
        expect(page.locator(f'.timeline-row[data-span-step="{step}"]').first).to_be_visible(timeout=30_000)
    languages = {r.get_attribute("data-language") for r in rows.all()}
    assert CHAIN_LANGUAGES <= languages
    page.locator('.timeline-row[data-span-step="PriceWbOrder"]').first.click()
    span = page.get_by_test_id("span-details")
    expect(span.locator('h2 [data-language="python"]')).to_be_visible()
    expect(span).to_contain_text("emitted by")
    page.screenshot(path=str(artifact("workbench-traces")))
    if os.environ.get("MOTIA_UPDATE_SCREENSHOTS"):  # the README's picture, refreshed on request only
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), clip={"x": 0, "y": 0, "width": 1440, "height": 440})

    # the GET endpoint's path parameter comes from the form: the order the chain wrote, all four hops in
    open_panel(page, wb_core, "endpoints")
    page.locator('[data-endpoint="GET /wb/orders/:id"]').click()
    page.locator("#param-id").fill(trace_id)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("response-status")).to_contain_text("200")
    body = page.get_by_test_id("response").locator("pre.json")
    for language in ("typescript", "python", "ruby", "javascript"):
        expect(body).to_contain_text(f'"{language}"')


def test_a_failed_attempt_and_its_retry_show_in_the_timeline(wb_core: CoreProcess, page: Page) -> None:
    open_panel(page, wb_core, "endpoints")
    page.locator('[data-endpoint="POST /wb/flaky"]').click()
    page.get_by_label("Request body").fill('{"note": "from the browser"}')  # no bodySchema: raw JSON
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("response-status")).to_contain_text("202")
    page.get_by_test_id("trace-link").click()
    failed = page.locator('.timeline-row[data-span-step="FlakyWbStep"][data-status="failed"]')
    retried = page.locator('.timeline-row[data-span-step="FlakyWbStep"][data-status="completed"]')
    expect(failed).to_have_count(1, timeout=30_000)
    expect(retried).to_have_count(1, timeout=30_000)
    expect(retried).to_contain_text("attempt 2")
    failed.click()
    details = page.get_by_test_id("span-details")
    expect(details).to_contain_text("flaky on attempt 1")
    expect(details.locator('h2 [data-language="ruby"]')).to_be_visible()


def emit(core: CoreProcess, topic: str) -> str:
    request = urllib.request.Request(
        core.url + "/emit",
        data=json.dumps({"topic": topic, "data": {}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return str(resp.headers["x-motia-trace-id"])


def test_the_trace_list_pages_back_to_older_traces(wb_core: CoreProcess, page: Page) -> None:
    first = emit(wb_core, "wb.nobody.listens")  # a trace of its own, then 100 newer ones on top of it
    for _ in range(100):
        emit(wb_core, "wb.nobody.listens")
    open_panel(page, wb_core, "traces")
    rows = page.locator("tr[data-trace-id]")
    expect(rows).to_have_count(100)
    expect(page.locator(f'tr[data-trace-id="{first}"]')).to_have_count(0)
    page.get_by_role("button", name="Load older traces").click()
    expect(page.locator(f'tr[data-trace-id="{first}"]')).to_have_count(1)
    assert rows.count() > 100


def test_no_workbench_answers_404(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core(FIXTURE, "--no-workbench")
    for path in ("/__workbench", "/__workbench/", "/__workbench/app.js"):
        status, _, body = http(core.url + path)
        assert status == 404, (path, status, body)
        assert json.loads(body)["error"] == "Not found"


def test_a_foreign_host_is_refused(wb_core: CoreProcess) -> None:
    for path in ("/__workbench/", "/__workbench/app.js"):
        status, _, body = http(wb_core.url + path, {"Host": "evil.example"})
        assert status == 403, (path, status)
        assert "does not name this machine" in json.loads(body)["message"]
    status, _, _ = http(wb_core.url + "/__workbench/", {"Host": "localhost"})
    assert status == 200


def test_assets_revalidate_with_an_etag(wb_core: CoreProcess) -> None:
    status, headers, _ = http(wb_core.url + "/__workbench/app.js")
    assert (
        status == 200
        and headers["Cache-Control"] == "no-cache"
        and headers["Content-Type"].startswith("text/javascript")
    )
    status, _, _ = http(wb_core.url + "/__workbench/app.js", {"If-None-Match": headers["Etag"]})
    assert status == 304
    status, headers, _ = http(wb_core.url + "/__workbench")
    assert status == 308 and headers["Location"] == "/__workbench/"
    status, _, body = http(wb_core.url + "/__workbench/nope.js")
    assert status == 404 and "no Workbench file" in json.loads(body)["message"]


PLUGIN_JS = """
(function () {
  var wb = window.motiaWorkbench, h = wb.React.createElement;
  function Hello(props) {
    var state = wb.React.useState(null), flows = state[0], setFlows = state[1];
    wb.React.useEffect(function () {
      wb.api.getJson('/__motia/flows').then(function (d) { setFlows(d.flows.length); });
    }, []);
    return h('div', { 'data-testid': 'hello-plugin' }, 'Hello from a plugin: ' + flows + ' flow(s)');
  }
  wb.registerPanel({ id: 'hello', title: 'Hello plugin', order: 15, Component: Hello });
})();
"""


def install_plugin(site: Path) -> None:
    """A package as pip would install it: a module, its bundle, and a dist-info naming the entry point."""
    package = site / "wb_hello_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from pathlib import Path\n\nPANEL = Path(__file__).with_name('panel.js')\n\n"
        "def broken():\n    raise RuntimeError('this plugin is broken on purpose')\n"
    )
    (package / "panel.js").write_text(PLUGIN_JS)
    dist = site / "wb_hello_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: wb-hello-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[motia_core.workbench_panels]\nhello = wb_hello_plugin:PANEL\nbroken = wb_hello_plugin:broken\n"
    )


def test_a_plugin_panel_from_an_installed_package_appears(
    start_core: Callable[..., CoreProcess], tmp_path: Path, page: Page
) -> None:
    site = tmp_path / "site"
    install_plugin(site)
    core = start_core(
        FIXTURE, env={"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    )
    broken = core.wait_for_log(lambda d: "Workbench plugin 'broken'" in d.get("msg", ""))
    assert "this plugin is broken on purpose" in broken["msg"] and broken["level"] == "warn"
    open_panel(page, core, "hello")
    nav = page.locator("nav.nav a")
    expect(page.locator('nav a[data-panel="hello"]')).to_have_text("Hello plugin")
    titles = nav.all_inner_texts()
    assert titles.index("Hello plugin") == titles.index("Flows") + 1  # order 15: between Flows and Endpoints
    expect(page.get_by_test_id("hello-plugin")).to_have_text("Hello from a plugin: 2 flow(s)")
    status, headers, body = http(core.url + "/__workbench/plugins/hello.js")
    assert status == 200 and body.decode() == PLUGIN_JS and headers["Content-Type"].startswith("text/javascript")


def test_token_mode_shows_a_login_page_then_the_workbench(start_core: Callable[..., CoreProcess], page: Page) -> None:
    core = start_core(FIXTURE, "--admin-token", "s3cret-token")
    # through a non-loopback Host the guard asks for the token: the browser gets a login page, not JSON
    status, headers, body = http(core.url + "/__workbench/", {"Host": "workbench.example"})
    assert status == 401 and headers["Content-Type"].startswith("text/html") and b"Admin token" in body
    page.goto(f"http://workbench.test:{core.port}/__workbench/")  # browser.py maps *.test to 127.0.0.1
    page.get_by_label("Admin token").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#err")).to_contain_text("wrong admin token")
    page.get_by_label("Admin token").fill("s3cret-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator('nav a[data-panel="flows"]')).to_be_visible()
    expect(page.locator(".react-flow__node")).to_have_count(len(FLOW_STEPS))


def test_a_custom_path_serves_the_workbench_there(start_core: Callable[..., CoreProcess]) -> None:
    core = start_core(FIXTURE, "--workbench-path", "/ops/ui")
    status, _, body = http(core.url + "/ops/ui/")
    assert status == 200 and b'<script src="app.js">' in body
    assert http(core.url + "/__workbench/")[0] == 404


def test_an_api_step_under_the_workbench_path_stops_the_start(tmp_path: Path) -> None:
    project = copy_fixture(FIXTURE, tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "motia_core", "serve", "--dir", str(project), "--port", str(free_port()),
         "--host", "127.0.0.1", "--workbench-path", "/wb"],
        capture_output=True, text=True, timeout=60, cwd=project,
    )  # fmt: skip
    assert result.returncode != 0
    assert (
        "steps/get-order.step.ts: path: GET /wb/orders/:id overlaps the Workbench at /wb"
        in result.stdout + result.stderr
    )


@pytest.mark.parametrize(
    ("route", "path", "claims"),
    [
        ("/wb/orders/:id", "/wb", True),
        ("/ops/:section", "/ops/ui", True),  # a parameter would swallow the Workbench's segment
        ("/ops/ui", "/ops/ui", True),
        ("/ops", "/ops/ui", False),
        ("/ops/uix", "/ops/ui", False),
        ("/:any/ui/more", "/ops/ui", True),
    ],
)
def test_an_api_route_overlapping_the_workbench_path_is_found(route: str, path: str, claims: bool) -> None:
    assert route_claims(route, path) is claims


def test_api_steps_cannot_take_the_default_workbench_path() -> None:
    assert "motia-core serves itself" in (path_problem("/__workbench/orders") or "")
    assert "motia-core serves itself" in (path_problem("/__workbench") or "")


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("ui", "must start with '/'"),
        ("/", "must start with '/'"),
        ("/ui/", "must not end with '/'"),
        ("/a b", "not a plain path segment"),
        ("/ui/../x", "not a plain path segment"),
        ("/__motia/ui", "overlaps /__motia"),
        ("/metrics", "overlaps /metrics"),
    ],
)
def test_bad_workbench_paths_are_named(path: str, problem: str) -> None:
    assert problem in (workbench_path_problem(path) or "")
    assert workbench_path_problem("/__workbench") is None and workbench_path_problem("/ops/ui-2") is None


async def _unbuilt_bundle_answers(static_dir: Path) -> list[tuple[int, str]]:
    app = web.Application()
    add_workbench_routes(
        app, AdminGuard(None, Logger(level=Level.ERROR)), path="/__workbench", static_dir=static_dir, plugins=[]
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    answers = []
    try:
        async with ClientSession() as session:
            for path in ("/__workbench/", "/__workbench/app.js"):
                async with session.get(f"http://127.0.0.1:{port}{path}") as resp:
                    answers.append((resp.status, await resp.text()))
    finally:
        await runner.cleanup()
    return answers


def test_an_unbuilt_bundle_gets_a_503_naming_make_install(tmp_path: Path) -> None:
    # its own thread and loop: playwright's sync API owns this thread's event loop in this module
    with ThreadPoolExecutor(1) as pool:
        answers = pool.submit(asyncio.run, _unbuilt_bundle_answers(tmp_path / "static")).result(60)
    assert [status for status, _ in answers] == [503, 503]
    assert all("make install" in text for _, text in answers)


def test_the_bundle_needs_nothing_from_another_host() -> None:
    """Offline: no CDN URL in what the core serves (a source map may quote library comments)."""
    for name in ("index.html", "app.js", "app.css"):
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        for needle in ("https://cdn", "unpkg.com", "jsdelivr", "fonts.googleapis"):
            assert needle not in text, (name, needle)
