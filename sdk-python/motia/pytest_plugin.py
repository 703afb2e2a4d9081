"""The motia pytest plugin: end-to-end tests against a real ``motia-core serve`` (docs/testing.md).

Registered through the ``pytest11`` entry point of the motia-core distribution, so installing motia-core
is enough. It is inert until a test asks for the ``motia_app`` fixture: it only adds an ini option and a
marker. The fixture starts the core on the project (with its real runners) on a free loopback port, waits
until it listens, and stops it (SIGTERM; the core stops its runners) when the module's tests are done::

    # pytest.ini
    [pytest]
    motia_project = .            # relative to the ini file's directory

    # tests/test_orders.py
    def test_order_ships(motia_app):
        res = motia_app.post("/orders", {"sku": "A1"})
        assert res.status == 201
        assert motia_app.wait_for_state("shipments", res.body["id"])["carrier"] == "ground"

``@pytest.mark.motia(dir=..., args=[...], env={...})`` on a module (``pytestmark``) overrides the ini
options for that module's core.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._motia_app import MotiaApp, MotiaAppError

INI_PROJECT = "motia_project"
INI_ARGS = "motia_serve_args"
INI_READY_TIMEOUT = "motia_ready_timeout"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        INI_PROJECT, "motia project directory for the motia_app fixture, relative to the ini file", default="."
    )
    parser.addini(INI_ARGS, "extra `motia-core serve` arguments for the motia_app fixture", type="args", default=[])
    parser.addini(INI_READY_TIMEOUT, "seconds motia_app waits for the core to listen (default 60)", default="60")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "motia(dir=None, args=(), env=None): the project directory, extra `serve` arguments and environment "
        "of the module's motia_app core",
    )


def _project_dir(config: pytest.Config, marker: pytest.Mark | None) -> Path:
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    configured: Any = marker.kwargs.get("dir") if marker is not None else None
    if configured is None:
        configured = config.getini(INI_PROJECT)
    path = Path(str(configured))
    return path if path.is_absolute() else base / path


@pytest.fixture(scope="module")
def motia_app(request: pytest.FixtureRequest) -> Iterator[MotiaApp]:
    """A running motia-core on the project (see the module docstring); one per test module."""
    config = request.config
    marker = request.node.get_closest_marker("motia")
    project = _project_dir(config, marker)
    args = [*config.getini(INI_ARGS), *(marker.kwargs.get("args", ()) if marker is not None else ())]
    env = dict(marker.kwargs.get("env") or {}) if marker is not None else {}
    raw_timeout = config.getini(INI_READY_TIMEOUT)
    try:
        ready_timeout = float(raw_timeout)
    except ValueError:
        raise pytest.UsageError(f"{INI_READY_TIMEOUT} = {raw_timeout!r}: expected a number of seconds") from None
    app = MotiaApp.start(project, args=args, env=env, ready_timeout=ready_timeout)
    try:
        yield app
    finally:
        app.stop()


__all__ = ["MotiaApp", "MotiaAppError", "motia_app"]
