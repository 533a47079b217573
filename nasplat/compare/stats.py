"""Statistics of a comparison: mean and spread, ranks, and the Mann-Whitney U test.

The U test is written out here (normal approximation with tie and continuity corrections, or
the exact null distribution for small samples without ties) so that scipy stays optional.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

EXACT_MAX = 20
"""Largest sample size for which the exact null distribution of U is counted out; beyond it
the normal approximation is within a few per mille of it (Mann & Whitney 1947)."""


@dataclass(frozen=True)
class UTest:
    """A two-sided Mann-Whitney U test of ``x`` against ``y``."""

    u: float
    """U of ``x``: how many (x_i, y_j) pairs have x_i > y_j, ties counting one half."""
    p: float
    method: str
    """``"exact"`` or ``"normal"``."""


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def ranks(values: Sequence[float]) -> list[float]:
    """Ranks starting at 1 for the smallest value; tied values share their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for k in range(start, end + 1):
            out[order[k]] = (start + end) / 2 + 1
        start = end + 1
    return out


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> UTest:
    """Two-sided Mann-Whitney U test of whether ``x`` and ``y`` come from one distribution.

    U = R_x - n_x (n_x + 1) / 2 with R_x the rank sum of ``x`` in the pooled sample. Exact
    p-value when both samples have at most ``EXACT_MAX`` values and no ties; otherwise the
    normal approximation with mean n_x n_y / 2, the tie-corrected variance
    n_x n_y / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1))) and a continuity correction of 1/2
    (e.g. Hollander & Wolfe, Nonparametric Statistical Methods, ch. 4).
    """
    nx, ny = len(x), len(y)
    if nx == 0 or ny == 0:
        raise ValueError("mann_whitney_u needs at least one value in each sample")
    pooled = list(x) + list(y)
    r = ranks(pooled)
    u = sum(r[:nx]) - nx * (nx + 1) / 2
    ties = _tie_sizes(pooled)
    if not ties and max(nx, ny) <= EXACT_MAX:
        k = round(u)
        counts = _u_counts(nx, ny)
        total = sum(counts)
        below = sum(counts[: k + 1]) / total
        above = sum(counts[k:]) / total
        return UTest(u, min(1.0, 2 * min(below, above)), "exact")
    n = nx + ny
    mu = nx * ny / 2
    var = nx * ny / 12 * ((n + 1) - sum(t**3 - t for t in ties) / (n * (n - 1)))
    if var <= 0:
        return UTest(u, 1.0, "normal")  # every value tied: no evidence of a difference
    z = max(abs(u - mu) - 0.5, 0.0) / math.sqrt(var)
    return UTest(u, math.erfc(z / math.sqrt(2)), "normal")


def _tie_sizes(values: Sequence[float]) -> list[int]:
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return [c for c in counts.values() if c > 1]


@cache
def _u_counts(m: int, n: int) -> tuple[int, ...]:
    """How many of the C(m+n, m) orderings give U = 0, 1, ..., m n (no ties).

    The recurrence c(m, n; u) = c(m-1, n; u-n) + c(m, n-1; u): the largest value of the pooled
    sample is either an x (beating all n y's) or a y (Mann & Whitney 1947)."""
    if m == 0 or n == 0:
        return (1,)
    a, b = _u_counts(m - 1, n), _u_counts(m, n - 1)
    out = [0] * (m * n + 1)
    for u, c in enumerate(a):
        out[u + n] += c
    for u, c in enumerate(b):
        out[u] += c
    return tuple(out)
