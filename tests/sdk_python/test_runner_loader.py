"""Importing step files: module names, nested relative imports (Motia #736), errors, hot reload."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from motia_runner.loader import LoadedStep, LoadFailure, StepLoader, StepSource, sanitize


@pytest.fixture(autouse=True)
def _isolated_imports() -> Iterator[None]:
    path, hooks, modules = list(sys.path), list(sys.path_hooks), dict(sys.modules)
    yield
    sys.path[:] = path
    sys.path_hooks[:] = hooks
    sys.path_importer_cache.clear()
    for name in set(sys.modules) - set(modules):
        del sys.modules[name]


def _write(root: Path, relative: str, source: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


def _source(root: Path, relative: str) -> StepSource:
    return StepSource(step_id=relative, path=str(root / relative), relative_path=relative)


def _load(loader: StepLoader, root: Path, *relatives: str) -> tuple[dict[str, LoadedStep], dict[str, LoadFailure]]:
    loaded, failed = loader.load([_source(root, relative) for relative in relatives])
    return {s.step_id: s for s in loaded}, {f.step_id: f for f in failed}


EVENT = 'config = {"type": "event", "name": "E", "subscribes": [], "emits": []}\n'


def test_sanitize() -> None:
    assert sanitize("my-api_step") == "my_api_step"
    assert sanitize("01-intro") == "_01_intro"
    assert sanitize("class") == "class_"
    assert sanitize("foo.step") == "foo_step"


def test_nested_relative_imports(tmp_path: Path) -> None:
    _write(tmp_path, "steps/services/pricing.py", "def price(x):\n    return x * 2\n")
    _write(tmp_path, "steps/billing/models.py", "NAME = 'charge'\n")
    _write(
        tmp_path,
        "steps/billing/charge_step.py",
        """
        from ..services.pricing import price
        from .models import NAME
        from steps.services import pricing as absolute
        config = {"type": "event", "name": NAME, "subscribes": [], "emits": []}
        async def handler(data, ctx):
            return price(data), __name__, __package__, absolute.price is price
        """,
    )
    loaded, failed = _load(StepLoader(str(tmp_path)), tmp_path, "steps/billing/charge_step.py")
    assert failed == {}
    step = loaded["steps/billing/charge_step.py"]
    assert step.module_name == "steps.billing.charge_step"
    assert step.config["name"] == "charge"
    assert step.handler is not None and step.handler.is_async
    module = sys.modules["steps.billing.charge_step"]
    assert module.__package__ == "steps.billing"


def test_names_that_are_not_identifiers(tmp_path: Path) -> None:
    _write(tmp_path, "steps/01-intro/__init__.py", "INTRO = 'pkg'\n")
    _write(tmp_path, "steps/01-intro/hello-world_step.py", "from . import INTRO\n" + EVENT + "X = INTRO\n")
    _write(tmp_path, "steps/my-dashed_step.py", EVENT)
    loaded, failed = _load(
        StepLoader(str(tmp_path)), tmp_path, "steps/01-intro/hello-world_step.py", "steps/my-dashed_step.py"
    )
    assert failed == {}
    assert loaded["steps/01-intro/hello-world_step.py"].module_name == "steps._01_intro.hello_world_step"
    assert loaded["steps/my-dashed_step.py"].module_name == "steps.my_dashed_step"
    assert sys.modules["steps._01_intro.hello_world_step"].X == "pkg"


def test_colliding_sanitized_names_stay_distinct(tmp_path: Path) -> None:
    _write(tmp_path, "steps/a-b_step.py", EVENT + "WHO = 'dash'\n")
    _write(tmp_path, "steps/a_b_step.py", EVENT + "WHO = 'underscore'\n")
    loaded, _ = _load(StepLoader(str(tmp_path)), tmp_path, "steps/a-b_step.py", "steps/a_b_step.py")
    names = {loaded[k].module_name for k in loaded}
    assert names == {"steps.a_b_step", "steps.a_b_step_2"}


def test_failures_name_the_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "steps/missing_step.py", "import os\nimport not_a_module_anywhere\n" + EVENT)
    _write(tmp_path, "steps/syntax_step.py", "config = {\ndef handler(:\n")
    _write(tmp_path, "steps/raises_step.py", "def boom():\n    raise RuntimeError('at import')\nboom()\n")
    _write(tmp_path, "steps/noconfig_step.py", "async def handler(d, c): pass\n")
    _write(tmp_path, "steps/listconfig_step.py", "config = []\n")
    _write(tmp_path, "steps/exits_step.py", "import sys\nsys.exit(3)\n")
    _write(tmp_path, "steps/ok_step.py", EVENT)
    files = [
        "steps/missing_step.py",
        "steps/syntax_step.py",
        "steps/raises_step.py",
        "steps/noconfig_step.py",
        "steps/listconfig_step.py",
        "steps/exits_step.py",
        "steps/ok_step.py",
    ]
    loaded, failed = _load(StepLoader(str(tmp_path)), tmp_path, *files)
    assert list(loaded) == ["steps/ok_step.py"]
    missing = failed["steps/missing_step.py"]
    assert missing.error_type == "ModuleNotFoundError"
    assert missing.message == "No module named 'not_a_module_anywhere' (steps/missing_step.py:2)"
    assert 'missing_step.py", line 2, in <module>' in missing.stack and "importlib" not in missing.stack
    assert failed["steps/syntax_step.py"].error_type == "SyntaxError"
    assert "(steps/syntax_step.py:" in failed["steps/syntax_step.py"].message
    raises = failed["steps/raises_step.py"]
    assert raises.error_type == "RuntimeError" and raises.message == "at import (steps/raises_step.py:2)"
    assert failed["steps/noconfig_step.py"].message == "no `config` export"
    assert failed["steps/listconfig_step.py"].message == "`config` must be a dict, got list"
    assert failed["steps/exits_step.py"].error_type == "SystemExit"
    assert "steps.missing_step" not in sys.modules


def test_config_that_is_not_json(tmp_path: Path) -> None:
    _write(
        tmp_path, "steps/bad_step.py", "import datetime\nconfig = {'type': 'event', 'when': datetime.date.today()}\n"
    )
    _, failed = _load(StepLoader(str(tmp_path)), tmp_path, "steps/bad_step.py")
    assert failed["steps/bad_step.py"].error_type == "ConfigError"
    assert failed["steps/bad_step.py"].message == "config.when: date is not JSON"


def test_handler_and_middleware_discovery(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "steps/api_step.py",
        """
        async def mw(req, ctx, next_fn):
            return await next_fn()
        def sync_mw(req, ctx, next_fn):
            return next_fn()
        config = {"type": "api", "name": "A", "path": "/", "method": "GET", "emits": [],
                  "middleware": [mw, sync_mw, "not callable"]}
        def handler(req, ctx):
            return {"status": 200, "body": None}
        """,
    )
    _write(tmp_path, "steps/noop_step.py", 'config = {"type": "noop", "name": "N"}\n')
    loaded, _ = _load(StepLoader(str(tmp_path)), tmp_path, "steps/api_step.py", "steps/noop_step.py")
    api = loaded["steps/api_step.py"]
    assert [m.is_async for m in api.middleware] == [True, False]
    assert api.handler is not None and not api.handler.is_async
    assert loaded["steps/noop_step.py"].handler is None


def test_reload_picks_up_edited_steps_and_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # let a bytecode cache exist, to prove it is not used
    _write(tmp_path, "steps/lib/util.py", "VALUE = 1\n")
    _write(tmp_path, "steps/reload_step.py", "from .lib.util import VALUE\n" + EVENT + "A = 'a'\nB = VALUE\n")
    loader = StepLoader(str(tmp_path))
    loaded, _ = _load(loader, tmp_path, "steps/reload_step.py")
    first = sys.modules["steps.reload_step"]
    assert (first.A, first.B) == ("a", 1)
    # Same size, same second: a bytecode cache keyed on mtime+size would serve the old code.
    _write(tmp_path, "steps/lib/util.py", "VALUE = 2\n")
    _write(tmp_path, "steps/reload_step.py", "from .lib.util import VALUE\n" + EVENT + "A = 'b'\nB = VALUE\n")
    loaded, failed = _load(loader, tmp_path, "steps/reload_step.py")
    second = sys.modules["steps.reload_step"]
    assert failed == {} and second is not first
    assert (second.A, second.B) == ("b", 2)


def test_unchanged_helpers_stay_shared_across_loads(tmp_path: Path) -> None:
    _write(tmp_path, "steps/lib/pool.py", "CONNECTIONS = []\n")
    _write(tmp_path, "steps/a_step.py", "from .lib import pool\n" + EVENT)
    _write(tmp_path, "steps/b_step.py", "from .lib import pool\n" + EVENT)
    loader = StepLoader(str(tmp_path))
    _load(loader, tmp_path, "steps/a_step.py")
    first = sys.modules["steps.a_step"]
    _load(loader, tmp_path, "steps/b_step.py")  # a second batch, nothing edited
    assert sys.modules["steps.b_step"].pool is first.pool
    _load(loader, tmp_path, "steps/a_step.py")  # re-requested but unchanged: re-executed, same helper
    assert sys.modules["steps.a_step"] is not first and sys.modules["steps.a_step"].pool is first.pool


def test_project_root_goes_first_on_sys_path(tmp_path: Path) -> None:
    _write(tmp_path, "helpers/shared.py", "X = 'top-level helper'\n")
    _write(tmp_path, "steps/uses_helper_step.py", "from helpers.shared import X\n" + EVENT)
    _, failed = _load(StepLoader(str(tmp_path)), tmp_path, "steps/uses_helper_step.py")
    assert failed == {}
    assert sys.path[0] == str(tmp_path)
