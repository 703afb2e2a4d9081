"""Where the core finds what it ships besides Python code: the Node and Ruby runners, sdk-node, templates.

Two layouts, one resolver:
  - installed from the wheel (`make dist`): everything sits under motia_core/_runtime/ (node/dist/runner.cjs
    with the node_modules it needs at run time and proto/, ruby/bin + ruby/lib, sdk-node/src);
  - a checkout (editable install): the repository's runners/node, runners/ruby and sdk-node.
The wheel layout wins when present, so an installed package never reaches for a checkout that may sit
next to it. MOTIA_NODE_RUNNER / MOTIA_RUBY_RUNNER override either (tests, custom builds).
The Python runner and SDK are ordinary packages (motia_runner, motia) in both layouts.
"""

from __future__ import annotations

import os
from pathlib import Path

from motia_core.errors import ProjectError

PACKAGE_DIR = Path(__file__).resolve().parent
RUNTIME_DIR = PACKAGE_DIR / "_runtime"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
# core/motia_core -> the repository root, meaningful only in a checkout.
CHECKOUT_DIR = PACKAGE_DIR.parents[1]


def installed_layout() -> bool:
    """True when the package carries its own runners (installed from the wheel)."""
    return RUNTIME_DIR.is_dir()


def node_runner() -> Path:
    """dist/runner.cjs of the Node runner (its node_modules and proto/ are found from there)."""
    override = os.environ.get("MOTIA_NODE_RUNNER")
    if override:
        path = Path(override)
    elif installed_layout():
        path = RUNTIME_DIR / "node" / "dist" / "runner.cjs"
    else:
        path = CHECKOUT_DIR / "runners" / "node" / "dist" / "runner.cjs"
    if not path.is_file():
        hint = "reinstall motia-core" if installed_layout() else "run `make install`"
        raise ProjectError(f"the Node runner is not built ({path} is missing): {hint}")
    return path


def ruby_runner() -> Path:
    """bin/motia-ruby-runner (it puts its own lib/, with the Ruby SDK and protobuf code, on the load path)."""
    override = os.environ.get("MOTIA_RUBY_RUNNER")
    if override:
        path = Path(override)
    elif installed_layout():
        path = RUNTIME_DIR / "ruby" / "bin" / "motia-ruby-runner"
    else:
        path = CHECKOUT_DIR / "runners" / "ruby" / "bin" / "motia-ruby-runner"
    if not path.is_file():
        raise ProjectError(f"the Ruby runner is missing ({path})")
    return path


def sdk_node_dir() -> Path:
    """sdk-node: the `motia` TypeScript types and runtime the Node runner bundles (for editors and tsc)."""
    return RUNTIME_DIR / "sdk-node" if installed_layout() else CHECKOUT_DIR / "sdk-node"
