"""Group-sequential testing over seeds: Lan-DeMets alpha spending and seeds-per-cell planning.

Testing a claim again after each added seed inflates the false-positive rate if every look uses
the full level.  The suite spends the level over the looks instead (Lan & DeMets 1983,
"Discrete sequential boundaries for clinical trials", Biometrika 70:659-663): a design plans looks
at every seed count ``start, start + 1, ..., max_seeds`` per cell, with information fraction
``t = n / max_seeds``; by look ``t`` at most ``alpha(t)`` of the level is spent, with

* O'Brien-Fleming-type spending (default): ``alpha(t) = 2 - 2 Phi(z_{1 - alpha/2} / sqrt(t))``,
  which spends almost nothing at the early looks and keeps nearly the whole level for the last;
* Pocock-type spending: ``alpha(t) = alpha ln(1 + (e - 1) t)``, an even spread.

The two-sided boundaries ``|Z_k| >= c_k`` follow from the joint law of the standardised
statistics (Brownian motion in the information: Jennison & Turnbull 2000, "Group Sequential
Methods with Applications to Clinical Trials", ch. 19, numerical integration on a grid).  A
Welch or one-sample t statistic is compared through its p-value: look ``k`` rejects when the
test's p-value is below the nominal level ``2 (1 - Phi(c_k))`` (the t-to-z p-value transform keeps
each look exact under the null, and the correlation between looks is that of the z statistics).
Fewer looks than planned (a round adds several seeds at once) only make the design conservative:
its rejection region is a subset of the planned one.

The repeated p-value of a look (Jennison & Turnbull ch. 9) is the smallest overall level at which
the design rejects there; Holm's correction runs on these, so the family-wise level holds over
both the looks and a claim's checks.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy import stats as _stats
from scipy.special import ndtr, ndtri

from .stats import ALPHA

SPENDING = ("obrien-fleming", "pocock")
DEFAULT_SPENDING = "obrien-fleming"
POWER = 0.8
GRID = 401  # points of the numerical integration at each look (odd: Simpson's rule)
TAIL = 8.5  # the grid spans +-TAIL standard deviations of the score at most
NO_REJECTION = 40.0  # the boundary of a look with nothing to spend


def spent(t: float, alpha: float, spending: str = DEFAULT_SPENDING) -> float:
    """The level spent by information fraction ``t`` (0 < t <= 1) under ``spending``."""
    if not 0 < t <= 1 + 1e-12:
        raise ValueError(f"information fraction {t} must lie in (0, 1]")
    t = min(t, 1.0)
    if spending == "obrien-fleming":
        return float(2 - 2 * ndtr(ndtri(1 - alpha / 2) / math.sqrt(t)))
    if spending == "pocock":
        return float(alpha * math.log(1 + (math.e - 1) * t))
    raise ValueError(f"spending={spending!r} must be one of {', '.join(SPENDING)}")


def _simpson_weights(n: int, width: float) -> np.ndarray:
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4, 2
    return w * width / (3 * (n - 1))


@functools.lru_cache(maxsize=4096)
def boundaries(fractions: tuple[float, ...], alpha: float,
               spending: str = DEFAULT_SPENDING) -> tuple[float, ...]:
    """Two-sided z boundaries ``c_1..c_K`` at looks with information ``fractions`` (increasing,
    the last <= 1): P(|Z_j| < c_j for j < k, |Z_k| >= c_k) = alpha(t_k) - alpha(t_{k-1})."""
    if any(b <= a for a, b in zip(fractions, fractions[1:])):
        raise ValueError(f"information fractions {fractions} must increase")
    cum = [spent(t, alpha, spending) for t in fractions]
    out = [min(float(ndtri(1 - cum[0] / 2)), NO_REJECTION)]
    # density of the score S_1 = Z_1 sqrt(t_1) on the continuation region of look 1 (past
    # TAIL standard deviations it is negligible, so the grid stops there)
    half = min(out[0], TAIL) * math.sqrt(fractions[0])
    s = np.linspace(-half, half, GRID)
    f = np.exp(-s ** 2 / (2 * fractions[0])) / math.sqrt(2 * math.pi * fractions[0])
    w = _simpson_weights(GRID, 2 * half)
    for k in range(1, len(fractions)):
        delta = fractions[k] - fractions[k - 1]
        sd = math.sqrt(delta)
        target = cum[k] - cum[k - 1]
        mass = f * w
        root_t = math.sqrt(fractions[k])

        def crossing(c: float) -> float:
            b = c * root_t
            return float(mass @ (ndtr((-b - s) / sd) + ndtr((s - b) / sd)))

        if target <= 1e-14 or crossing(NO_REJECTION) >= target:
            c = NO_REJECTION  # nothing (numerically) left to spend: no rejection at this look
        else:
            c = float(optimize.brentq(lambda c: crossing(c) - target, 0.0, NO_REJECTION, xtol=1e-10))
        out.append(c)
        half = min(c, TAIL) * root_t
        new = np.linspace(-half, half, GRID)
        kernel = np.exp(-(new[:, None] - s[None, :]) ** 2 / (2 * delta)) / (sd * math.sqrt(2 * math.pi))
        f, s, w = kernel @ mass, new, _simpson_weights(GRID, 2 * half)
    return tuple(out)


def nominal_from_boundary(c: float) -> float:
    """The two-sided p-value a z statistic needs to cross boundary ``c``."""
    return float(2 * ndtr(-c))


# Overall levels at which the repeated p-value is exact: alpha and Holm's alpha / j.
_EXACT = tuple(ALPHA / j for j in range(1, 41))
_LEVELS = tuple(sorted(set(np.geomspace(1e-7, 1.0, 90).tolist()) | set(_EXACT)))


@dataclass(frozen=True)
class SequentialDesign:
    """Looks at every seed count ``start..max_seeds`` per cell, the level spent by ``spending``."""

    start: int = 3
    max_seeds: int = 10
    spending: str = DEFAULT_SPENDING

    def __post_init__(self) -> None:
        if self.start < 1:
            raise ValueError(f"start={self.start} must be at least 1")
        if self.max_seeds < max(2, self.start):
            raise ValueError(f"max_seeds={self.max_seeds} must be at least 2 and at least the "
                             f"start ({self.start})")
        if self.spending not in SPENDING:
            raise ValueError(f"spending={self.spending!r} must be one of {', '.join(SPENDING)}")

    def fractions(self, n: int) -> tuple[float, ...]:
        """Information fractions of the planned looks up to and including ``n`` seeds a cell
        (``n`` past ``max_seeds`` is the last look)."""
        n = min(n, self.max_seeds)
        looks = [k for k in range(self.start, n + 1)] or [n]
        return tuple(k / self.max_seeds for k in looks)

    def nominal(self, level: float, n: int) -> float:
        """The p-value a test at ``n`` seeds a cell must be below for the design at overall
        ``level`` to reject there."""
        return nominal_from_boundary(boundaries(self.fractions(n), level, self.spending)[-1])

    def repeated_p(self, p: float, n: int) -> float:
        """The smallest overall level at which the design rejects a test of p-value ``p`` at
        ``n`` seeds a cell (exact at alpha and alpha / j; log-interpolated in between)."""
        levels, noms = _nominal_table(self, self.fractions(n))
        if p <= noms[0]:
            return float(levels[0] * p / noms[0])
        if p >= noms[-1]:
            return 1.0
        i = int(np.searchsorted(noms, p))
        lo, hi = math.log(noms[i - 1]), math.log(noms[i])
        frac = (math.log(p) - lo) / (hi - lo) if hi > lo else 1.0
        return float(math.exp(math.log(levels[i - 1]) + frac * (math.log(levels[i]) - math.log(levels[i - 1]))))


@functools.lru_cache(maxsize=256)
def _nominal_table(design: SequentialDesign, fractions: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    noms = np.array([nominal_from_boundary(boundaries(fractions, lv, design.spending)[-1])
                     for lv in _LEVELS])
    return np.array(_LEVELS), np.maximum.accumulate(noms)


def welch_df(var_a: float, var_b: float, n: int) -> float:
    """Welch-Satterthwaite degrees of freedom of two cells of ``n`` runs each."""
    qa, qb = var_a / n, var_b / n
    den = qa ** 2 / (n - 1) + qb ** 2 / (n - 1)
    return (qa + qb) ** 2 / den if den > 0 else 2.0 * (n - 1)


def seeds_for_power(effect: float, var_a: float, var_b: float | None, level: float,
                    design: SequentialDesign, two_sided: bool = True, power: float = POWER,
                    limit: int | None = None, fixed: bool = False) -> int | None:
    """The fewest seeds per cell (>= 2) at which a t test at the design's nominal level for
    overall ``level`` detects ``effect`` with ``power``: (t_crit + t_power) x se <= effect, se
    from the variances (``var_b`` None: a one-sample test). None when not reached by ``limit``
    (default ``design.max_seeds``). ``fixed``: a fixed-sample test at ``level`` instead."""
    if effect <= 0:
        return None
    limit = design.max_seeds if limit is None else limit
    for n in range(2, limit + 1):
        if var_b is None:
            se, df = math.sqrt(var_a / n), float(n - 1)
        else:
            se, df = math.sqrt((var_a + var_b) / n), welch_df(var_a, var_b, n)
        if se == 0:
            return n
        q = level if fixed else design.nominal(level, n)
        crit = _stats.t.ppf(1 - q / 2 if two_sided else 1 - q, df)
        if (crit + _stats.t.ppf(power, df)) * se <= effect:
            return n
    return None
