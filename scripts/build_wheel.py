"""Build the motia-core wheel (`make dist`): the Python packages plus everything the runners need at run time.

The checkout is copied to a staging folder first, and the non-Python parts are laid out there under
motia_core/_runtime/ (the layout core/motia_core/paths.py resolves):
    _runtime/node/dist/runner.cjs        the prebuilt Node runner (make install builds it)
    _runtime/node/dist/runner-proto.json runner.proto prebuilt for it (the same build)
    _runtime/node/node_modules/...       its production dependencies (grpc-js, proto-loader, esbuild, zod...)
    _runtime/node/proto/...              runner.proto, which the Node runner loads at run time (it walks up to proto/)
    _runtime/ruby/{bin,lib}              the Ruby runner with the Ruby SDK and its generated protobuf code
    _runtime/sdk-node/{src,package.json} the `motia` TypeScript runtime (the Node runner's SDK, motia/testing)
    _runtime/sdk-node/dist/types         its .d.ts files, for a project's editor and tsc (sdk_link.py)
so the working tree is never written to (other work goes on in it) and a checkout never sees a stale _runtime/.
The Python runner (motia_runner), sdk-python (motia), the templates and the Workbench bundle are package data
or packages already (pyproject.toml).

Usage: python scripts/build_wheel.py [OUT_DIR]   (default: dist/); prints the wheel's path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Type-only packages the lockfile lists as runtime dependencies of protobufjs; nothing requires them at run time.
NODE_SKIP = ("node_modules/@types/", "node_modules/undici-types")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".motia", "_runtime")


def fail(message: str) -> None:
    print(f"build_wheel: {message}", file=sys.stderr)
    raise SystemExit(1)


def node_runtime_packages() -> list[str]:
    """node_modules/<pkg> paths the Node runner needs at run time: the lockfile's non-dev packages that are
    installed here (esbuild's binary packages for other platforms are optional and absent)."""
    lock = json.loads((ROOT / "runners/node/package-lock.json").read_text())
    names = []
    for key, meta in lock["packages"].items():
        if not key or meta.get("dev") or key.startswith(NODE_SKIP):
            continue
        if (ROOT / "runners/node" / key).is_dir():
            names.append(key)
    return names


def check_packages() -> None:
    """pyproject.toml lists packages explicitly: a new subpackage left out of it would be missing from the wheel
    while the editable checkout still imports it, so compare the list with the folders holding __init__.py."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for root, rel in (("core", "motia_core"), ("sdk-python", "motia"), ("runners/python", "motia_runner")):
        for init in (ROOT / root / rel).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / root).parts
            if "templates" not in parts and "fixtures" not in parts and "__pycache__" not in parts:
                found.add(".".join(parts))
    missing = sorted(found - listed)
    if missing:
        fail(f"pyproject.toml [tool.setuptools] packages is missing {', '.join(missing)}: add them (else not shipped)")


def stage(dest: Path) -> None:
    for name in ("pyproject.toml", "README.md", "CHANGELOG.md"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, dest / name)
    for rel in ("core/motia_core", "sdk-python/motia", "runners/python/motia_runner"):
        shutil.copytree(ROOT / rel, dest / rel, ignore=IGNORE)

    runtime = dest / "core/motia_core/_runtime"
    runner = ROOT / "runners/node/dist/runner.cjs"
    if not runner.is_file():
        fail(f"{runner} is missing: run `make install` first")
    if not (ROOT / "core/motia_core/workbench/static/index.html").is_file():
        fail("the Workbench bundle (core/motia_core/workbench/static) is missing: run `make install` first")
    (runtime / "node/dist").mkdir(parents=True)
    shutil.copy2(runner, runtime / "node/dist/runner.cjs")
    # runner.proto prebuilt by `npm run build` (runners/node/src/transport/proto.ts: a faster start)
    descriptor = runner.with_name("runner-proto.json")
    if not descriptor.is_file():
        fail(f"{descriptor} is missing: run `make install` (or `npm run build` in runners/node) first")
    shutil.copy2(descriptor, runtime / "node/dist/runner-proto.json")
    shutil.copy2(ROOT / "runners/node/package.json", runtime / "node/package.json")
    for key in node_runtime_packages():
        # symlinks=False: a wheel carries files only
        shutil.copytree(ROOT / "runners/node" / key, runtime / "node" / key, ignore=shutil.ignore_patterns(".bin"))
    shutil.copytree(ROOT / "proto", runtime / "node/proto", ignore=shutil.ignore_patterns("*.md"))
    for part in ("bin", "lib"):
        shutil.copytree(ROOT / "runners/ruby" / part, runtime / "ruby" / part, ignore=IGNORE)
    shutil.copytree(ROOT / "sdk-node/src", runtime / "sdk-node/src")
    for name in ("package.json", "README.md"):
        shutil.copy2(ROOT / "sdk-node" / name, runtime / "sdk-node" / name)
    sdk_declarations(runtime / "sdk-node/dist/types")


def sdk_declarations(dest: Path) -> None:
    """sdk-node's .d.ts files, which its package.json `types`/`exports` name (a project's node_modules/motia links
    there for editors and tsc): `make install`'s build when it is newer than every source, else a fresh one."""
    sdk = ROOT / "sdk-node"
    built = sdk / "dist/types"
    inputs = [*(sdk / "src").rglob("*.ts"), sdk / "tsconfig.json", sdk / "tsconfig.types.json"]
    index = built / "index.d.ts"
    if index.is_file() and all(p.stat().st_mtime <= index.stat().st_mtime for p in inputs):
        shutil.copytree(built, dest)
        return
    tsc = sdk / "node_modules/.bin/tsc"
    if not tsc.is_file():
        fail(f"{tsc} is missing: run `make install` first")
    proc = subprocess.run(
        [str(tsc), "-p", str(sdk / "tsconfig.types.json"), "--outDir", str(dest)], capture_output=True, text=True
    )
    if proc.returncode != 0 or not (dest / "index.d.ts").is_file():
        fail(f"building sdk-node's type declarations failed:\n{proc.stdout}\n{proc.stderr}")


def build(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="motia-wheel-") as tmp:
        staging = Path(tmp) / "src"
        staging.mkdir()
        check_packages()
        stage(staging)
        before = set(out_dir.glob("motia_core-*.whl"))
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--disable-pip-version-check"]
            + ["-q", "-w", str(out_dir), str(staging)]
            # the vendored esbuild binary is this platform's, so the wheel must not claim to be pure Python
            + [f"--config-settings=--build-option=--plat-name={sysconfig.get_platform()}"],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            fail(f"pip wheel failed:\n{proc.stdout}\n{proc.stderr}")
    wheels = sorted(out_dir.glob("motia_core-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        fail(f"no wheel in {out_dir} (had {sorted(before)})")
    return wheels[-1]


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist"))
