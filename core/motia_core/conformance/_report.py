"""The kit's output: a table ending in ``N passed, M failed``, or a JSON report."""

from __future__ import annotations

import json
from typing import Any

from motia_core.conformance._kit import CaseResult


def summary(results: list[CaseResult]) -> str:
    passed = sum(1 for r in results if r.passed)
    skipped = sum(1 for r in results if r.skipped)
    line = f"{passed} passed, {len(results) - passed - skipped} failed"
    return f"{line}, {skipped} skipped" if skipped else line


def table(results: list[CaseResult], header: str) -> str:
    width = max([len("case"), *(len(r.name) for r in results)])
    lines = [header, f"  {'case':<{width}}  result  time    detail"]
    for r in results:
        verdict = "PASS" if r.passed else "SKIP" if r.skipped else "FAIL"
        lines.append(f"  {r.name:<{width}}  {verdict:<6}  {r.seconds:5.2f}s  {r.detail}")
    lines.append(summary(results))
    return "\n".join(lines)


def as_json(results: list[CaseResult], runner: str, lang: str, fixtures: str) -> str:
    report: dict[str, Any] = {
        "runner": runner,
        "lang": lang,
        "fixtures": fixtures,
        "cases": [
            {
                "name": r.name,
                "passed": r.passed,
                "skipped": r.skipped,
                "detail": r.detail,
                "seconds": round(r.seconds, 3),
            }
            for r in results
        ],
        "passed": sum(1 for r in results if r.passed),
        "failed": sum(1 for r in results if not r.passed and not r.skipped),
        "skipped": sum(1 for r in results if r.skipped),
        "summary": summary(results),
    }
    return json.dumps(report, indent=2)
