"""The public surface of the SDK cannot drift silently (after httpx's test_exported_members)."""

from __future__ import annotations

import types

import motia
import motia.testing
import motia.transport


def _public_names(module: types.ModuleType) -> list[str]:
    return sorted(
        name
        for name in vars(module)
        if not name.startswith("_") and not isinstance(vars(module)[name], types.ModuleType)
    )


def test_all_is_sorted_and_complete() -> None:
    assert motia.__all__ == sorted(motia.__all__)
    assert sorted(set(motia.__all__) - {"__version__"}) == _public_names(motia)
    for name in motia.__all__:
        assert getattr(motia, name) is not None


def test_submodule_exports_are_sorted_and_exist() -> None:
    for module in (motia.testing, motia.transport):
        assert module.__all__ == sorted(module.__all__)
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_version_is_a_string() -> None:
    assert isinstance(motia.__version__, str) and motia.__version__.count(".") == 2
