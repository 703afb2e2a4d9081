"""Counters served at GET /metrics in Prometheus' text format (version 0.0.4).

Deliberately tiny: a process-wide registry of labelled counters, rendered on demand. The core runs
on one event loop, so an increment is a dict update with no lock. Issue 10 may swap this for
prometheus-client; the metric names and labels are what scrapers see and stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass
class Counter:
    name: str
    help: str
    labels: tuple[str, ...]
    values: dict[tuple[str, ...], float] = field(default_factory=dict)

    def inc(self, *label_values: str, amount: float = 1.0) -> None:
        if len(label_values) != len(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {label_values}")
        self.values[label_values] = self.values.get(label_values, 0.0) + amount

    def value(self, *label_values: str) -> float:
        return self.values.get(label_values, 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        for key, value in sorted(self.values.items()):
            labels = ",".join(f'{n}="{_escape(v)}"' for n, v in zip(self.labels, key, strict=True))
            lines.append(f"{self.name}{{{labels}}} {value:g}" if labels else f"{self.name} {value:g}")
        return lines


class Metrics:
    """A registry: counters by name, rendered in registration order."""

    def __init__(self) -> None:
        self._counters: dict[str, Counter] = {}

    def counter(self, name: str, help: str, labels: tuple[str, ...] = ()) -> Counter:
        found = self._counters.get(name)
        if found is None:
            found = self._counters[name] = Counter(name, help, labels)
        elif found.labels != labels:
            raise ValueError(f"counter {name} exists with labels {found.labels}")
        return found

    def render(self) -> str:
        return "".join(line + "\n" for counter in self._counters.values() for line in counter.render())


REGISTRY = Metrics()

EMITS_DROPPED = REGISTRY.counter(
    "motia_emits_dropped_total",
    "Emits dropped as Motia 0.x drops them (positional arguments, no object, no topic, a topic the step "
    "does not declare); each was logged as a warning with the step, file and line",
    ("step", "reason"),
)
