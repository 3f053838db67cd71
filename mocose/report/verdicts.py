"""Every verdict word the report prints, defined once, and the two rules that pick them from an
interval (docs/results.md, "Verdicts"): a claim's check from the interval of ``a - b``, and a
published number's reproduction from the interval of our mean.

**Claims.** A check "a > b (+ margin)" with the paper's own gap ``g``, from the interval of the
difference (Welch; one-sample for a curve's recovery or a cell that trains nothing) at the level
Holm gives the check, or the sequential design's nominal level at its look where seeds came in
rounds (a repeated confidence interval):

* ``holds``: the whole interval lies above the margin;
* ``contradicted``: the whole interval lies below the margin;
* ``smaller than the paper``: it includes the margin but lies wholly below ``g``: the data exclude
  the paper's effect, though not the claim;
* ``unresolved``: it includes the margin and ``g`` (or the paper has no number): more seeds, as
  many as ``seeds needed`` says, would decide.

A check "|a - b| <= margin" (``~``) uses the one-sided interval of the two one-sided tests (TOST:
difference +- t_(1 - level) x se): ``holds`` when it lies inside (-margin, margin),
``contradicted`` when it lies wholly outside (above margin or below -margin), ``smaller than the
paper`` when it reaches a bound but excludes the paper's own difference (equivalence as close as
the paper's is ruled out), ``unresolved`` when it reaches a bound and includes it.

**Published numbers.** From a cell's seeds, the 95% Student t interval of our mean (n - 1 degrees
of freedom): ``reproduced`` when the published number lies inside, ``below`` / ``above`` when the
whole interval lies below / above it (with the distance from the interval's nearer end), ``too
few seeds`` with n < 2. A cell that trains nothing is evaluated once (its score does not depend on
the seed): its one number reproduces the published one within ``EXACT_TOLERANCE``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy import stats as _stats

# Claims: the four interval verdicts.
HOLDS = "holds"
CONTRADICTED = "contradicted"
SMALLER = "smaller than the paper"
UNRESOLVED = "unresolved"
# Claims: no interval to judge from.
NOT_ENOUGH = "not enough runs"
NOT_AT_PROFILE = "no validation in the window at this profile"
NO_PAPER = "no paper number"

# Published numbers.
REPRODUCED = "reproduced"
BELOW = "below"
ABOVE = "above"
TOO_FEW = "too few seeds"
NOT_COMPARABLE = "not comparable"  # the label of every reproduction verdict outside `paper`
REPRODUCTION_LEVEL = 0.95
EXACT_TOLERANCE = 0.05  # a one-evaluation cell reproduces a number this close (calibrate's)


def claim_verdict(op: str, low: float, high: float, margin: float, gap: float | None) -> str:
    """The verdict of a ``>`` (or ``recovers``) or ``~`` check from the interval [low, high] of
    its difference, the check's margin and the paper's gap ``gap`` (module docstring)."""
    if op == "~":
        if -margin < low and high < margin:
            return HOLDS
        if low > margin or high < -margin:
            return CONTRADICTED
        excluded = gap is not None and not low <= gap <= high
        return SMALLER if excluded else UNRESOLVED
    if low > margin:
        return HOLDS
    if high < margin:
        return CONTRADICTED
    return SMALLER if gap is not None and gap > high else UNRESOLVED


def combine(verdicts: Sequence[str]) -> str:
    """A claim's verdict from its checks' (all must hold): the first of contradicted, not enough
    runs, not at this profile, smaller than the paper, unresolved found; else holds."""
    for worst in (CONTRADICTED, NOT_ENOUGH, NOT_AT_PROFILE, SMALLER, UNRESOLVED):
        if worst in verdicts:
            return worst
    return HOLDS


@dataclass(frozen=True)
class Reproduction:
    """Where a published number falls against the interval of our mean."""

    verdict: str
    low: float | None
    high: float | None
    published: float | None
    distance: float | None = None  # from the interval's nearer end, for below / above

    def text(self, comparable: bool = True) -> str:
        """The verdict as printed: with its distance, labelled "not comparable" outside `paper`."""
        words = self.verdict
        if self.distance is not None:
            words += f" by {self.distance:.2f}"
        return words if comparable else f"{words} ({NOT_COMPARABLE})"

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "low": self.low, "high": self.high,
                "published": self.published, "distance": self.distance}


def mean_interval(values: Sequence[float], level: float = REPRODUCTION_LEVEL) -> tuple[float, float]:
    """The Student t interval of the mean of ``values`` (n >= 2, n - 1 degrees of freedom)."""
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(_stats.t.ppf(1 - (1 - level) / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def reproduction(values: Sequence[float], published: float | None,
                 fixed: bool = False) -> Reproduction | None:
    """The reproduction verdict of one cell's values against its published number (None when
    the paper has none); ``fixed``: the cell trains nothing, its one value is exact."""
    if published is None:
        return None
    if fixed and values:
        low = high = float(values[0])
        if abs(low - published) <= EXACT_TOLERANCE:
            return Reproduction(REPRODUCED, low, high, published)
    elif len(values) < 2:
        return Reproduction(TOO_FEW, None, None, published)
    else:
        low, high = mean_interval(values)
    if low <= published <= high:
        return Reproduction(REPRODUCED, low, high, published)
    if high < published:
        return Reproduction(BELOW, low, high, published, published - high)
    return Reproduction(ABOVE, low, high, published, low - published)
