"""The Workbench with a real Go runner (tests/fixtures/go_mixed: TypeScript, Go and Python steps), in a
real browser: a language the UI has no entry for shows its name on its own colour in Flows,
Endpoints, the Traces timeline and Runners (docs/workbench.md#languages)."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from motia_core.workbench import STATIC_DIR
from tests.conftest import CoreProcess, copy_fixture

pytest_plugins = ("tests.browser",)  # the browser, page and artifact fixtures

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(shutil.which("go") is None, reason="needs Go (apt golang-go, installed by `make install`)"),
]


@pytest.fixture(scope="module")
def go_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreProcess]:
    assert (STATIC_DIR / "index.html").is_file(), "the Workbench bundle is not built: run `make install`"
    core = CoreProcess(copy_fixture("go_mixed", tmp_path_factory.mktemp("wg")))
    core.wait_ready(180)  # the Go runner compiles the steps first
    yield core
    core.stop()


def _background(locator: Locator) -> str:
    return str(locator.evaluate("e => getComputedStyle(e).backgroundColor"))


def _post(url: str, doc: object) -> Any:
    req = urllib.request.Request(url, json.dumps(doc).encode(), {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_go_steps_wear_a_go_badge_in_every_panel(
    go_core: CoreProcess, page: Page, artifact: Callable[[str], Path]
) -> None:
    trace_id = _post(f"{go_core.url}/go-orders", {"item": "tea"})["traceId"]
    page.goto(f"{go_core.url}/__workbench/#/flows/go-orders")
    node = page.locator('.step-node[data-step="PriceGoOrder"]')
    expect(node.locator(".badge")).to_have_text("go")
    color = _background(node.locator(".badge"))
    typescript = _background(page.locator('.step-node[data-step="StartGoOrder"] .badge'))
    python = _background(page.locator('.step-node[data-step="CloseGoOrder"] .badge'))
    assert color not in (typescript, python, "rgba(0, 0, 0, 0)"), (color, typescript, python)
    expect(page.locator("main.panel")).not_to_contain_text("undefined")
    page.screenshot(path=str(artifact("workbench-go-flows")), full_page=True)

    page.evaluate("window.location.hash = '#/endpoints'")
    badge = page.locator('[data-endpoint="GET /go-orders/:id"] .badge')
    expect(badge).to_have_text("go")
    assert _background(badge) == color

    page.evaluate(f"window.location.hash = '#/traces/{trace_id}'")
    row = page.locator('.timeline-row[data-span-step="PriceGoOrder"]').first
    expect(row.locator(".badge")).to_have_text("go")
    assert _background(row.locator(".timeline-bar")) == color
    expect(page.locator('.timeline-row[data-span-step="CloseGoOrder"]').first).to_be_visible()  # Go emitted it
    expect(page.locator("main.panel")).not_to_contain_text("undefined")

    page.evaluate("window.location.hash = '#/runners'")
    runner = page.get_by_test_id("runner-table").locator('tr[data-runtime="go"]')
    expect(runner.locator(".badge")).to_have_text("go")
    assert _background(runner.locator(".badge")) == color
    expect(runner.locator('[data-field="state"]')).to_have_text("ready")
    page.screenshot(path=str(artifact("workbench-go-runners")), full_page=True)
