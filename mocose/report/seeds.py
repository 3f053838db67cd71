"""Seeds per claim: how many runs each claim's cells have, whether the claim is resolved, and how
many seeds per cell would resolve the paper's gap with power 0.8 (``mocose seeds``,
``mocose reproduce --until-resolved``, the report's claims tables).

``seeds_needed`` of a check is the fewest seeds per cell at which its test, at the level Holm gives
it and the sequential design's nominal level at that look (:mod:`.sequential`; the fixed-sample
level without a design), detects the paper's gap (the observed difference where the paper has no
number) with power 0.8: ``(t_crit + t_0.8) x se(n) <= effect``, ``effect`` the paper's gap minus
the margin for ``a > b`` and recovers, the margin minus ``|gap|`` for ``|a - b| <= margin``.  When
the check is still open at that many seeds or more, the difference here must be smaller than the
paper's, and the plan is made for the observed difference instead (at least one seed more).
``se(n)`` comes from the cells' variances *shrunk toward a pooled variance*: the pooled variance of
every cell of the artifact on the same metric (weighted by degrees of freedom) acts as a prior worth
``SHRINK_DF`` degrees of freedom, ``((n - 1) s^2 + SHRINK_DF s_pool^2) / (n - 1 + SHRINK_DF)``, so
three runs that happen to agree closely do not promise a resolution at four; a cell with fewer than
two runs takes the pooled variance alone.  A claim is resolved when its verdict holds or does not
hold; its ``seeds_needed`` is the largest of its unresolved checks', or "not resolvable below N"
when one of them needs more than ``--max-seeds`` N.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ablations.spec import Artifact, Cell, Claim, beats

from .claims import CheckResult, ClaimResult, evaluate_claims
from .sequential import SequentialDesign, seeds_for_power
from .stats import ALPHA, Stats
from .verdicts import CONTRADICTED, HOLDS, NO_PAPER, NOT_AT_PROFILE, NOT_ENOUGH

RESOLVED = "resolved"
NOT_TESTABLE = "not testable at this profile"
DEFAULT_MAX_SEEDS = 10
SHRINK_DF = 2  # degrees of freedom the pooled variance counts for in a cell's planning variance


def beyond(max_seeds: int) -> str:
    """The seeds_needed of a check that needs more than ``max_seeds`` seeds per cell."""
    return f"not resolvable below {max_seeds}"


@dataclass
class CheckSeeds:
    """One check's seeds: runs per cell, its verdict, what it could detect, what it needs."""

    text: str
    verdict: str
    seeds_used: dict[str, int]
    seeds_needed: int | str
    detectable: float | None
    paper_gap: float | None


@dataclass
class ClaimSeeds:
    """One claim's seeds (``mocose seeds --json`` prints :meth:`to_dict` of each)."""

    artifact: str
    claim: str
    verdict: str
    seeds_used: dict[str, int]
    seeds_needed: int | str
    detectable: float | None
    paper_gap: float | None
    checks: list[CheckSeeds] = field(default_factory=list)

    @property
    def resolved(self) -> bool:
        return self.seeds_needed == RESOLVED

    def to_dict(self) -> dict[str, Any]:
        return {"artifact": self.artifact, "claim": self.claim, "verdict": self.verdict,
                "seeds_used": self.seeds_used, "seeds_needed": self.seeds_needed,
                "detectable": self.detectable, "paper_gap": self.paper_gap,
                "checks": [vars(c) for c in self.checks]}


def _key(res: CheckResult) -> tuple:
    return (res.metric, tuple(res.check.steps))


def pooled_variances(results: Sequence[ClaimResult]) -> dict[tuple, float]:
    """Per (metric, window): the variance pooled over every cell with >= 2 values in the checks."""
    seen: dict[tuple, dict[str, Stats]] = {}
    for cr in results:
        for res in cr.checks:
            for label, st in ((res.check.a, res.a), (res.check.b, res.b)):
                if st is not None and st.n >= 2 and res.check.op in (">", "~"):
                    seen.setdefault(_key(res), {})[label] = st
    out = {}
    for key, cells in seen.items():
        dof = sum(s.n - 1 for s in cells.values())
        out[key] = sum((s.n - 1) * s.var for s in cells.values()) / dof
    return out


def planning_variance(st: Stats | None, pooled: float | None) -> float | None:
    """A cell's variance for planning: shrunk toward ``pooled`` (module docstring)."""
    if st is None or st.n < 2:
        return pooled
    if pooled is None:
        return st.var
    return ((st.n - 1) * st.var + SHRINK_DF * pooled) / (st.n - 1 + SHRINK_DF)


def _used(res: CheckResult, runs: Mapping[str, Sequence[Any]]) -> dict[str, int]:
    if res.check.op in (">", "~"):  # a cell that trains nothing counts no seeds
        used = {res.check.a: res.a.n if res.a else 0, res.check.b: res.b.n if res.b else 0}
        return {label: n for label, n in used.items() if label not in res.fixed}
    return {res.check.a: res.n if res.n else len(runs.get(res.check.a, ()))}


def check_needed(res: CheckResult, n_checks: int, pooled: Mapping[tuple, float],
                 design: SequentialDesign | None, max_seeds: int) -> int | str:
    """The seeds per cell that would resolve ``res`` (module docstring), or RESOLVED,
    NOT_TESTABLE, or beyond(max_seeds)."""
    if res.verdict in (HOLDS, CONTRADICTED):
        return RESOLVED
    if res.verdict in (NOT_AT_PROFILE, NO_PAPER):
        return NOT_TESTABLE
    check = res.check
    if check.op == "collapsed":  # counts runs: 2 settle it unless they disagree, which more cannot fix
        return 2 if res.verdict == NOT_ENOUGH else beyond(max_seeds)
    gap = res.paper_gap if res.paper_gap is not None else res.diff
    start = design.start if design is not None else 2
    if gap is None:
        return max(2, start)  # no number to plan for yet: the first runs
    if check.op == "~":
        effect = check.margin - abs(gap)
    else:
        effect = gap - check.margin
    pool = pooled.get(_key(res))
    # a cell that trains nothing is an exact number: no variance
    var_a = 0.0 if check.a in res.fixed else planning_variance(res.a, pool)
    var_b = (None if check.op == "recovers" else
             0.0 if check.b in res.fixed else planning_variance(res.b, pool))
    if var_a is None or (check.op != "recovers" and var_b is None):
        return max(2, start)  # no spread measured anywhere yet
    level = res.level if res.level is not None else ALPHA / max(1, n_checks)
    plan = design if design is not None else SequentialDesign(max_seeds, max_seeds)

    def needed(effect: float) -> int | None:
        return seeds_for_power(effect, var_a, var_b, level, plan, two_sided=check.op != "~",
                               limit=max_seeds, fixed=design is None)

    n = needed(effect)
    used = res.n or 0
    if n is not None and n <= used and res.diff is not None:
        # the paper's gap would be seen by now, so the gap here is smaller: plan for the observed one
        observed = check.margin - abs(res.diff) if check.op == "~" else res.diff - check.margin
        n = needed(observed)
        if n is not None:
            n = max(n, used + 1)
    return beyond(max_seeds) if n is None or n > max_seeds else n


def claim_seeds(art: Artifact, runs: Mapping[str, Sequence[Mapping[str, Any]]],
                design: SequentialDesign | None = None,
                max_seeds: int | None = None) -> list[ClaimSeeds]:
    """Every claim of ``art`` with its seeds (``runs[label]``: a cell's result dicts), tested under
    ``design`` (None: fixed-sample tests) and planned up to ``max_seeds`` seeds per cell."""
    return seeds_of_results(art, evaluate_claims(art, runs, design), runs, design, max_seeds)


def seeds_of_results(art: Artifact, results: Sequence[ClaimResult],
                     runs: Mapping[str, Sequence[Mapping[str, Any]]],
                     design: SequentialDesign | None = None,
                     max_seeds: int | None = None) -> list[ClaimSeeds]:
    """:func:`claim_seeds` from claim verdicts already evaluated (under the same ``design``)."""
    max_seeds = max_seeds or (design.max_seeds if design else DEFAULT_MAX_SEEDS)
    pooled = pooled_variances(results)
    out = []
    for cr in results:
        checks = [CheckSeeds(res.text, res.verdict, _used(res, runs),
                             check_needed(res, len(cr.checks), pooled, design, max_seeds),
                             res.detectable, res.paper_gap) for res in cr.checks]
        used: dict[str, int] = {}
        for c in checks:
            used.update(c.seeds_used)
        open_ = [c for c in checks if c.seeds_needed != RESOLVED]
        if cr.verdict in (HOLDS, CONTRADICTED) or not open_:
            needed: int | str = RESOLVED
            limiting = checks[0] if checks else None
        elif any(c.seeds_needed == NOT_TESTABLE for c in open_):
            needed, limiting = NOT_TESTABLE, next(c for c in open_ if c.seeds_needed == NOT_TESTABLE)
        elif any(isinstance(c.seeds_needed, str) for c in open_):
            limiting = next(c for c in open_ if isinstance(c.seeds_needed, str))
            needed = limiting.seeds_needed
        else:
            limiting = max(open_, key=lambda c: c.seeds_needed)
            needed = limiting.seeds_needed
        out.append(ClaimSeeds(art.name, cr.claim.text, cr.verdict, used, needed,
                              limiting.detectable if limiting else None,
                              limiting.paper_gap if limiting else None, checks))
    return out


def next_targets(claims: Sequence[ClaimSeeds], max_seeds: int) -> dict[str, int]:
    """The seeds per cell the next round should reach: for each claim not yet resolved (and
    testable), its cells go to its ``seeds_needed`` (or ``max_seeds`` when it is not resolvable
    below that), at least one more than they have and at most ``max_seeds``. Cells already there
    are left out; an empty answer means the sweep is done."""
    targets: dict[str, int] = {}
    for cs in claims:
        if cs.resolved or cs.seeds_needed == NOT_TESTABLE:
            continue
        for c in cs.checks:
            if c.seeds_needed in (RESOLVED, NOT_TESTABLE):
                continue
            want = c.seeds_needed if isinstance(c.seeds_needed, int) else max_seeds
            for label, n in c.seeds_used.items():
                goal = min(max_seeds, max(want, n + 1))
                if goal > n:
                    targets[label] = max(targets.get(label, 0), goal)
    return targets


def simulate(effect: float, sd: float, start: int = 3, max_seeds: int = DEFAULT_MAX_SEEDS,
             trials: int = 2000, seed: int = 0, spending: str = "obrien-fleming") -> dict[str, float]:
    """The until-resolved procedure on simulated cells: one claim "a > b", a's runs N(effect, sd),
    b's N(0, sd), the paper's gap ``effect``; each sweep starts at ``start`` seeds a cell and adds
    seeds by :func:`next_targets` until resolved or at ``max_seeds``, with exactly the tests,
    design and planning of a real sweep. Returns the fraction of sweeps that rejected (a
    significant verdict either way), the mean seeds per cell at the end, and the fraction that
    reached ``max_seeds``."""
    if trials < 1 or sd <= 0:
        raise ValueError(f"trials={trials} must be >= 1 and sd={sd} > 0")
    design = SequentialDesign(start, max_seeds, spending)
    art = Artifact("simulated", "simulated claim", "table",
                   (Cell("a", paper=float(effect)), Cell("b", paper=0.0)),
                   claims=(Claim("a beats b", (beats("a", "b"),)),))
    rng = np.random.default_rng(seed)
    rejected, seeds, hit = 0, 0, 0
    for _ in range(trials):
        draws = {"a": rng.normal(effect, sd, max_seeds), "b": rng.normal(0.0, sd, max_seeds)}
        n = {"a": start, "b": start}
        while True:
            runs = {k: [{"metrics": {"avg": {"sts": float(v)}}} for v in draws[k][:n[k]]] for k in n}
            (cs,) = claim_seeds(art, runs, design, max_seeds)
            targets = next_targets([cs], max_seeds)
            if not targets:
                break
            n.update(targets)
        rejected += cs.verdict in (HOLDS, CONTRADICTED)
        seeds += max(n.values())
        hit += max(n.values()) >= max_seeds
    return {"reject_rate": rejected / trials, "mean_seeds": seeds / trials,
            "max_seeds_hit": hit / trials}


def next_round(art: Artifact, profile: str, results_dir: Any, start: int, max_seeds: int,
               spending: str = "obrien-fleming", preset: str = "clean") -> tuple[dict[str, int], list[ClaimSeeds]]:
    """What ``reproduce --until-resolved`` runs next for ``art``: (:func:`next_targets` from the
    runs in ``results_dir``, every claim's seeds), under the design start..max_seeds."""
    from ..runner.store import load_results
    from .claims import cell_runs

    design = SequentialDesign(start, max_seeds, spending)
    runs = cell_runs(art, profile, load_results(results_dir, profile), preset)
    claims = claim_seeds(art, runs, design, max_seeds)
    return next_targets(claims, max_seeds), claims


def recorded_design(results_dir: Any, profile: str, name: str) -> SequentialDesign | None:
    """The sequential design ``reproduce --until-resolved`` recorded for an artifact
    (RESULTS/<profile>/sequential/<name>.json), or None: its runs then get fixed-sample tests."""
    from ..runner.store import read_design

    data = read_design(results_dir, profile, name)
    if not data:
        return None
    try:
        return SequentialDesign(int(data["start"]), int(data["max_seeds"]),
                                str(data.get("spending", "obrien-fleming")))
    except (KeyError, TypeError, ValueError):
        return None
