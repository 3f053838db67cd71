"""``reproduce --until-resolved``: rounds of seeds per artifact, added only where a claim is still
unresolved (docs/seeds.md); the statistics are the report's (mocose.report.seeds)."""
from __future__ import annotations

import io
import sys

from ablations.spec import Artifact, Cell
from ..config import Config
from ..presets import preset_configs
from ..profiles import load_profile
from ..runner import store
from ..runner.dispatch import SlotPool
from ..runner.plan import counts, plan_runs
from ..runner.sweep import SweepOptions, execute
from .request import ReproduceRequest


def seed_pairs(art: Artifact, profile: str, targets: dict[str, int],
               preset: str = "clean") -> list[tuple[Cell, Config]]:
    """The (cell, config) runs of ``art`` with ``targets[label]`` seeds in each cell: the first
    seeds of the profile's list (base, base+1, ...), so the same targets give the same runs."""
    if not targets:
        return []
    base = load_profile(profile).train.seed
    return [(cell, config) for cell, config in preset_configs(art, profile, max(targets.values()), preset)
            if config.train.seed - base < targets.get(cell.label, 0)]


def reproduce_until_resolved(art: Artifact, request: ReproduceRequest, options: SweepOptions,
                             keep_best: frozenset[str], pool: SlotPool | None) -> tuple[dict[str, int], bool, set[str]]:
    """Rounds of seeds for one artifact: every cell at --seeds, then only the cells of claims
    still unresolved, as many more as the claims' seeds_needed says (mocose.report.seeds), until
    every claim is resolved or its cells have --max-seeds; with --dry-run, price the next round
    only. Returns (the last round's counts, all well, the run ids of the final plan)."""
    from ..report.seeds import next_round

    assert request.max_seeds is not None  # the request sets it with until_resolved
    profile, results = request.profile, request.results_dir
    targets = {cell.label: request.seeds for cell in art.run_cells}
    if not request.dry_run:
        store.atomic_write_json(store.design_path(results, profile, art.name),
                                {"start": request.seeds, "max_seeds": request.max_seeds,
                                 "spending": request.spending})
    ok, last, rounds = True, {"to_train": 0, "to_evaluate_only": 0, "to_evaluate_more": 0, "done": 0}, 0
    quiet = io.StringIO() if request.json else None
    out = quiet or sys.stdout
    while True:
        rounds += 1
        pairs = seed_pairs(art, profile, targets, request.preset)
        plan = plan_runs(pairs, results, profile, art.name)
        if not request.dry_run or plan.todo or plan.evaluate:
            print(f"{art.name}: round {rounds}, seeds per cell " + ", ".join(
                f"{label} {n}" for label, n in targets.items()), file=out, flush=True)
            summary = execute(pairs, options, request.slots, artifact=art.name, keep_best=keep_best,
                              pool=pool, out=quiet)
            ok = ok and summary.ok
            last = counts(summary.plan)
            if request.dry_run:
                return last, ok, {r.run_id for r in plan.runs}
        step, claims = next_round(art, profile, results, request.seeds, request.max_seeds,
                                  request.spending, request.preset)
        for cs in claims:  # runs already there (an earlier sweep's) count for their cells
            for label, n in cs.seeds_used.items():
                if label in targets:
                    targets[label] = max(targets[label], min(n, request.max_seeds))
        resolved = sum(1 for c in claims if c.resolved)
        grow = {label: n for label, n in step.items() if n > targets.get(label, 0)}
        print(f"{art.name}: {resolved}/{len(claims)} claims resolved"
              + ("; next round: " + ", ".join(f"{l} to {n}" for l, n in grow.items()) if grow
                 else f"; done after {rounds} round{'s' if rounds != 1 else ''}"), file=out, flush=True)
        if not grow:
            if request.dry_run:
                print(f"{art.name}: nothing to run: every claim is resolved or at --max-seeds "
                      f"{request.max_seeds}", file=out, flush=True)
            return last, ok, {c.digest() for _, c in seed_pairs(art, profile, targets, request.preset)}
        targets.update(grow)
