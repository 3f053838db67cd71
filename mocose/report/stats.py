"""The statistics behind every verdict: a cell's mean and sample standard deviation over seeds,
Welch's t-test (unequal variances, Welch-Satterthwaite degrees of freedom), the one-sample t-test,
Holm's step-down correction, and the smallest difference a test could detect."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy import stats as _stats

ALPHA = 0.05


@dataclass(frozen=True)
class Stats:
    """Mean, sample standard deviation and count of one cell's values (one per run)."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float | None:
        return sum(self.values) / self.n if self.values else None

    @property
    def var(self) -> float | None:
        if self.n < 2:
            return None
        m = self.mean
        return sum((v - m) ** 2 for v in self.values) / (self.n - 1)

    @property
    def std(self) -> float | None:
        var = self.var
        return None if var is None else math.sqrt(var)


@dataclass(frozen=True)
class Welch:
    t: float
    df: float
    p: float  # two-sided, for H0: mean(a) - mean(b) == margin
    se: float


def welch(a: Stats, b: Stats, margin: float = 0.0) -> Welch:
    """Welch's t-test of H0 mean(a) - mean(b) = margin (both need n >= 2)."""
    if a.n < 2 or b.n < 2:
        raise ValueError(f"Welch's test needs >= 2 values per group, got {a.n} and {b.n}")
    qa, qb = a.var / a.n, b.var / b.n
    se = math.sqrt(qa + qb)
    diff = a.mean - b.mean - margin
    if se == 0.0:  # no spread at all: the difference is exact
        t = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        return Welch(t, float(a.n + b.n - 2), 1.0 if diff == 0 else 0.0, 0.0)
    df = (qa + qb) ** 2 / (qa ** 2 / (a.n - 1) + qb ** 2 / (b.n - 1))
    t = diff / se
    return Welch(t, df, float(2 * _stats.t.sf(abs(t), df)), se)


def one_sample(values: Stats, margin: float = 0.0) -> Welch:
    """One-sample t-test of H0 mean(values) = margin (n >= 2)."""
    if values.n < 2:
        raise ValueError(f"a one-sample t-test needs >= 2 values, got {values.n}")
    se = values.std / math.sqrt(values.n)
    diff = values.mean - margin
    df = float(values.n - 1)
    if se == 0.0:
        t = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        return Welch(t, df, 1.0 if diff == 0 else 0.0, 0.0)
    t = diff / se
    return Welch(t, df, float(2 * _stats.t.sf(abs(t), df)), se)


def one_sided(w: Welch, greater: bool) -> float:
    """One-sided p-value of a t statistic: H1 diff > margin (greater) or diff < margin."""
    if math.isinf(w.t):
        return 0.0 if (w.t > 0) == greater else 1.0
    if w.se == 0.0:
        return 1.0
    return float(_stats.t.sf(w.t, w.df) if greater else _stats.t.cdf(w.t, w.df))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given): the i-th smallest p times
    (m - i), made non-decreasing, capped at 1."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def holm_levels(pvalues: Sequence[float], alpha: float = ALPHA) -> list[float]:
    """The level each check is tested at in Holm's procedure: alpha / (m - rank)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    levels = [alpha] * m
    for rank, i in enumerate(order):
        levels[i] = alpha / (m - rank)
    return levels


def stepdown_levels(pvalues: Sequence[float], alpha: float = ALPHA) -> list[float]:
    """The level of each check in Holm's step-down as it runs: alpha / (m - rank) while the
    checks before it rejected, and from the first that does not, that one's level for it and
    every later check (so a check rejects at its level exactly when Holm's adjusted p < alpha)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    levels = [alpha] * m
    stopped: float | None = None
    for rank, i in enumerate(order):
        level = alpha / (m - rank) if stopped is None else stopped
        if stopped is None and pvalues[i] >= level:
            stopped = level
        levels[i] = level
    return levels


def detectable_difference(test: Welch, level: float, two_sided: bool = True) -> float:
    """The smallest difference that reaches significance at ``level``: t quantile x standard error."""
    if test.se == 0.0:
        return 0.0
    q = 1 - level / 2 if two_sided else 1 - level
    return float(_stats.t.ppf(q, test.df) * test.se)
