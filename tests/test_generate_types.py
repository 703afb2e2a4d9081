"""`motia-core generate-types`: the generated types make tsc --strict and mypy --strict catch a wrong
topic, a wrong field or wrong data in a step, and accept the correct steps (docs/dev.md, "Types")."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from motia_core.project import RunnerName, StepFile
from motia_core.steps import Step, parse_step
from motia_core.typegen.py_schema import PyModule
from motia_core.typegen.schema import HEADER
from motia_core.typegen.ts import render_ts
from motia_core.typegen.ts_schema import TsConverter
from tests.conftest import ROOT, copy_fixture

TSC = ROOT / "sdk-node" / "node_modules" / ".bin" / "tsc"
ZOD = ROOT / "runners" / "node" / "node_modules" / "zod"


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "motia_core", "generate-types", "--dir", str(project), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """gt_typed with types.d.ts and motia_types.py generated, and tsc / mypy configs for checking."""
    root = copy_fixture("gt_typed", tmp_path_factory.mktemp("gt") / "app")
    result = _cli(root, "--python", "motia_types.py")
    assert result.returncode == 0, result.stderr
    options = {
        "strict": True,
        "noEmit": True,
        "target": "ES2022",
        "module": "commonjs",
        "moduleResolution": "node10",
        "lib": ["ES2023"],
        "types": ["node"],
        "typeRoots": [str(ROOT / "sdk-node" / "node_modules" / "@types")],
        "skipLibCheck": True,
        # what the Node runner does at run time: `motia` is the SDK, zod comes from the runner
        "baseUrl": ".",
        "paths": {"motia": [str(ROOT / "sdk-node" / "src" / "index.ts")], "zod": [str(ZOD)]},
    }
    (root / "tsconfig.json").write_text(json.dumps({"compilerOptions": options, "include": ["types.d.ts", "steps"]}))
    (root / "mypy.ini").write_text("[mypy]\nstrict = True\n")
    return root


def _tsc(project: Path, *files: str) -> subprocess.CompletedProcess[str]:
    config = project / f"tsconfig.{'-'.join(Path(f).stem for f in files)}.json"
    config.write_text(json.dumps({"extends": "./tsconfig.json", "include": ["types.d.ts", *files]}))
    return subprocess.run([str(TSC), "-p", str(config)], cwd=project, capture_output=True, text=True, timeout=120)


def _mypy(project: Path, *files: str) -> subprocess.CompletedProcess[str]:
    env = {"MYPYPATH": f"{project}{':'}{ROOT / 'sdk-python'}", "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir", ".mypy_cache", "motia_types.py"]
    return subprocess.run([*cmd, *files], cwd=project, capture_output=True, text=True, timeout=120, env=env)


def test_types_d_ts_has_motia_shape_and_is_stable(project: Path) -> None:
    text = (project / "types.d.ts").read_text()
    assert HEADER in text.splitlines()[1]
    assert "declare module 'motia' {" in text
    assert "    'orders': MotiaStream<{ item: string; status: 'new' | 'priced' }>" in text
    names = [line.split(":")[0].strip() for line in text.splitlines() if line.startswith("    '")]
    assert names == ["'orders'", "'CreateOrder'", "'GetOrder'", "'NotifyCustomer'", "'PriceOrder'", "'Restock'"]
    assert (
        "    'CreateOrder': ApiRouteHandler<{ item: string; qty: number; note?: string }, "
        "ApiResponse<201, { id: string; shop: string }> | ApiResponse<400, { error: string }>, "
        "{ topic: 'order.created'; data: { orderId: string; item: string; qty: number }; messageGroupId?: string }>"
    ) in text
    # the emitter's data is typed by the subscriber's (pydantic) input schema, across languages
    assert (
        "    'Restock': CronHandler<{ topic: 'order.created'; data: { orderId: string; item: string; qty: number }"
        in text
    )
    assert "  interface StreamAuthContext { userId: string; admin: boolean }" in text  # motia.config.ts
    assert (
        "    'NotifyCustomer': EventHandler<{ orderId: string; price: number; tags: string[] | null }, never>" in text
    )
    py_before = (project / "motia_types.py").read_bytes()
    again = _cli(project, "--python", "motia_types.py")
    assert again.returncode == 0, again.stderr
    assert (project / "types.d.ts").read_text() == text
    assert (project / "motia_types.py").read_bytes() == py_before
    assert "unchanged" in again.stderr and "wrote" not in again.stderr


@pytest.mark.timeout(150)
def test_tsc_accepts_the_correct_steps(project: Path) -> None:
    result = _tsc(project, "steps")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(150)
@pytest.mark.parametrize(
    ("check", "errors"),
    [
        ("checks/wrong-topic.ts", ["TS2322: Type '\"order.cancelled\"' is not assignable to type '\"order.created\"'"]),
        ("checks/wrong-auth.ts", ["TS2339: Property 'user' does not exist on type 'StreamAuthContext'"]),
        ("checks/wrong-field.ts", ["TS2339: Property 'sku' does not exist on type '{ item: string; qty: number;"]),
        (
            "checks/wrong-data.ts",
            [
                'TS2322: Type \'"shipped"\' is not assignable to type \'"new" | "priced"\'',  # stream item
                "TS2322: Type 'string' is not assignable to type 'number'",  # emit data vs subscriber input
            ],
        ),
    ],
)
def test_tsc_rejects_a_wrong_step(project: Path, check: str, errors: list[str]) -> None:
    result = _tsc(project, check)
    assert result.returncode != 0
    for error in errors:
        assert f"{check}(" in result.stdout and error in result.stdout, result.stdout


@pytest.mark.timeout(150)
def test_mypy_accepts_the_correct_python_steps(project: Path) -> None:
    result = _mypy(project, "steps/price_order_step.py", "steps/get_order_step.py")
    assert result.returncode == 0, result.stdout + result.stderr
    # and the module imports: every alias and TypedDict evaluates at run time too
    env = {"PYTHONPATH": f"{project}:{ROOT / 'sdk-python'}"}
    ran = subprocess.run([sys.executable, "-c", "import motia_types"], cwd=project, env=env, timeout=60)
    assert ran.returncode == 0


@pytest.mark.timeout(150)
@pytest.mark.parametrize(
    ("check", "error"),
    [
        ("checks/wrong_topic.py", '"Literal[\'order.cancelled\']", TypedDict item "topic" has type'),
        ("checks/wrong_field.py", 'TypedDict "PriceOrderInputFields" has no key "quantity"'),
        ("checks/wrong_response.py", 'expected "GetOrderResponse200 | GetOrderResponse404"'),
    ],
)
def test_mypy_rejects_a_wrong_step(project: Path, check: str, error: str) -> None:
    result = _mypy(project, check)
    assert result.returncode == 1
    assert f"{check}:" in result.stdout and error in result.stdout, result.stdout


def test_invalid_step_is_left_out_and_fails(tmp_path: Path) -> None:
    root = copy_fixture("gt_typed", tmp_path / "app")
    (root / "steps" / "broken.step.ts").write_text("export const config = { type: 'api', name: 'Broken' }\n")
    result = _cli(root)
    assert result.returncode == 1
    assert "left out (invalid): steps/broken.step.ts" in result.stderr
    assert "'CreateOrder': ApiRouteHandler<" in (root / "types.d.ts").read_text()


def test_ts_converter_keywords() -> None:
    schema = {
        "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
        "type": "object",
        "properties": {
            "node": {"$ref": "#/$defs/Node"},
            "kind": {"enum": ["a", 1, None]},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
            "maybe": {"type": "string", "nullable": True},
            "either": {"type": ["string", "number"]},
            "both": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}]},
            "map": {"type": "object", "additionalProperties": {"type": "boolean"}},
            "open": {"type": "object", "properties": {"x": {"const": True}}, "additionalProperties": True},
            "weird-key": {"not": {}},
            "list": {"type": "array", "items": {"anyOf": [{"properties": {"a": {"const": 1}}}, {"const": "it's"}]}},
        },
        "required": ["kind"],
    }
    text = TsConverter(schema).convert(schema)
    assert text == (
        "{ node?: { next?: unknown }; "  # the recursive reference stops at unknown
        "kind: 'a' | 1 | null; "
        "pair?: [string, number]; "
        "maybe?: string | null; "
        "either?: string | number; "
        "both?: { a: string }; "
        "map?: Record<string, boolean>; "
        "open?: { x?: true; [key: string]: unknown }; "
        "'weird-key'?: unknown; "
        "list?: ({ a?: 1 } | 'it\\'s')[] }"
    )


def test_python_converter_names_nested_typeddicts() -> None:
    module = PyModule()
    schema = {
        "type": "object",
        "properties": {
            "lines": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}}
        },
        "required": ["lines"],
    }
    assert module.convert(schema, "Order") == "Order"
    assert module.lines == [
        'OrderLinesItem = TypedDict("OrderLinesItem", {"sku": NotRequired[str]})',
        'Order = TypedDict("Order", {"lines": list[OrderLinesItem]})',
    ]
    assert module.convert({"enum": ["a", "b"]}, "X") == 'Literal["a"] | Literal["b"]'
    assert module.convert({"type": "object", "additionalProperties": {"type": "integer"}}, "Y") == "dict[str, int]"


def test_no_tsc_no_silent_pass() -> None:
    # the tsc tests above would be meaningless without the compiler: fail loudly instead
    assert TSC.exists() and shutil.which("node") is not None


def _step(config: dict[str, object]) -> Step:
    name = str(config["name"])
    file = StepFile(Path(f"/p/steps/{name}.step.ts"), f"steps/{name}.step.ts", "typescript", RunnerName("node"))
    return parse_step(file, json.dumps(config).encode(), True)


def test_emit_data_satisfies_every_subscriber_and_fifo_needs_a_group() -> None:
    emitter = _step({"type": "api", "name": "Send", "method": "POST", "path": "/s", "emits": ["t"]})
    schema_a = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    schema_b = {"type": "object", "properties": {"b": {"type": "number"}}, "required": ["b"]}
    first = _step({"type": "event", "name": "A", "subscribes": ["t"], "input": schema_a, "emits": []})
    fifo = {"queue": {"type": "fifo"}}
    second = _step({"type": "event", "name": "B", "subscribes": ["t"], "input": schema_b, "infrastructure": fifo})
    text = render_ts([emitter, first, second], [])
    assert "{ topic: 't'; data: ({ a: string }) & ({ b: number }); messageGroupId: string }" in text
    alone = render_ts([emitter, first], [])
    assert "messageGroupId?: string" in alone


def test_commands_have_help() -> None:
    for command in ("generate-types", "openapi"):
        result = subprocess.run(
            [sys.executable, "-m", "motia_core", command, "--help"], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0 and f"usage: motia-core {command}" in result.stdout
