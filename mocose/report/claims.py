"""The verdicts of the paper's claims, from the runs of each cell (statistics: :mod:`.stats`; the
verdict words and the rule that picks them from an interval: :mod:`.verdicts`).

A cell's number is the mean over its runs (one per seed) with the sample standard deviation
(ddof = 1).  ``a > b + margin`` is tested by Welch's t-test (unequal variances,
Welch-Satterthwaite degrees of freedom) on ``mean(a) - mean(b) - margin``; ``|a - b| <= margin`` by
two one-sided Welch tests (TOST); a curve's recovery by a one-sample t-test on each run's
after-minus-before difference.  A cell whose runs train nothing (an untrained encoder) is one exact
number, evaluated once: a comparison with it is a one-sample t-test of the other cell against that
number, and it counts no seeds.  The p-values of a claim's checks are corrected together (Holm,
family-wise alpha 0.05).  Every test needs at least two runs per trained cell, collapse verdicts
too.

Each check's verdict comes from the interval of its difference at the level Holm's step-down gives
it (the level at which the step-down stopped, for the checks after it, so an interval excludes the
margin exactly when Holm rejects): ``holds``, ``contradicted``, ``smaller than the paper`` (the
paper's gap excluded, the margin not) or ``unresolved`` (:func:`.verdicts.claim_verdict`).  Each
comparison also reports the smallest difference its runs could detect: the difference that would
just reach significance at the check's Holm level (t quantile x standard error).

Seeds added in rounds (``mocose reproduce --until-resolved``, ``mocose seeds``) are looked at
again and again, so those verdicts use a group-sequential design (:mod:`.sequential`): looks planned
at every seed count from the start to ``--max-seeds`` per cell, the level spent over them by the
Lan-DeMets O'Brien-Fleming-type spending function (Lan & DeMets 1983, Biometrika 70:659-663;
boundaries by numerical integration as in Jennison & Turnbull 2000, "Group Sequential Methods",
ch. 19), Pocock-type on request.  Each test's p-value becomes its repeated p-value at its look (the
smallest overall level at which the design rejects there) and Holm runs on those, so the
family-wise alpha 0.05 holds across the looks and the claim's checks together; the interval and
the detectable difference are then taken at the design's nominal level for the check (a repeated
confidence interval).

``paper_claims`` runs the same checks on the paper's own numbers as if they were measured (one
value per cell, compared as points): every claim of the registry must hold there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ablations.spec import Artifact, Check, Claim

from ..config import COLLAPSE_DEV, Config
from ..presets import apply_preset
from .runs import metric_value, run_curve, trains_nothing
from .sequential import SequentialDesign
from .stats import (Stats, Welch, detectable_difference, holm, holm_levels, one_sample,
                    one_sided, stepdown_levels, welch)
from .verdicts import (CONTRADICTED, HOLDS, NO_PAPER, NOT_AT_PROFILE, NOT_ENOUGH, UNRESOLVED,
                       claim_verdict, combine)

TEST_NOTE = ("Welch's two-sided t-test over seeds on mean(a) - mean(b) - margin for 'a > b' "
             "checks; two one-sided Welch tests (TOST) for '|a - b| <= margin'; a one-sample "
             "t-test on each run's after-minus-before mean for 'recovers', and against the one "
             "number of a cell that trains nothing (evaluated once, no seeds); collapse "
             f"(STS-B dev x 100 below {COLLAPSE_DEV:g} at every validation of a window) counts "
             "runs. p-values of one claim's checks are Holm-corrected (family-wise alpha 0.05). "
             "Every test needs >= 2 runs per trained cell. Verdicts from the interval of a - b at "
             "the check's Holm level (one-sided, TOST's, for '~'): holds (above the margin; "
             "inside +-margin for '~'), contradicted (below it; outside for '~'), smaller than "
             "the paper (includes the margin, excludes the paper's gap), unresolved (includes "
             "both: 'seeds needed' more would decide). 'detectable' is the smallest difference "
             "the runs could show at that level (t quantile x standard error).")
SEQUENTIAL_NOTE = ("Seeds added in rounds (mocose reproduce --until-resolved) are tested with a "
                   "group-sequential design: looks at every seed count from the start to "
                   "--max-seeds, the level spent by Lan-DeMets {spending}-type alpha spending "
                   "(Lan & DeMets 1983; Jennison & Turnbull 2000, ch. 19), Holm on the repeated "
                   "p-values; 'detectable' is at the design's nominal level of the look.")


def note_for(design: SequentialDesign | None = None) -> str:
    """The report's test note: TEST_NOTE, and the sequential design when one was used."""
    if design is None:
        return TEST_NOTE
    spending = {"obrien-fleming": "O'Brien-Fleming", "pocock": "Pocock"}[design.spending]
    return (f"{TEST_NOTE} {SEQUENTIAL_NOTE.format(spending=spending)} Design here: looks at "
            f"{design.start}..{design.max_seeds} seeds a cell.")


def window(curve: Sequence[tuple[float, float]], steps: tuple) -> list[float]:
    """The curve's values at validations with start <= step < end (end None: to the end)."""
    start, end = steps
    return [v for s, v in curve if s >= start and (end is None or s < end)]


def collapsed_in(curve: Sequence[tuple[float, float]], steps: tuple) -> bool | None:
    """Every validation in the window below COLLAPSE_DEV (None: no validation there)."""
    values = window(curve, steps)
    return all(v < COLLAPSE_DEV for v in values) if values else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def check_values(check: Check, label: str, metric: str,
                 runs: Sequence[Mapping[str, Any]]) -> list[float]:
    """One number per run of cell ``label`` for a comparison: the metric, or with metric "dev"
    the mean dev over the check's window (runs without a validation there are left out)."""
    if metric == "dev":
        means = (_mean(window(run_curve(r), check.steps or (0, None))) for r in runs)
        return [m for m in means if m is not None]
    values = (metric_value(r, metric) for r in runs)
    return [v for v in values if v is not None]


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
    p: float | None = None  # raw p of the test that decides the verdict
    p_holm: float | None = None
    level: float | None = None  # the overall level Holm gives the check (before any look spending)
    detectable: float | None = None
    paper_gap: float | None = None  # the paper's a - b (or after - before), margin not subtracted
    n: int = 0  # runs of the smaller trained cell
    low: float | None = None  # the interval of the difference the verdict is read from
    high: float | None = None
    fixed: tuple[str, ...] = ()  # the check's cells that train nothing (one exact number each)

    @property
    def directional(self) -> str:
        """HOLDS or FAILS by the point estimate alone (what the test's verdict would confirm)."""
        if self.diff is None:
            return "-"
        op, margin = self.check.op, self.check.margin
        ok = abs(self.diff) <= margin if op == "~" else self.diff > margin
        return HOLDS if ok else CONTRADICTED


@dataclass
class ClaimResult:
    claim: Claim
    verdict: str
    checks: list[CheckResult] = field(default_factory=list)


def _paper_value(art: Artifact, label: str, metric: str) -> float | None:
    cell = art.cell(label)
    if metric == art.metric:
        return cell.paper
    return cell.paper_tasks.get(metric)


def _paper_curve(art: Artifact, label: str) -> list[tuple[float, float]]:
    return [(float(s), float(v)) for s, v in art.cell(label).paper_curve]


def paper_gap(art: Artifact, check: Check) -> float | None:
    """The paper's own difference for a check (None where the paper has no number)."""
    metric = check.metric or art.metric
    if check.op == "recovers":
        curve = _paper_curve(art, check.a)
        after, before = _mean(window(curve, check.steps)), _mean(window(curve, check.before))
        return None if after is None or before is None else after - before
    if check.op == "collapsed":
        return None
    if metric == "dev":
        a = _mean(window(_paper_curve(art, check.a), check.steps))
        b = _mean(window(_paper_curve(art, check.b), check.steps))
    else:
        a, b = _paper_value(art, check.a, metric), _paper_value(art, check.b, metric)
    return None if a is None or b is None else a - b


def difference_test(a: Stats, b: Stats, margin: float, fixed: tuple[bool, bool]) -> Welch:
    """The t-test of H0 mean(a) - mean(b) = margin: Welch's, or a one-sample test against the
    one exact number of a side that trains nothing (``fixed``: a's and b's), t signed as a - b."""
    if fixed[0] and fixed[1]:
        diff = a.mean - b.mean - margin
        t = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        return Welch(t, 1.0, 1.0 if diff == 0 else 0.0, 0.0)
    if fixed[1]:
        return one_sample(a, b.mean + margin)
    if fixed[0]:
        w = one_sample(b, a.mean - margin)
        return Welch(-w.t, w.df, w.p, w.se)
    return welch(a, b, margin)


def _compare(check: Check, metric: str, a: Stats, b: Stats,
             fixed: frozenset[str] = frozenset()) -> CheckResult:
    """The raw test of a '>' or '~' check (verdict decided after Holm, in :func:`_decide`)."""
    res = CheckResult(check, check.describe(metric), metric, NOT_ENOUGH, "", a, b)
    missing = [lbl for lbl, s in ((check.a, a), (check.b, b)) if s.n == 0]
    if missing:
        res.reason = "no result for " + ", ".join(missing)
        return res
    res.diff = a.mean - b.mean
    sides = (check.a in fixed, check.b in fixed)
    res.fixed = tuple(lbl for lbl, f in zip((check.a, check.b), sides) if f)
    trained = [s.n for s, f in zip((a, b), sides) if not f]
    res.n = min(trained, default=1)
    if trained and res.n < 2:
        res.reason = (f"n = {a.n} and {b.n}: a test needs >= 2 runs per trained cell "
                      f"(observed difference {res.diff:+.2f}: {res.directional})")
        return res
    if check.op == ">":
        res.test = difference_test(a, b, check.margin, sides)
        res.p = res.test.p
        return res
    low = difference_test(a, b, -check.margin, sides)
    high = difference_test(a, b, check.margin, sides)
    p_tost = max(one_sided(low, greater=True), one_sided(high, greater=False))
    p_out = min(one_sided(high, greater=True), one_sided(low, greater=False))
    res.test = Welch(high.t, high.df, p_tost, high.se)
    # the p that decides: equivalence if TOST is the stronger evidence, else being outside
    res.p = p_tost if p_tost <= p_out else p_out
    return res


def _recovers(check: Check, runs: Sequence[Mapping[str, Any]]) -> CheckResult:
    res = CheckResult(check, check.describe("dev"), "dev", NOT_ENOUGH, "")
    diffs = []
    for r in runs:
        curve = run_curve(r)
        after, before = _mean(window(curve, check.steps)), _mean(window(curve, check.before))
        if after is not None and before is not None:
            diffs.append(after - before)
    if not runs:
        res.reason = f"no result for {check.a}"
        return res
    if not diffs:
        res.verdict = NOT_AT_PROFILE
        res.reason = f"no run of {check.a} has validations in both windows"
        return res
    res.a = Stats(tuple(diffs))
    res.diff, res.n = res.a.mean, res.a.n
    if res.n < 2:
        res.reason = f"n = {res.n}: a test needs >= 2 runs (observed {res.diff:+.2f})"
        return res
    res.test = one_sample(res.a, check.margin)
    res.p = res.test.p
    return res


def _collapse(check: Check, runs: Sequence[Mapping[str, Any]]) -> CheckResult:
    res = CheckResult(check, check.describe("dev"), "dev", NOT_ENOUGH, "")
    if not runs:
        res.reason = f"no result for {check.a}"
        return res
    flags = [f for f in (collapsed_in(run_curve(r), check.steps) for r in runs) if f is not None]
    if not flags:
        res.verdict = NOT_AT_PROFILE
        res.reason = f"no run of {check.a} has a validation in the window"
        return res
    n, k = len(flags), sum(flags)
    res.n = n
    res.reason = f"{k} of {n} runs collapsed in the window"
    if n < 2:
        res.reason += "; a collapse verdict needs >= 2 runs"
        return res
    res.verdict = HOLDS if k == n else CONTRADICTED if k == 0 else UNRESOLVED
    return res


def _decide(res: CheckResult, level: float, stop: float, p_holm: float, gap: float | None) -> None:
    """Verdict of a tested check from the interval of its difference at level ``stop`` (its
    Holm step-down level), and the detectable difference at ``level``."""
    res.p_holm, res.paper_gap = p_holm, gap
    check = res.check
    two_sided = check.op != "~"
    res.detectable = detectable_difference(res.test, level, two_sided)
    half = detectable_difference(res.test, stop, two_sided)
    res.low, res.high = res.diff - half, res.diff + half
    res.verdict = claim_verdict(check.op, res.low, res.high, check.margin, gap)
    kind = {">": "Welch", "~": "TOST", "recovers": "one-sample t"}[check.op]
    if res.fixed and check.op != "recovers":
        kind = "one-sample t against " + " and ".join(res.fixed)
    res.reason = (f"{kind} p = {res.p:.3g}, Holm p = {p_holm:.3g}; interval "
                  f"[{res.low:+.2f}, {res.high:+.2f}] at level {stop:.3g}; detectable difference "
                  f"{res.detectable:.2f}" + (f"; paper gap {gap:+.2f}" if gap is not None else ""))


def evaluate_claims(art: Artifact, runs: Mapping[str, Sequence[Mapping[str, Any]]],
                    design: SequentialDesign | None = None) -> list[ClaimResult]:
    """Every claim of ``art`` on measured runs: ``runs[label]`` are a cell's result dicts.
    With a sequential ``design`` each test's p-value becomes its repeated p-value at the look its
    seed count makes, and its level the design's nominal level there (:mod:`.sequential`)."""
    fixed = frozenset(label for label, rs in runs.items() if rs and all(map(trains_nothing, rs)))
    out = []
    for claim in art.claims:
        results = []
        for check in claim.checks:
            metric = check.metric or art.metric
            a_runs = runs.get(check.a, ())
            if check.op == "collapsed":
                results.append(_collapse(check, a_runs))
            elif check.op == "recovers":
                results.append(_recovers(check, a_runs))
            else:
                a = Stats(tuple(check_values(check, check.a, metric, a_runs)))
                b = Stats(tuple(check_values(check, check.b, metric, runs.get(check.b, ()))))
                res = _compare(check, metric, a, b, fixed)
                if metric == "dev" and (a.n == 0 or b.n == 0) and (a_runs and runs.get(check.b)):
                    res.verdict, res.reason = NOT_AT_PROFILE, "no validation in the window"
                results.append(res)
        tested = [r for r in results if r.test is not None]
        pvalues = [r.p if design is None else design.repeated_p(r.p, r.n) for r in tested]
        for res, level, stop, p_adj in zip(tested, holm_levels(pvalues), stepdown_levels(pvalues),
                                           holm(pvalues)):
            res.level = level
            if design is not None:
                level, stop = design.nominal(level, res.n), design.nominal(stop, res.n)
            _decide(res, level, stop, p_adj, paper_gap(art, res.check))
        for res in results:
            if res.paper_gap is None and res.check.op != "collapsed":
                res.paper_gap = paper_gap(art, res.check)
        out.append(ClaimResult(claim, combine([r.verdict for r in results]), results))
    return out


def paper_claims(art: Artifact) -> list[ClaimResult]:
    """Every claim of ``art`` checked on the paper's own numbers as if measured (one value per
    cell, compared as points): HOLDS / FAILS per check, NO_PAPER where the paper has no number."""
    out = []
    for claim in art.claims:
        results = []
        for check in claim.checks:
            metric = check.metric or art.metric
            res = CheckResult(check, check.describe(metric), metric, NO_PAPER, "", n=1)
            if check.op == "collapsed":
                flag = collapsed_in(_paper_curve(art, check.a), check.steps)
                if flag is not None:
                    res.verdict = HOLDS if flag else CONTRADICTED
                    values = window(_paper_curve(art, check.a), check.steps)
                    res.reason = f"paper curve in the window: max {max(values):.2f}"
            else:
                res.paper_gap = paper_gap(art, check)
                if res.paper_gap is not None:
                    res.diff = res.paper_gap
                    res.verdict = res.directional
                    res.reason = f"paper difference {res.paper_gap:+.2f}"
            if res.verdict == NO_PAPER:
                res.reason = "the paper gives no number for " + " or ".join(check.labels)
            results.append(res)
        verdicts = [r.verdict for r in results]
        if CONTRADICTED in verdicts:
            verdict = CONTRADICTED
        elif all(v == NO_PAPER for v in verdicts):
            verdict = NO_PAPER
        else:
            verdict = HOLDS
        out.append(ClaimResult(claim, verdict, results))
    return out


def cell_runs(art: Artifact, profile: str, results: Mapping[str, Mapping[str, Any]],
              preset: str = "clean", once: bool = True) -> dict[str, list[Mapping[str, Any]]]:
    """The finished runs of every run cell of ``art``: a run belongs to a cell when its recipe
    (config without seed and eval_tasks: Config.recipe_digest) is one of the cell's recipes, as
    preset ``preset`` makes them (mocose.presets: the study's own fields win over the preset).
    A cell whose runs train nothing keeps one (its first seed's: the score does not depend on
    the seed), unless ``once`` is false."""
    by_recipe: dict[str, list[Mapping[str, Any]]] = {}
    for run_id, result in sorted(results.items()):
        try:
            key = Config.from_dict(result["config"]).recipe_digest()
        except (KeyError, TypeError, ValueError):
            continue  # not a result this suite wrote
        by_recipe.setdefault(key, []).append(result)
    out: dict[str, list[Mapping[str, Any]]] = {}
    for cell in art.run_cells:
        keep = set(art.base) | set(cell.overrides)
        keys = dict.fromkeys(apply_preset(c, preset, keep).recipe_digest()
                             for c in art.cell_configs(cell, profile))
        found = [r for k in keys for r in by_recipe.get(k, [])]
        if once and found and all(map(trains_nothing, found)):  # one exact number: the first seed's run
            found = sorted(found, key=lambda r: (not isinstance(r.get("seed"), int),
                                                 r.get("seed") or 0, str(r.get("run_id"))))[:1]
        out[cell.label] = found
    return out
