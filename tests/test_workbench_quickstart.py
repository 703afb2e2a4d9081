"""The Workbench on the project `make serve` serves (examples/quickstart), in a real browser: what a new
user sees first. The flow graph has the quickstart's four steps in three languages and its two topic
edges, a call to POST /messages shows up live as a trace across the three languages, and every
panel opens on this project without an error (docs/workbench.md)."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from motia_core.workbench import STATIC_DIR
from tests.conftest import ROOT, CoreProcess

pytest_plugins = ("tests.browser",)  # the browser, page and artifact fixtures

pytestmark = pytest.mark.timeout(180)

QUICKSTART = ROOT / "examples" / "quickstart"
PANELS = ("flows", "endpoints", "traces", "logs", "state", "streams", "queue", "cron", "runners")
LOADED = {  # what a panel shows once the endpoints it reads answered, where the quickstart has something
    "flows": ".react-flow__node .step-node",
    "traces": "tr[data-trace-id]",
    "logs": "tr.log-row",
    "queue": '[data-testid="queue-subscriptions"] tr[data-topic="message.sent"]',
    "runners": '[data-testid="runner-table"] tr[data-runtime]',
}


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    assert (STATIC_DIR / "index.html").is_file(), "the Workbench bundle is not built: run `make install`"
    project = tmp_path_factory.mktemp("qs") / "quickstart"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns(".motia", "node_modules", "__pycache__"))
    core = CoreProcess(project)
    core.wait_ready(60)
    yield core
    core.stop()


def post_message(core: CoreProcess, text: str) -> str:
    request = urllib.request.Request(
        f"{core.url}/messages",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        trace_id: str = json.loads(resp.read())["traceId"]
    return trace_id


def test_the_quickstart_flow_and_a_live_trace_across_its_languages(quickstart: CoreProcess, page: Page) -> None:
    page.goto(f"{quickstart.url}/__workbench/#/flows/messaging")
    nodes = page.locator(".react-flow__node .step-node")
    expect(nodes).to_have_count(4)
    seen = {n.get_attribute("data-step"): n.get_attribute("data-language") for n in nodes.all()}
    assert seen == {
        "SendMessage": "typescript",
        "GetMessage": "typescript",
        "ProcessMessage": "python",
        "NotifyUser": "javascript",
    }
    for topic in ("message.sent", "message.processed"):
        expect(page.locator(".react-flow__edge-text", has_text=topic)).to_have_count(1)

    page.goto(f"{quickstart.url}/__workbench/#/traces")
    expect(page.locator("nav.nav .live")).to_have_text("● live")  # the live socket is up before the call
    trace_id = post_message(quickstart, "hello from the browser test")
    row = page.locator(f'tr[data-trace-id="{trace_id}"]')
    expect(row).to_be_visible(timeout=20_000)  # arrived without a reload
    row.click()
    for step in ("SendMessage", "ProcessMessage", "NotifyUser"):
        expect(page.locator(f'.timeline-row[data-span-step="{step}"]').first).to_be_visible(timeout=30_000)
    languages = {r.get_attribute("data-language") for r in page.locator(".timeline-row").all()}
    assert {"typescript", "python", "javascript"} <= languages


def test_every_panel_opens_on_the_quickstart(quickstart: CoreProcess, page: Page) -> None:
    post_message(quickstart, "for the logs and traces panels")
    page.goto(f"{quickstart.url}/__workbench/#/")
    expect(page.locator("nav.nav")).to_be_visible()
    for panel in PANELS:
        page.locator(f'nav.nav a[data-panel="{panel}"]').click()
        expect(page.locator("main.panel")).to_have_attribute("data-current-panel", panel)
        if panel in LOADED:
            expect(page.locator(LOADED[panel]).first).to_be_visible()
        expect(page.locator("main.panel [role=alert]")).to_have_count(0)  # every endpoint it reads answered
