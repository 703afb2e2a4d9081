"""Cold start (issue 15 item 4): what a serving core no longer imports before its first 200 OK, and
that the commands which still need those modules get them."""

from __future__ import annotations

import json
import subprocess
import sys

from motia_core.coldstart import CORE_MODULES

# pydantic: step configs (steps.plainly_valid); croniter: cron steps only; create: `motia-core create` only
LAZY = ("pydantic", "croniter", "motia_core.step_models", "motia_core.streams.config_models", "motia_core.create")


def _imported_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {LAZY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    return list(json.loads(out.stdout))


def test_the_whole_serving_stack_imports_no_pydantic_croniter_or_templates() -> None:
    # what `serve` imports before the spawn, then the rest of the core (coldstart.import_core)
    code = (
        "from motia_core import cli, coldstart\n"
        "cli.build_parser(serving_only=True).parse_args(['serve'])\n"
        f"for name in {CORE_MODULES!r}: __import__(name)\n"
    )
    assert _imported_after(code) == []


def test_the_other_commands_still_describe_their_flags() -> None:
    # `create --template` lists the templates: building the full parser imports them
    assert "motia_core.create" in _imported_after("from motia_core import cli\ncli.build_parser()\n")
    help_text = subprocess.run(
        [sys.executable, "-m", "motia_core", "create", "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "--template" in help_text and "{" in help_text  # argparse prints the choices as {a,b,...}
