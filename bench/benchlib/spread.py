"""The median and quartiles of per-round ratios: how the noisy rows (the caller's session, Ruby and
JavaScript against TypeScript) report a figure and how far apart its rounds were (bench/README.md,
"Rows that flip with noise")."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    median: float
    q1: float  # quartiles of the rounds (inclusive method: the min and max bound them)
    q3: float
    n: int

    def text(self, fmt: Callable[[float], str]) -> str:
        """`1.12× (quartiles 1.05–1.20 of 8 rounds)`, or just the median for a single round."""
        if self.n < 2:
            return f"{fmt(self.median)} (1 round)"
        return f"{fmt(self.median)} (quartiles {fmt(self.q1)}–{fmt(self.q3)} of {self.n} rounds)"


def spread(values: Sequence[float]) -> Spread | None:
    if not values:
        return None
    if len(values) == 1:
        return Spread(values[0], values[0], values[0], 1)
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return Spread(statistics.median(values), q1, q3, len(values))
