"""Per-cell statistics over seeds and the verdicts of the paper's claims.

A cell's number is the mean over its runs (one per seed) with the sample standard deviation
(ddof = 1).  ``a > b + margin`` is decided by Welch's two-sided t-test (unequal variances,
Welch-Satterthwaite degrees of freedom) on ``mean(a) - mean(b) - margin``; ``|a - b| <= margin`` by
two one-sided Welch tests (TOST); a curve's recovery by a one-sample t-test on each run's
after-minus-before difference.  The p-values of a claim's checks are corrected together (Holm,
family-wise alpha 0.05).  Every test needs at least two runs per cell, collapse verdicts too.

Each comparison also reports the smallest difference its runs could detect: the difference that
would just reach significance at the level Holm gives that check, from the measured spread
(t quantile x standard error).  When a test is inconclusive and the paper's own gap is below that,
the verdict says "not resolvable with N seeds" instead: more seeds, not a different result, are
needed.

``paper_claims`` runs the same checks on the paper's own numbers as if they were measured (one
value per cell, compared as points): every claim of the registry must hold there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from scipy import stats as _stats

from ablations.spec import COLLAPSE_DEV, Artifact, Check, Claim

ALPHA = 0.05
HOLDS = "holds"
FAILS = "does not hold"
INCONCLUSIVE = "inconclusive within seed noise"
NOT_ENOUGH = "not enough runs"
NOT_AT_PROFILE = "no validation in the window at this profile"
NO_PAPER = "no paper number"
RESOLVABLE_PREFIX = "not resolvable with"
TEST_NOTE = ("Welch's two-sided t-test over seeds on mean(a) - mean(b) - margin for 'a > b' "
             "checks; two one-sided Welch tests (TOST) for '|a - b| <= margin'; a one-sample "
             "t-test on each run's after-minus-before mean for 'recovers'; collapse "
             f"(STS-B dev x 100 below {COLLAPSE_DEV:g} at every validation of a window) counts "
             "runs. p-values of one claim's checks are Holm-corrected (family-wise alpha 0.05). "
             "Every test needs >= 2 runs per cell. 'detectable' is the smallest difference the "
             "runs could show at the check's Holm level (t quantile x standard error); when the "
             "paper's gap is below it the verdict is 'not resolvable with N seeds'.")


def not_resolvable(n: int) -> str:
    """The verdict of an inconclusive test whose paper gap is below what n seeds can detect."""
    return f"{RESOLVABLE_PREFIX} {n} seed{'s' if n != 1 else ''}"


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


def _one_sided(w: Welch, greater: bool) -> float:
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


def detectable_difference(test: Welch, level: float, two_sided: bool = True) -> float:
    """The smallest difference that reaches significance at ``level``: t quantile x standard error."""
    if test.se == 0.0:
        return 0.0
    q = 1 - level / 2 if two_sided else 1 - level
    return float(_stats.t.ppf(q, test.df) * test.se)


# -- what a run contributes -----------------------------------------------------------------------
def metric_value(result: Mapping[str, Any], metric: str) -> float | None:
    """A run's number for ``metric``: an average (sts, transfer), an analysis (alignment,
    uniformity, align_uniform = their sum, sv_auc = mean singular value / largest), or a task's
    score. None when the result lacks it."""
    metrics = result.get("metrics") or {}
    analysis = result.get("analysis") or {}
    if metric in ("sts", "transfer"):
        value = (metrics.get("avg") or {}).get(metric)
    elif metric in ("alignment", "uniformity"):
        value = analysis.get(metric)
    elif metric == "align_uniform":
        a, u = analysis.get("alignment"), analysis.get("uniformity")
        value = a + u if _number(a) and _number(u) else None
    elif metric == "sv_auc":
        sv = [v for v in analysis.get("singular_values") or () if _number(v)]
        top = max(sv, default=0.0)
        value = sum(v / top for v in sv) / len(sv) if top > 0 else None
    else:
        task = (metrics.get("tasks") or {}).get(metric)
        value = task.get("score") if isinstance(task, Mapping) else task
    return float(value) if _number(value) else None


def _number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def run_curve(result: Mapping[str, Any]) -> list[tuple[float, float]]:
    """A run's validation curve: (step, STS-B dev Spearman x 100) at each validation."""
    curve = (result.get("training") or {}).get("curve") or []
    return [(float(r["step"]), float(r["dev_spearman"])) for r in curve
            if isinstance(r, Mapping) and _number(r.get("step")) and _number(r.get("dev_spearman"))]


def window(curve: Sequence[tuple[float, float]], steps: tuple) -> list[float]:
    """The curve's values at validations with start <= step < end (end None: to the end)."""
    start, end = steps
    return [v for s, v in curve if s >= start and (end is None or s < end)]


def is_collapsed(curve: Sequence[tuple[float, float]], steps: tuple) -> bool | None:
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


# -- results ----------------------------------------------------------------------------------------
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
    detectable: float | None = None
    paper_gap: float | None = None  # the paper's a - b (or after - before), margin not subtracted
    n: int = 0  # runs of the smaller cell

    @property
    def directional(self) -> str:
        """HOLDS or FAILS by the point estimate alone (what the test's verdict would confirm)."""
        if self.diff is None:
            return "-"
        op, margin = self.check.op, self.check.margin
        ok = abs(self.diff) <= margin if op == "~" else self.diff > margin
        return HOLDS if ok else FAILS


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


def _compare(check: Check, metric: str, a: Stats, b: Stats) -> CheckResult:
    """The raw test of a '>' or '~' check (verdict decided after Holm, in :func:`_decide`)."""
    res = CheckResult(check, check.describe(metric), metric, NOT_ENOUGH, "", a, b)
    missing = [lbl for lbl, s in ((check.a, a), (check.b, b)) if s.n == 0]
    if missing:
        res.reason = "no result for " + ", ".join(missing)
        return res
    res.diff = a.mean - b.mean
    res.n = min(a.n, b.n)
    if res.n < 2:
        res.reason = (f"n = {a.n} and {b.n}: a test needs >= 2 runs per cell "
                      f"(observed difference {res.diff:+.2f}: {res.directional})")
        return res
    if check.op == ">":
        res.test = welch(a, b, check.margin)
        res.p = res.test.p
        return res
    low, high = welch(a, b, -check.margin), welch(a, b, check.margin)
    p_tost = max(_one_sided(low, greater=True), _one_sided(high, greater=False))
    p_out = min(_one_sided(high, greater=True), _one_sided(low, greater=False))
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
    flags = [f for f in (is_collapsed(run_curve(r), check.steps) for r in runs) if f is not None]
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
    res.verdict = HOLDS if k == n else FAILS if k == 0 else INCONCLUSIVE
    return res


def _decide(res: CheckResult, level: float, p_holm: float, gap: float | None) -> None:
    """Verdict of a tested check from its Holm-adjusted p and the detectable difference."""
    res.p_holm, res.paper_gap = p_holm, gap
    check = res.check
    two_sided = check.op != "~"
    res.detectable = detectable_difference(res.test, level, two_sided)
    significant = p_holm < ALPHA
    if check.op == "~":
        p_tost = res.test.p
        if significant:
            res.verdict = HOLDS if res.p == p_tost else FAILS
        resolvable = gap is None or check.margin - abs(gap) >= res.detectable
    else:
        if significant:
            res.verdict = HOLDS if res.diff > check.margin else FAILS
        resolvable = gap is None or gap - check.margin >= res.detectable
    if not significant:
        res.verdict = INCONCLUSIVE if resolvable else not_resolvable(res.n)
    kind = {">": "Welch", "~": "TOST", "recovers": "one-sample t"}[check.op]
    res.reason = (f"{kind} p = {res.p:.3g}, Holm p = {p_holm:.3g}; detectable difference "
                  f"{res.detectable:.2f} at level {level:.3g}"
                  + (f"; paper gap {gap:+.2f}" if gap is not None else ""))


def combine(verdicts: Sequence[str]) -> str:
    """A claim's verdict from its checks' (all must hold)."""
    for worst in (FAILS, NOT_ENOUGH, NOT_AT_PROFILE, INCONCLUSIVE):
        if worst in verdicts:
            return worst
    resolvable = [v for v in verdicts if v.startswith(RESOLVABLE_PREFIX)]
    return resolvable[0] if resolvable else HOLDS


def evaluate_claims(art: Artifact, runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[ClaimResult]:
    """Every claim of ``art`` on measured runs: ``runs[label]`` are a cell's result dicts."""
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
                res = _compare(check, metric, a, b)
                if metric == "dev" and (a.n == 0 or b.n == 0) and (a_runs and runs.get(check.b)):
                    res.verdict, res.reason = NOT_AT_PROFILE, "no validation in the window"
                results.append(res)
        tested = [r for r in results if r.test is not None]
        pvalues = [r.p for r in tested]
        for res, level, p_adj in zip(tested, holm_levels(pvalues), holm(pvalues)):
            _decide(res, level, p_adj, paper_gap(art, res.check))
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
                flag = is_collapsed(_paper_curve(art, check.a), check.steps)
                if flag is not None:
                    res.verdict = HOLDS if flag else FAILS
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
        if FAILS in verdicts:
            verdict = FAILS
        elif all(v == NO_PAPER for v in verdicts):
            verdict = NO_PAPER
        else:
            verdict = HOLDS
        out.append(ClaimResult(claim, verdict, results))
    return out


# -- which runs belong to a cell ------------------------------------------------------------------
def cell_runs(art: Artifact, profile: str, results: Mapping[str, Mapping[str, Any]],
              preset: str = "clean") -> dict[str, list[Mapping[str, Any]]]:
    """The finished runs of every run cell of ``art``: a run belongs to a cell when its recipe
    (config without seed and eval_tasks: Config.recipe_digest) is one of the cell's recipes, as
    preset ``preset`` makes them (mocose.presets: the study's own fields win over the preset)."""
    from mocose.config import Config
    from mocose.presets import apply_preset

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
        out[cell.label] = [r for k in keys for r in by_recipe.get(k, [])]
    return out


# -- the command ------------------------------------------------------------------------------------
def format_claims(name: str, results: Sequence[ClaimResult]) -> list[str]:
    """One line per claim (its verdict), one per check beneath it."""
    lines = []
    for res in results:
        lines.append(f"{name}: [{res.verdict}] {res.claim.text}")
        for c in res.checks:
            lines.append(f"    [{c.verdict}] {c.text}: {c.reason}")
    return lines


def cmd_claims(args) -> int:
    """Print every claim of the named (default: all) artifacts with its verdict; exit 1 if any
    does not hold."""
    import ablations

    names = args.names or ablations.names()
    arts = [ablations.get(n) for n in names]
    failed = 0
    if args.against_paper:
        print("Claims checked on the paper's own numbers as if measured (point comparisons):")
        for art in arts:
            results = paper_claims(art)
            failed += sum(r.verdict == FAILS for r in results)
            print("\n".join(format_claims(art.name, results)))
    else:
        from mocose.runner.plan import results_root
        from mocose.runner.store import load_results

        results_dir = results_root(args.results)
        found = load_results(results_dir, args.profile)
        print(f"Claims on the measured runs of profile {args.profile!r} ({results_dir}). {TEST_NOTE}")
        for art in arts:
            results = evaluate_claims(art, cell_runs(art, args.profile, found))
            failed += sum(r.verdict == FAILS for r in results)
            print("\n".join(format_claims(art.name, results)))
    total = sum(len(a.claims) for a in arts)
    print(f"{total} claims of {len(arts)} artifacts; {failed} do not hold")
    return 1 if failed else 0


def register(subparsers: Any) -> None:
    """Add ``claims`` to the mocose command."""
    p = subparsers.add_parser(
        "claims", help="the paper's claims with their verdicts (on measured runs or the paper's numbers)",
        description="Print every claim of the named artifacts (default: all) with its verdict: on "
                    "the measured runs of a profile, or with --against-paper on the paper's own "
                    "numbers as if measured. Exits 1 when any claim does not hold.")
    p.add_argument("names", nargs="*", help="artifact names (default: every artifact)")
    p.add_argument("--against-paper", action="store_true",
                   help="check the claims on the paper's own numbers")
    p.add_argument("--profile", default="cpu", help="profile of the measured runs (default: cpu)")
    p.add_argument("--results", default=None, help="results folder (default: $MOCOSE_RESULTS or ./results)")
    p.set_defaults(func=cmd_claims)
