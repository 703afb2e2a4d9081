"""The script the core runs: ``<python> <path>/motia_runner/bootstrap.py``.

The interpreter may be the project's virtualenv Python (``<project>/.venv``, Motia's
``<project>/python_modules``) rather than the core's, so this file only uses the standard library
until it has arranged ``sys.path``:

1. take this folder off ``sys.path`` (running a file puts its folder first, and our module names
   must not shadow anything);
2. append each folder of ``MOTIA_CORE_SITE_PACKAGES`` (``os.pathsep``-separated) with
   ``site.addsitedir``, *after* the project's own packages, so the project's versions win;
3. pin ``motia_runner``, ``motia`` (the SDK) and ``motia_core`` (for its generated protobuf code) to
   the copies that ship with this runner, so a same-named package in the project cannot shadow them;
4. check that the transport's library (hpack, or grpc with MOTIA_RUNNER_TRANSPORT=grpc) and the
   protobuf code import; if not, explain which interpreter lacks what and exit 3.
"""

from __future__ import annotations

import os
import site
import sys

EXIT_ENVIRONMENT = 3
MIN_PYTHON = (3, 10)


def _interpreter() -> str:
    version = ".".join(str(part) for part in sys.version_info[:3])
    return f"{sys.executable} (Python {version})"


def _fail(message: str) -> None:
    sys.stderr.write(f"motia runner: {message}\n")
    sys.stderr.flush()
    sys.exit(EXIT_ENVIRONMENT)


def _first_dir(candidates: list[str], marker: str) -> str | None:
    for candidate in candidates:
        if os.path.exists(os.path.join(candidate, marker)):
            return os.path.abspath(candidate)
    return None


def _pin_package(name: str, directory: str, run_init: bool = True) -> None:
    """Make ``import name`` load the package in ``directory`` whatever else is on sys.path."""
    import importlib.machinery
    import importlib.util

    init = os.path.join(directory, "__init__.py")
    if run_init and os.path.isfile(init):
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[directory])
    else:  # a bare package: its submodules import, its __init__ (if any) does not run
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [directory]
    if spec is None:  # pragma: no cover - spec_from_file_location only fails for odd suffixes
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    if spec.loader is not None:
        spec.loader.exec_module(module)


def prepare() -> None:
    """Arrange sys.path and our packages; exit 3 with an explanation when the transport is unusable."""
    if sys.version_info < MIN_PYTHON:
        _fail(f"{_interpreter()} is too old: the Python runner needs Python 3.10 or newer")

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    for directory in os.environ.get("MOTIA_CORE_SITE_PACKAGES", "").split(os.pathsep):
        if directory:
            site.addsitedir(directory)

    # Layouts: a source checkout (runners/python, sdk-python, core side by side) or an installed
    # wheel (motia_runner, motia and motia_core in one site-packages folder).
    runner_root = os.path.dirname(here)
    repo_root = os.path.dirname(os.path.dirname(runner_root))
    sdk_root = _first_dir([runner_root, os.path.join(repo_root, "sdk-python")], os.path.join("motia", "__init__.py"))
    core_root = _first_dir([runner_root, os.path.join(repo_root, "core")], os.path.join("motia_core", "_proto"))
    if core_root is not None:
        # Only the generated code is needed: do not run the core's own package __init__.
        _pin_package("motia_core", os.path.join(core_root, "motia_core"), run_init=False)

    # grpc's C core logs transport events (GOAWAY, reconnects) at INFO to stderr, which the core
    # would show as runner output; keep it to errors unless the user asked for more.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    # The polling path, as the core does (motia_core/runners/grpc_polling.py): grpc reads it at import,
    # and the variable goes back out so that processes started by handlers do not inherit it.
    polling_value = "-event_engine_listener,-event_engine_for_all_other_endpoints,-event_engine_client"
    polling = "GRPC_EXPERIMENTS" not in os.environ or (
        os.environ.get("MOTIA_GRPC_POLLING") == "1" and os.environ["GRPC_EXPERIMENTS"] == polling_value
    )
    if polling:
        os.environ["GRPC_EXPERIMENTS"] = polling_value
    _pin_package("motia_runner", here)  # first: its settings say which transport to check
    try:
        from motia_runner.settings import transport_from_env

        # the transport the runner will use: grpc.aio, or hpack for the default h2 (h2_stream.py)
        if transport_from_env(os.environ) == "grpc":
            import grpc  # noqa: F401
        else:
            import hpack  # noqa: F401

        from motia_core._proto.motia.runner.v1 import runner_pb2  # noqa: F401
    except Exception as exc:
        searched = os.environ.get("MOTIA_CORE_SITE_PACKAGES") or "(MOTIA_CORE_SITE_PACKAGES is not set)"
        _fail(
            f"cannot import grpc / hpack / protobuf under {_interpreter()}: {type(exc).__name__}: {exc}\n"
            f"  searched the interpreter's own packages, then: {searched}\n"
            "  fix: install grpcio>=1.85, hpack>=4 and protobuf>=7 into this interpreter's environment, or run "
            "the project with a Python of the same minor version as motia-core's"
        )
    finally:
        if polling:
            os.environ.pop("GRPC_EXPERIMENTS", None)
            os.environ.pop("MOTIA_GRPC_POLLING", None)

    if sdk_root is not None:
        _pin_package("motia", os.path.join(sdk_root, "motia"))


def run() -> None:
    prepare()
    from motia_runner.main import main

    sys.exit(main())


if __name__ == "__main__":
    run()
