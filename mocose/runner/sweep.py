"""A sweep: plan the missing runs of some configs, show the plan, run them, count what happened."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..config import Config
from . import dispatch, store
from .job import make_spec
from .plan import Plan, describe, estimate_seconds, plan_runs


@dataclass
class SweepSummary:
    plan: Plan
    outcomes: list[dispatch.Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[dispatch.Outcome]:
        return [o for o in self.outcomes if o.status != "done"]

    @property
    def ok(self) -> bool:
        return not self.failed


class _Progress:
    """runs done / failed / left, as a tqdm bar on a terminal and as plain lines otherwise."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.bar = None
        self.enabled = enabled
        if enabled and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit="run", file=sys.stderr, dynamic_ncols=True)
            self._postfix()

    def _postfix(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"done {self.done} / failed {self.failed} / left "
                                     f"{self.total - self.done - self.failed}")

    def __call__(self, outcome: dispatch.Outcome) -> None:
        if outcome.status == "done":
            self.done += 1
        else:
            self.failed += 1
        message = (f"run {outcome.run_id} on {outcome.device}: {outcome.status}"
                   + (f" ({outcome.error})" if outcome.error else "") + f" in {outcome.wall_time:.1f}s")
        if self.bar is not None:
            self._postfix()
            self.bar.update(1)
            if outcome.status != "done":
                self.bar.write(message, file=sys.stderr)
        elif self.enabled:
            print(f"{message}  [done {self.done} / failed {self.failed} / left "
                  f"{self.total - self.done - self.failed}]", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def execute(pairs: Iterable[tuple[Any, Config]], *, profile: str, results_dir: str | os.PathLike,
            data_dir: str | os.PathLike, devices: str = "cpu", scheduler: str | None = None,
            keep_checkpoints: bool = False, dry_run: bool = False, artifact: str = "",
            progress: bool = True, out=None, keep_best: frozenset[str] = frozenset()) -> SweepSummary:
    """Plan the runs of ``pairs`` (cell, config) under ``results_dir``, show the plan, run what is
    missing (unless ``dry_run``): train the runs not done, evaluate done runs on the tasks they
    lack; return what happened. Runs in ``keep_best`` keep their best checkpoint (another
    artifact evaluates them later on more tasks)."""
    out = out or sys.stdout
    results = Path(results_dir).expanduser().resolve()
    slots = dispatch.parse_devices(devices)
    store.remove_stale_temps(results, profile)
    plan = plan_runs(pairs, results, profile, artifact)
    if scheduler:
        where = f"Dask scheduler {scheduler}" + (" (one GPU per job)" if dispatch.wants_gpu(slots) else "")
        parallel = len(plan.todo)  # the cluster decides; the estimate assumes enough workers
    else:
        where = ", ".join(s.label for s in slots) + (
            f" ({slots[0].threads} thread{'s' if slots[0].threads > 1 else ''}"
            f"{' each' if len(slots) > 1 else ''})" if slots[0].threads else "")
        parallel = len(slots)
    print(describe(plan, estimate_seconds(plan, results, parallel), where), file=out, flush=True)
    summary = SweepSummary(plan)
    if dry_run or not (plan.todo or plan.evaluate):
        return summary
    commit = store.git_commit()
    specs = [dict(make_spec(run.config, results_dir=results, data_dir=Path(data_dir),
                            keep_checkpoints=keep_checkpoints, git_commit=commit),
                  keep_best=run.run_id in keep_best) for run in plan.todo]
    specs += [dict(make_spec(run.config, results_dir=results, data_dir=Path(data_dir),
                             git_commit=commit), evaluate=run.missing_tasks) for run in plan.evaluate]
    bar = _Progress(len(specs), artifact or profile, progress)
    try:
        if scheduler:
            summary.outcomes = dispatch.run_dask(specs, scheduler, dispatch.wants_gpu(slots), bar)
        else:
            summary.outcomes = dispatch.run_local(specs, slots, bar)
    finally:
        bar.close()
    failed = summary.failed
    print(f"{artifact or 'sweep'} [{profile}]: {len(summary.outcomes) - len(failed)} done, "
          f"{len(failed)} failed, {len(specs) - len(summary.outcomes)} left", file=out, flush=True)
    for outcome in failed:
        print(f"  failed {outcome.run_id}: {outcome.error} (see "
              f"{store.failure_path(results, profile, outcome.run_id)})", file=out)
    return summary
