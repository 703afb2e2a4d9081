"""Browser fixtures: playwright (PyPI) driving Debian's chromium (/usr/bin/chromium; `make install` puts
it there with apt). Never `playwright install`: its download host is unreachable and not needed.

Use from a test module: ``pytest_plugins = ("tests.browser",)`` brings the ``browser``, ``page``
and ``artifact`` fixtures. Importing them works too: the PYTEST_DONT_REWRITE marker in this docstring
keeps pytest from objecting that the module was imported before it could rewrite it (its asserts
carry their own messages). ``page`` fails the test on an uncaught page error and saves a screenshot to
tests/artifacts/ at the end.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path(os.environ.get("MOTIA_CHROMIUM", "/usr/bin/chromium"))
VIEWPORT = {"width": 1440, "height": 900}


def artifact_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".png")


@pytest.fixture
def artifact() -> Callable[[str], Path]:
    """artifact(name) -> tests/artifacts/<name>.png, for screenshots a test takes itself."""
    return artifact_path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        found = shutil.which("chromium")
        raise AssertionError(
            f"no Chromium at {CHROMIUM}{f' (one is at {found}: set MOTIA_CHROMIUM)' if found else ''}: "
            "run `make install` (it installs Debian's chromium) or `apt-get install -y chromium`"
        )
    # *.test resolves to loopback so a test can play a browser that reaches the core by another
    # name (the guard judges the Host header); nothing leaves the machine
    args = ["--host-resolver-rules=MAP *.test 127.0.0.1"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root without it
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(20_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(f"{exc.name}: {exc.message}"))
    try:
        yield opened
    finally:
        try:
            opened.screenshot(path=str(artifact_path(request.node.name)), full_page=True)
        finally:
            context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
