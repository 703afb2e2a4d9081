"""http/ takes its dependencies explicitly: no module of it imports the core object's module
(motia_core.app), not even for typing; build_app reads the core through http/served.py's Protocol."""

from __future__ import annotations

import ast
from pathlib import Path

import motia_core.http

HTTP_DIR = Path(motia_core.http.__file__).parent


def imported_modules(source: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_http_module_imports_the_core_module() -> None:
    modules = sorted(HTTP_DIR.glob("*.py"))
    assert len(modules) > 10, modules  # the package was found
    offenders = {
        path.name: sorted(m for m in imported_modules(path) if m == "motia_core.app" or m.startswith("motia_core.app."))
        for path in modules
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_route_modules_take_pieces_not_the_core() -> None:
    """Only build_app (and the two modules it hands the Protocol to) sees the whole core."""
    takes_core = {
        path.name for path in HTTP_DIR.glob("*.py") if "ServedCore" in path.read_text() and path.name != "served.py"
    }
    assert takes_core <= {"app.py", "streams.py", "live_routes.py"}, takes_core
