"""``reproduce --until-resolved``: rounds of seeds per artifact, added only where a claim is still
unresolved (docs/seeds.md); the statistics live in the report (mocose.report.seeds)."""
from __future__ import annotations

import argparse
import io
import sys
from typing import Any, Callable

from ..config import ConfigError
from ..presets import preset_configs
from . import store
from .plan import counts, plan_runs
from .sweep import execute


def seed_pairs(art: Any, profile: str, targets: dict[str, int], preset: str = "clean") -> list[tuple[Any, Any]]:
    """The (cell, config) runs of ``art`` with ``targets[label]`` seeds in each cell: the first
    seeds of the profile's list (base, base+1, ...), so the same targets give the same runs."""
    from ..profiles import load_profile

    if not targets:
        return []
    base = load_profile(profile).train.seed
    return [(cell, config) for cell, config in preset_configs(art, profile, max(targets.values()), preset)
            if config.train.seed - base < targets.get(getattr(cell, "label", str(cell)), 0)]


def reproduce_until_resolved(name: str, reg: Any, args: argparse.Namespace, results: Any,
                             data_dir: Any, keep_best: frozenset[str], pool: Any,
                             next_round: Callable | None) -> tuple[dict[str, int], bool, set[str]]:
    """Rounds of seeds for one artifact: every cell at --seeds, then only the cells of claims
    still unresolved, as many more as the claims' seeds_needed says (mocose.report.seeds), until
    every claim is resolved or its cells have --max-seeds; with --dry-run, price the next round
    only. Returns (the last round's counts, all well, the run ids of the final plan).
    ``next_round`` is the report's seed planning (mocose.report.next_round, loaded lazily by the
    caller: the runner does not import the report)."""
    if not callable(next_round):
        raise ConfigError("--until-resolved needs the report's seed planning (mocose.report.next_round)")
    art = reg.get(name)
    targets = {cell.label: args.seeds for cell in art.run_cells}
    if not args.dry_run:
        store.atomic_write_json(store.design_path(results, args.profile, name),
                                {"start": args.seeds, "max_seeds": args.max_seeds,
                                 "spending": args.spending})
    ok, last, rounds = True, {"to_train": 0, "to_evaluate_only": 0, "to_evaluate_more": 0, "done": 0}, 0
    quiet = io.StringIO() if args.json else None
    out = quiet or sys.stdout
    while True:
        rounds += 1
        pairs = seed_pairs(art, args.profile, targets, args.preset)
        plan = plan_runs(pairs, results, args.profile, name)
        if not args.dry_run or plan.todo or plan.evaluate:
            print(f"{name}: round {rounds}, seeds per cell " + ", ".join(
                f"{label} {n}" for label, n in targets.items()), file=out, flush=True)
            summary = execute(pairs, profile=args.profile, results_dir=results, data_dir=data_dir,
                              devices=args.devices, scheduler=args.scheduler,
                              dask_options=getattr(args, "dask_options", None),
                              keep_checkpoints=args.keep_checkpoints, dry_run=args.dry_run,
                              artifact=name, progress=not args.quiet,
                              process_per_run=args.process_per_run, out=quiet,
                              keep_best=keep_best, pool=pool)
            ok = ok and summary.ok
            last = counts(summary.plan)
            if args.dry_run:
                return last, ok, {r.run_id for r in plan.runs}
        step, claims = next_round(art, args.profile, results, args.seeds, args.max_seeds,
                                  args.spending, args.preset)
        for cs in claims:  # runs already there (an earlier sweep's) count for their cells
            for label, n in cs.seeds_used.items():
                if label in targets:
                    targets[label] = max(targets[label], min(n, args.max_seeds))
        resolved = sum(1 for c in claims if c.resolved)
        grow = {label: n for label, n in step.items() if n > targets.get(label, 0)}
        print(f"{name}: {resolved}/{len(claims)} claims resolved"
              + ("; next round: " + ", ".join(f"{l} to {n}" for l, n in grow.items()) if grow
                 else f"; done after {rounds} round{'s' if rounds != 1 else ''}"), file=out, flush=True)
        if not grow:
            if args.dry_run:
                print(f"{name}: nothing to run: every claim is resolved or at --max-seeds "
                      f"{args.max_seeds}", file=out, flush=True)
            return last, ok, {c.digest() for _, c in seed_pairs(art, args.profile, targets, args.preset)}
        targets.update(grow)
