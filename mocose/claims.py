"""Per-cell statistics over seeds and the verdicts of the paper's claims.

A cell's number is the mean over its runs (one per seed) with the sample standard deviation
(ddof = 1).  A comparison ``a > b + margin`` is decided by Welch's two-sided t-test (unequal
variances, Welch-Satterthwaite degrees of freedom) on ``mean(a) - mean(b) - margin`` at
alpha = 0.05; ``|a - b| <= margin`` by two one-sided Welch tests (TOST) at the same alpha.  The
tests need at least two runs in each cell: with one run the direction is shown but no verdict is
given ("not enough runs"), since a single seed says nothing about seed noise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from scipy import stats as _stats

from ablations.spec import Artifact, Check, Claim

ALPHA = 0.05
HOLDS = "holds"
FAILS = "does not hold"
INCONCLUSIVE = "inconclusive within seed noise"
NOT_ENOUGH = "not enough runs"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, NOT_ENOUGH)
TEST_NOTE = ("Welch's two-sided t-test over seeds (alpha 0.05) on mean(a) - mean(b) - margin for "
             "'a > b' checks; two one-sided Welch tests (TOST, alpha 0.05) for '|a - b| <= margin'; "
             "collapse checks count collapsed runs. A test needs >= 2 runs per cell; a claim "
             "holds when all its checks hold, does not hold when any check is contradicted with "
             "significance.")


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


@dataclass
class CheckResult:
    """The outcome of one check, with the numbers behind it."""

    check: Check
    text: str
    metric: str
    verdict: str
    reason: str
    a: Stats | None = None
    b: Stats | None = None
    diff: float | None = None
    test: Welch | None = None
    paper: str = "-"  # the check on the paper's own numbers: holds / does not hold / -


@dataclass
class ClaimResult:
    claim: Claim
    verdict: str
    checks: list[CheckResult] = field(default_factory=list)
    paper: str = "-"


def _paper_direction(check: Check, pa: float | None, pb: float | None) -> str:
    if pa is None or pb is None or check.op not in (">", "~"):
        return "-"
    ok = pa - pb > check.margin if check.op == ">" else abs(pa - pb) <= check.margin
    return HOLDS if ok else FAILS


def check_compare(check: Check, metric: str, a: Stats, b: Stats,
                  paper_a: float | None = None, paper_b: float | None = None) -> CheckResult:
    """Verdict of a '>' or '~' check from the two cells' values."""
    text = check.describe(metric)
    res = CheckResult(check, text, metric, NOT_ENOUGH, "", a, b,
                      paper=_paper_direction(check, paper_a, paper_b))
    missing = [lbl for lbl, s in ((check.a, a), (check.b, b)) if s.n == 0]
    if missing:
        res.reason = "no result for " + ", ".join(missing)
        return res
    res.diff = a.mean - b.mean
    if a.n < 2 or b.n < 2:
        if check.op == ">":
            seen = "a > b + margin" if res.diff > check.margin else "not a > b + margin"
        else:
            seen = "within the margin" if abs(res.diff) <= check.margin else "outside the margin"
        res.reason = (f"n = {a.n} and {b.n}: a test needs >= 2 runs per cell "
                      f"(observed difference {res.diff:+.2f}: {seen})")
        return res
    if check.op == ">":
        res.test = welch(a, b, check.margin)
        if res.test.p < ALPHA:
            res.verdict = HOLDS if res.diff > check.margin else FAILS
        else:
            res.verdict = INCONCLUSIVE
        res.reason = f"Welch t = {res.test.t:.2f}, df = {res.test.df:.1f}, p = {res.test.p:.3g}"
        return res
    # '~': TOST for equivalence within +-margin, and a plain test for being outside it
    low, high = welch(a, b, -check.margin), welch(a, b, check.margin)
    p_low = _one_sided(low, greater=True)  # H0: diff <= -margin
    p_high = _one_sided(high, greater=False)  # H0: diff >= margin
    p_tost = max(p_low, p_high)
    res.test = Welch(high.t, high.df, p_tost, high.se)
    if p_tost < ALPHA:
        res.verdict = HOLDS
    elif _one_sided(high, greater=True) < ALPHA or _one_sided(low, greater=False) < ALPHA:
        res.verdict = FAILS
    else:
        res.verdict = INCONCLUSIVE
    res.reason = f"TOST p = {p_tost:.3g} (Welch df = {high.df:.1f})"
    return res


def _one_sided(w: Welch, greater: bool) -> float:
    """One-sided p-value of a Welch statistic: H1 diff > margin (greater) or diff < margin."""
    if math.isinf(w.t):
        return 0.0 if (w.t > 0) == greater else 1.0
    if w.se == 0.0:
        return 1.0
    return float(_stats.t.sf(w.t, w.df) if greater else _stats.t.cdf(w.t, w.df))


def check_collapse(check: Check, collapsed_flags: Sequence[bool]) -> CheckResult:
    """Verdict of a 'collapsed' or 'stable' check from each run's collapse flag."""
    text = check.describe("")
    n, k = len(collapsed_flags), sum(bool(f) for f in collapsed_flags)
    res = CheckResult(check, text, "collapse", NOT_ENOUGH, "")
    if n == 0:
        res.reason = f"no result for {check.a}"
        return res
    res.reason = f"{k} of {n} runs collapsed"
    if k == n:
        res.verdict = HOLDS if check.op == "collapsed" else FAILS
    elif k == 0:
        res.verdict = FAILS if check.op == "collapsed" else HOLDS
    else:
        res.verdict = INCONCLUSIVE
    return res


def combine(verdicts: Sequence[str]) -> str:
    """A claim's verdict from its checks' (all must hold)."""
    if any(v == FAILS for v in verdicts):
        return FAILS
    if any(v == NOT_ENOUGH for v in verdicts):
        return NOT_ENOUGH
    if any(v == INCONCLUSIVE for v in verdicts):
        return INCONCLUSIVE
    return HOLDS


def _combine_paper(verdicts: Sequence[str]) -> str:
    if not verdicts or any(v == "-" for v in verdicts):
        return "-" if not any(v == FAILS for v in verdicts) else FAILS
    return HOLDS if all(v == HOLDS for v in verdicts) else FAILS


def evaluate_claims(art: Artifact, values: Mapping[tuple[str, str], Sequence[float]],
                    collapsed: Mapping[str, Sequence[bool]]) -> list[ClaimResult]:
    """Every claim of ``art``: ``values[(label, metric)]`` are a cell's per-run numbers,
    ``collapsed[label]`` each of its runs' collapse flags."""
    out = []
    for claim in art.claims:
        results = []
        for check in claim.checks:
            if check.op in ("collapsed", "stable"):
                results.append(check_collapse(check, collapsed.get(check.a, ())))
                continue
            metric = check.metric or art.metric
            a = Stats(tuple(values.get((check.a, metric), ())))
            b = Stats(tuple(values.get((check.b, metric), ())))
            results.append(check_compare(check, metric, a, b, _paper(art, check.a, metric),
                                         _paper(art, check.b, metric)))
        out.append(ClaimResult(claim, combine([r.verdict for r in results]), results,
                               _combine_paper([r.paper for r in results])))
    return out


def _paper(art: Artifact, label: str, metric: str) -> float | None:
    cell = art.cell(label)
    if metric == art.metric:
        return cell.paper
    return cell.paper_tasks.get(metric)
