"""The Workbench's operations panels (Logs, State, Streams, Queue, Cron, Runners) in a real browser
(playwright + Debian's chromium, tests/browser.py) against a live core serving tests/fixtures/wp_panels:
Python, TypeScript, JavaScript and Ruby steps, a stream, a cron step and a step that fails until cured.
Each test drives a panel the way a user would and checks the effect through the HTTP API, not the DOM
alone (docs/workbench.md#operations-panels)."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from motia_core.workbench import STATIC_DIR
from tests.conftest import CoreProcess, copy_fixture

pytest_plugins = ("tests.browser",)  # the browser, page and artifact fixtures

pytestmark = pytest.mark.timeout(180)

FIXTURE = "wp_panels"


def call(method: str, url: str, body: object | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        with exc:  # an unclosed error response is a ResourceWarning at exit
            return exc.code, json.loads(exc.read() or b"null")


def eventually(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what}: not true within {timeout} s (last: {last!r})")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def wp_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    """One core for the module (starting three runners is the slow part); fast retries so a failing
    step reaches the DLQ in well under a second."""
    assert (STATIC_DIR / "index.html").is_file(), "the Workbench bundle is not built: run `make install`"
    core = CoreProcess(copy_fixture(FIXTURE, tmp_path_factory.mktemp("wp")), env={"MOTIA_RETRY_BASE_DELAY": "0.05"})
    core.wait_ready(60)
    yield core
    core.stop()


def open_panel(page: Page, core: CoreProcess, route: str) -> None:
    page.goto(f"{core.url}/__workbench/#/{route}")
    expect(page.locator("nav.nav")).to_be_visible()
    # a marker that survives only as long as the page is not reloaded: "live" means without reload
    page.evaluate("window.__wpNoReload = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__wpNoReload === true"), "the page was reloaded"


def test_every_operations_panel_is_in_the_nav(wp_core: CoreProcess, page: Page) -> None:
    assert call("POST", f"{wp_core.url}/wp/greet", {"name": unique("nav")})[0] == 200  # some state and logs
    loaded = {  # what each panel shows once its endpoints answered
        "logs": "tr.log-row",
        "state": '[data-testid="state-groups"] button[data-group="wp-greetings"]',
        "streams": '[data-testid="stream-names"] button[data-stream="wpBoard"]',
        "queue": '[data-testid="queue-subscriptions"] tr[data-topic="wp.poison"]',
        "cron": '[data-testid="cron-jobs"] tr[data-step="Nightly"]',
        "runners": '[data-testid="runner-table"] tr[data-runtime]',
    }
    open_panel(page, wp_core, "")
    for panel, content in loaded.items():
        link = page.locator(f'nav.nav a[data-panel="{panel}"]')
        expect(link).to_be_visible()
        link.click()
        expect(page.locator("main.panel")).to_have_attribute("data-current-panel", panel)
        expect(page.locator(content).first).to_be_visible()
        expect(page.locator("main.panel [role=alert]")).to_have_count(0)  # no endpoint answered an error


def test_logs_panel_shows_a_python_log_line_live_with_a_working_trace_link(
    wp_core: CoreProcess, page: Page, artifact: Callable[[str], Path]
) -> None:
    open_panel(page, wp_core, "logs")
    expect(page.get_by_test_id("log-table")).to_be_visible()
    expect(page.locator(".nav .live")).to_have_text("● live")  # the live socket is up before we log
    name = unique("live")
    status, answer = call("POST", f"{wp_core.url}/wp/greet", {"name": name})
    assert status == 200
    row = page.locator("tr.log-row", has_text=f"wp-greet hello {name}")
    expect(row).to_have_count(1)
    assert_not_reloaded(page)
    expect(row.locator(".badge")).to_have_attribute("data-language", "python")
    expect(row).to_contain_text("Greet")
    page.screenshot(path=str(artifact("panels-logs")), full_page=True)
    # paused, new lines wait (counted) and show on resume
    page.get_by_test_id("log-pause").click()
    held = unique("held")
    assert call("POST", f"{wp_core.url}/wp/greet", {"name": held})[0] == 200
    expect(page.get_by_test_id("log-resume")).to_have_text(re.compile(r"^Resume live \([1-9]\d* waiting\)$"))
    expect(page.locator("tr.log-row", has_text=f"wp-greet hello {held}")).to_have_count(0)
    page.get_by_test_id("log-resume").click()
    expect(page.locator("tr.log-row", has_text=f"wp-greet hello {held}")).to_have_count(1)
    # the trace link opens that trace in the Traces panel
    link = row.get_by_test_id("log-trace-link")
    expect(link).to_have_text(answer["traceId"])
    link.click()
    expect(page.locator("main.panel")).to_have_attribute("data-current-panel", "traces")
    expect(page.get_by_test_id("trace-view")).to_have_attribute("data-trace-id", answer["traceId"])


def test_logs_panel_filters_and_pages_back_in_time(wp_core: CoreProcess, page: Page) -> None:
    assert call("POST", f"{wp_core.url}/wp/chatter", {"count": 260})[0] == 200
    eventually(
        lambda: call("GET", f"{wp_core.url}/__motia/logs?q=wp-chatter%20line%200&limit=5")[1]["logs"],
        "the chatter lines are in the log store",
    )
    open_panel(page, wp_core, "logs")
    page.get_by_test_id("log-text").fill("wp-chatter")
    page.get_by_test_id("log-filters").get_by_role("button", name="Apply").click()
    rows = page.locator("tr.log-row")
    expect(rows).to_have_count(200)  # one page
    expect(rows.first).to_contain_text("wp-chatter line 259")  # newest first
    page.get_by_test_id("log-older").click()
    expect(rows).to_have_count(260)
    expect(rows.last).to_contain_text("wp-chatter line 0")
    expect(page.get_by_test_id("log-older")).to_be_disabled()
    # level filter: the info lines go at warn+
    page.get_by_test_id("log-level").select_option("warn")
    page.get_by_test_id("log-filters").get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(0)
    expect(page.get_by_text("No log lines match.")).to_be_visible()
    # trace id filter, from the route the Traces panel can link to
    _, answer = call("POST", f"{wp_core.url}/wp/greet", {"name": unique("trace")})
    trace_id = answer["traceId"]
    eventually(
        lambda: len(call("GET", f"{wp_core.url}/__motia/logs?traceId={trace_id}")[1]["logs"]) >= 3,
        "the greet trace's three lines (python, ruby, typescript) are stored",
    )
    open_panel(page, wp_core, f"logs/trace/{trace_id}")
    expect(page.get_by_test_id("log-trace")).to_have_value(trace_id)
    languages = page.locator("tr.log-row .badge")
    expect(languages.first).to_be_visible()
    assert {b.get_attribute("data-language") for b in languages.all()} >= {"python", "ruby", "typescript"}
    assert all(link.inner_text() == trace_id for link in page.get_by_test_id("log-trace-link").all())


def test_state_panel_edits_and_deletes_a_value(
    wp_core: CoreProcess, page: Page, artifact: Callable[[str], Path]
) -> None:
    name = unique("ann")
    assert call("POST", f"{wp_core.url}/wp/greet", {"name": name})[0] == 200
    open_panel(page, wp_core, "state")
    page.get_by_test_id("state-groups").locator('button[data-group="wp-greetings"]').click()
    page.get_by_test_id("state-items").locator(f'tr[data-key="{name}"]').click()
    editor = page.get_by_test_id("state-editor")
    expect(editor).to_have_value(json.dumps({"greeting": f"hello {name}", "count": 1}, indent=2))
    # invalid JSON: said where, and Save is off
    editor.fill('{"greeting": "edited", }')
    expect(page.get_by_test_id("state-editor-error")).to_contain_text("invalid JSON at line 1")
    expect(page.get_by_test_id("state-editor-save")).to_be_disabled()
    editor.fill('{"greeting": "edited", "count": 2, "tags": ["x"]}')
    page.get_by_test_id("state-editor-save").click()
    edited = {"greeting": "edited", "count": 2, "tags": ["x"]}

    def stored() -> dict[str, Any]:
        return {i["key"]: i["value"] for i in call("GET", f"{wp_core.url}/__motia/state/wp-greetings")[1]["items"]}

    eventually(lambda: stored().get(name) == edited, "the edited value is stored")
    expect(page.get_by_test_id("state-items").locator(f'tr[data-key="{name}"]')).to_contain_text('"edited"')
    page.screenshot(path=str(artifact("panels-state")), full_page=True)
    # delete asks first; Cancel keeps it
    page.get_by_test_id("state-delete").click()
    page.get_by_role("button", name="Cancel").click()
    assert name in stored()
    page.get_by_test_id("state-delete").click()
    page.get_by_test_id("state-delete-yes").click()
    expect(page.get_by_test_id("state-items").locator(f'tr[data-key="{name}"]')).to_have_count(0)
    eventually(lambda: name not in stored(), "the key is deleted")
    # a new key in the open group, then one in a group that does not exist yet
    page.get_by_test_id("state-new-key").fill(f"{name}-new")
    page.get_by_test_id("state-new-value").fill('[1, "two", null]')
    page.get_by_test_id("state-new").get_by_role("button", name="Create").click()
    eventually(lambda: stored().get(f"{name}-new") == [1, "two", None], "the new key is stored")
    expect(page.get_by_test_id("state-item")).to_have_attribute("data-key", f"{name}-new")
    group = unique("wp-manual")
    page.get_by_test_id("state-new-group").fill(group)
    page.get_by_test_id("state-new-key").fill("k")
    page.get_by_test_id("state-new-value").fill('"plain text"')
    page.get_by_test_id("state-new").get_by_role("button", name="Create").click()
    expect(page.get_by_test_id("state-groups").locator(f'button[data-group="{group}"]')).to_be_visible()
    expect(page.get_by_test_id("state-group")).to_have_attribute("data-group", group)
    assert call("GET", f"{wp_core.url}/__motia/state/{group}")[1]["items"] == [{"key": "k", "value": "plain text"}]


def test_state_panel_follows_writes_from_handlers_and_the_api_live(
    wp_core: CoreProcess, page: Page, artifact: Callable[[str], Path]
) -> None:
    """Every write reaches the open panel through the live socket (http/live_state.py): the marker
    set by open_panel proves no reload happened, and no Refresh button is clicked."""
    first = unique("live")
    assert call("POST", f"{wp_core.url}/wp/greet", {"name": first})[0] == 200
    open_panel(page, wp_core, "state/wp-greetings")
    expect(page.locator(".nav .live")).to_have_text("● live")
    items = page.get_by_test_id("state-items")
    expect(items.locator(f'tr[data-key="{first}"]')).to_be_visible()
    items.locator(f'tr[data-key="{first}"]').click()
    # a Python handler's set: a new key
    second = unique("live")
    assert call("POST", f"{wp_core.url}/wp/greet", {"name": second})[0] == 200
    expect(items.locator(f'tr[data-key="{second}"]')).to_contain_text(f'"hello {second}"')
    # another client's PUT: the value changes in place, the open editor too
    edited = {"greeting": "from the API", "n": 3}
    assert call("PUT", f"{wp_core.url}/__motia/state/wp-greetings/{first}", edited)[0] == 200
    expect(items.locator(f'tr[data-key="{first}"]')).to_contain_text('"from the API"')
    expect(page.get_by_test_id("state-editor")).to_have_value(json.dumps(edited, indent=2))
    # a value too big to ride along is fetched
    big = {"blob": "b" * 5000}
    assert call("PUT", f"{wp_core.url}/__motia/state/wp-greetings/{second}", big)[0] == 200
    expect(items.locator(f'tr[data-key="{second}"]')).to_contain_text('"bbbbbbbb')
    # a JavaScript handler's delete
    assert call("POST", f"{wp_core.url}/wp/forget", {"group": "wp-greetings", "key": first})[0] == 200
    expect(items.locator(f'tr[data-key="{first}"]')).to_have_count(0)
    expect(items.locator(f'tr[data-key="{second}"]')).to_be_visible()
    # a Ruby handler's write, in the group opened next (a hash change, not a reload)
    page.evaluate("window.location.hash = '#/state/wp-audit'")
    expect(page.get_by_test_id("state-group")).to_have_attribute("data-group", "wp-audit")
    third = unique("live")
    assert call("POST", f"{wp_core.url}/wp/greet", {"name": third})[0] == 200
    expect(page.get_by_test_id("state-items").locator(f'tr[data-key="{third}"]')).to_contain_text('"ruby"')
    # a group created elsewhere joins the list; cleared by a handler, it empties and leaves it
    group = unique("wp-live")
    assert call("PUT", f"{wp_core.url}/__motia/state/{group}/k", [1, 2])[0] == 200
    button = page.get_by_test_id("state-groups").locator(f'button[data-group="{group}"]')
    expect(button).to_be_visible()
    button.click()
    expect(page.get_by_test_id("state-items").locator('tr[data-key="k"]')).to_contain_text("[1,2]")
    page.screenshot(path=str(artifact("panels-state-live")), full_page=True)
    assert call("POST", f"{wp_core.url}/wp/forget", {"group": group})[0] == 200
    expect(page.get_by_text("This group is empty.")).to_be_visible()
    expect(button).to_have_count(0)
    assert_not_reloaded(page)


def test_streams_panel_follows_a_group_live(wp_core: CoreProcess, page: Page, artifact: Callable[[str], Path]) -> None:
    first = unique("pinned")
    assert call("POST", f"{wp_core.url}/wp/greet", {"name": first})[0] == 200
    eventually(
        lambda: any(i["id"] == first for i in call("GET", f"{wp_core.url}/__motia/streams/group/wpBoard/main")[1]),
        "the TypeScript step pinned the first item",
    )
    open_panel(page, wp_core, "streams")
    page.get_by_test_id("stream-names").locator('button[data-stream="wpBoard"]').click()
    page.get_by_test_id("stream-groups").locator('button[data-group="main"]').click()
    expect(page.get_by_test_id("stream-socket")).to_have_attribute("data-status", "open")
    items = page.get_by_test_id("stream-items")
    expect(items.locator(f'tr[data-item-id="{first}"]')).to_be_visible()  # from the join's sync
    second = unique("pinned")
    assert call("POST", f"{wp_core.url}/wp/greet", {"name": second})[0] == 200
    expect(items.locator(f'tr[data-item-id="{second}"]')).to_contain_text(f'"name":"{second}"')  # a create, live
    assert_not_reloaded(page)
    items.locator(f'tr[data-item-id="{second}"]').click()
    expect(page.get_by_test_id("stream-item")).to_contain_text(second)
    page.screenshot(path=str(artifact("panels-streams")), full_page=True)


def poison_letters(core: CoreProcess) -> list[dict[str, Any]]:
    return [d for d in call("GET", f"{core.url}/__motia/dlq")[1]["deadLetters"] if d["topic"] == "wp.poison"]


def test_queue_panel_replays_a_failing_steps_dead_letter(
    wp_core: CoreProcess, page: Page, artifact: Callable[[str], Path]
) -> None:
    open_panel(page, wp_core, "queue")
    subscriptions = page.get_by_test_id("queue-subscriptions")
    expect(subscriptions.locator('tr[data-topic="wp.poison"]')).to_contain_text("Swallow")
    kept, purged = unique("p"), unique("p")
    for pill in (kept, purged):
        assert call("POST", f"{wp_core.url}/emit", {"topic": "wp.poison", "data": {"pill": pill}})[0] == 200
    try:
        eventually(
            lambda: len(poison_letters(wp_core)) >= 2, "both pills are dead letters (1 try + 1 retry each)", timeout=45
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; core output:\n{wp_core.output()}") from None
    letters = [d["id"] for d in poison_letters(wp_core)]
    by_pill = {call("GET", f"{wp_core.url}/__motia/dlq/{i}")[1]["data"]["pill"]: i for i in letters}
    listing = page.get_by_test_id("dlq-list")
    # the letters arrive through the live "queue" message: no reload, no click on Refresh
    expect(listing.locator(f'tr[data-letter-id="{by_pill[kept]}"]')).to_contain_text(f"cannot swallow {kept}")
    expect(listing.locator(f'tr[data-letter-id="{by_pill[purged]}"]')).to_be_visible()
    assert_not_reloaded(page)
    listing.locator(f'tr[data-letter-id="{by_pill[kept]}"]').click()
    chain = page.get_by_test_id("dlq-failures").locator("li")
    expect(chain).to_have_count(2)
    for n, item in enumerate(chain.all(), start=1):
        expect(item).to_have_attribute("data-attempt", str(n))
        expect(item).to_contain_text(f"RuntimeError: cannot swallow {kept}")
        expect(item).to_contain_text("python pid")
    page.screenshot(path=str(artifact("panels-queue-dlq")), full_page=True)
    assert call("POST", f"{wp_core.url}/wp/cure", {})[0] == 200  # the JavaScript step fixes the cause
    page.get_by_test_id("dlq-replay").click()
    page.get_by_test_id("dlq-replay-yes").click()
    expect(page.get_by_test_id("queue-notice")).to_have_text(f"replayed {by_pill[kept]}")
    expect(listing.locator(f'tr[data-letter-id="{by_pill[kept]}"]')).to_have_count(0)
    eventually(
        lambda: (
            {"key": kept, "value": "swallowed"} in call("GET", f"{wp_core.url}/__motia/state/wp-poison")[1]["items"]
        ),
        "the replayed letter ran to success",
    )
    # purge one from its details, behind a confirm
    listing.locator(f'tr[data-letter-id="{by_pill[purged]}"]').click()
    page.get_by_test_id("dlq-purge").click()
    page.get_by_test_id("dlq-purge-yes").click()
    expect(listing.locator(f'tr[data-letter-id="{by_pill[purged]}"]')).to_have_count(0)
    assert by_pill[purged] not in {d["id"] for d in poison_letters(wp_core)}


def test_cron_panel_triggers_a_job_and_shows_its_outcome(
    wp_core: CoreProcess, page: Page, artifact: Callable[[str], Path]
) -> None:
    open_panel(page, wp_core, "cron")
    row = page.get_by_test_id("cron-jobs").locator('tr[data-step="Nightly"]')
    expect(row).to_contain_text("17 3 * * *")
    next_runs = row.locator("td").nth(2).locator("div")
    expect(next_runs).to_have_count(3)  # the next three runs, each with how far off it is
    [job] = [j for j in call("GET", f"{wp_core.url}/__motia/cron")[1]["jobs"] if j["step"] == "Nightly"]
    gaps = [b - a for a, b in zip(job["nextRuns"], job["nextRuns"][1:], strict=False)]
    assert all(abs(gap - 86_400_000) <= 3_600_000 for gap in gaps) and len(gaps) == 2  # daily (DST: ±1 h)
    for run in next_runs.all():
        expect(run).to_contain_text(re.compile(r"\(in \d+ (s|min|h|d)"))
    row.get_by_test_id("cron-trigger").click()
    triggered = row.get_by_test_id("cron-triggered").locator("a")
    expect(triggered).to_have_text(re.compile(r"^\S+$"))
    trace_id = triggered.inner_text()
    expect(row.get_by_test_id("cron-last")).to_have_attribute("data-status", "completed")
    expect(row.get_by_test_id("cron-last")).to_contain_text(trace_id)
    stored = eventually(
        lambda: {i["key"]: i["value"] for i in call("GET", f"{wp_core.url}/__motia/state/wp-cron")[1]["items"]}.get(
            "nightly"
        ),
        "the triggered run wrote its state",
    )
    assert stored == {"traceId": trace_id}
    page.screenshot(path=str(artifact("panels-cron")), full_page=True)
    triggered.click()
    expect(page.get_by_test_id("trace-view")).to_have_attribute("data-trace-id", trace_id)


def test_runners_panel_lists_every_runner_with_its_pid(
    wp_core: CoreProcess, page: Page, artifact: Callable[[str], Path]
) -> None:
    pids = wp_core.runner_pids()
    assert set(pids) == {"node", "python", "ruby"}
    open_panel(page, wp_core, "runners")
    table = page.get_by_test_id("runner-table")
    for runtime, pid in pids.items():
        row = table.locator(f'tr[data-runtime="{runtime}"]')
        expect(row.locator('[data-field="pid"]')).to_have_text(str(pid))
        expect(row.locator('[data-field="state"]')).to_have_text("ready")
        expect(row.locator('[data-field="restarts"]')).to_have_text("0")
        expect(row.locator('[data-field="uptime"]')).to_have_text(re.compile(r"^\d+ (s|min|h|d)"))
    # one badge per language the runner's declaration loads: Node serves both TS and JS
    expect(table.locator('tr[data-runtime="node"] .badge')).to_have_text(["TS", "JS"])
    expect(table.locator('tr[data-runtime="ruby"] .badge')).to_have_text(["RB"])
    page.screenshot(path=str(artifact("panels-runners")), full_page=True)


def _relabel(page: Page, pattern: str, change: Callable[[Any], None]) -> None:
    """Answer `pattern` with the core's real answer as `change` rewrites it (the languages a core
    with runner plugins would report; nothing else is invented)."""

    def handle(route: Any) -> None:
        response = route.fetch()
        doc = response.json()
        change(doc)
        route.fulfill(response=response, json=doc)

    page.route(pattern, handle)


def _steps_as(doc: Any, languages: dict[str, Any]) -> None:
    for step in doc["steps"]:
        if step["name"] in languages:
            step["language"] = languages[step["name"]]


def _background(locator: Any) -> str:
    return str(locator.evaluate("e => getComputedStyle(e).backgroundColor"))


def test_a_language_the_workbench_does_not_know_gets_a_readable_badge_everywhere(
    wp_core: CoreProcess, page: Page, artifact: Callable[[str], Path]
) -> None:
    """Go (or any plugin's language) in Flows, Endpoints, Traces and Runners: its name on the badge,
    one colour derived from it in every panel; a step without a language shows "?", never "undefined"."""
    languages = {"Greet": "go", "Cure": None, "Forget": "zig"}
    _relabel(page, "**/__motia/steps", lambda d: _steps_as(d, languages))

    def flows_as(doc: Any) -> None:
        for flow in doc["flows"]:
            _steps_as(flow, languages)

    _relabel(page, "**/__motia/flows", flows_as)

    def spans_as_go(doc: Any) -> None:
        for span in doc.get("spans", []):
            if span["step"] == "Greet":
                span["language"] = "go"

    _relabel(page, "**/__motia/traces/*", spans_as_go)

    def go_runner(doc: Any) -> None:
        doc["runners"].append(
            {**doc["runners"][0], "runtime": "go", "language": "go", "languages": ["go"], "pid": 4242}
        )

    _relabel(page, "**/__motia/runners", go_runner)
    _, answer = call("POST", f"{wp_core.url}/wp/greet", {"name": unique("go")})

    open_panel(page, wp_core, "flows/wp")
    go = page.locator('.step-node[data-step="Greet"] .badge')
    expect(go).to_have_text("go")
    expect(go).to_have_attribute("data-language", "go")
    color = _background(go)
    known = _background(page.locator('.step-node[data-step="PinGreeting"] .badge'))
    assert color not in ("", "rgba(0, 0, 0, 0)", known), (color, known)
    missing = page.locator('.step-node[data-step="Cure"] .badge')
    expect(missing).to_have_text("?")
    expect(missing).to_have_attribute("title", "unknown language")
    assert color != _background(missing)  # not the neutral badge of "no language": a colour of its own
    zig = page.locator('.step-node[data-step="Forget"] .badge')
    expect(zig).to_have_text("zig")
    assert _background(zig) not in (color, _background(missing))  # another name, another colour
    expect(page.locator("main.panel")).not_to_contain_text("undefined")

    page.evaluate("window.location.hash = '#/endpoints'")
    badge = page.locator('[data-endpoint="POST /wp/greet"] .badge')
    expect(badge).to_have_text("go")
    assert _background(badge) == color
    expect(page.locator('[data-endpoint="POST /wp/cure"] .badge')).to_have_text("?")
    expect(page.locator("main.panel")).not_to_contain_text("undefined")

    page.evaluate(f"window.location.hash = '#/traces/{answer['traceId']}'")
    row = page.locator('.timeline-row[data-span-step="Greet"]').first
    expect(row.locator(".badge")).to_have_text("go")
    assert _background(row.locator(".badge")) == color
    assert _background(row.locator(".timeline-bar")) == color  # the bar wears the language's colour too
    expect(page.locator("main.panel")).not_to_contain_text("undefined")

    page.evaluate("window.location.hash = '#/runners'")
    runner = page.get_by_test_id("runner-table").locator('tr[data-runtime="go"] .badge')
    expect(runner).to_have_text("go")
    assert _background(runner) == color
    page.screenshot(path=str(artifact("panels-unknown-language")), full_page=True)
    assert_not_reloaded(page)
