"""A sweep: plan the missing runs of some configs, show the plan, run them, count what happened."""
from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..config import Config
from ..training import trackers
from . import dispatch, store
from .slots import Slot, gpu_share, wants_gpu
from .job import JobFunctions, make_spec
from .cost import Estimate, describe, estimate, packing_gain
from .plan import Plan, plan_runs


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


def describe_slots(slots: Sequence[Slot], scheduler: str | None,
                   todo: int) -> tuple[str, float, float]:
    """Where the jobs run, in words, and how many runs' worth of work proceeds at once: as past
    wall times count it (the slots) and as the step-time table does (a GPU's packing gain; CPU
    slots share the same cores)."""
    gpu = wants_gpu(slots)
    if scheduler:
        share = gpu_share(slots)
        where = f"Dask scheduler {scheduler}" + (f" ({share:g} GPU per job)" if gpu else "")
        return where, max(1, todo), max(1, todo)  # the cluster decides; assume enough workers
    labels = list(dict.fromkeys(s.label for s in slots))
    per = len(slots) // len(labels)
    if gpu:
        where = ", ".join(f"{label}x{per}" for label in labels)
    else:
        where = ", ".join(labels)
    if slots[0].threads:
        plural = "s" if slots[0].threads > 1 else ""
        where += f" ({slots[0].threads} thread{plural}{' each' if len(slots) > 1 else ''})"
    return where, len(slots), len(labels) * packing_gain(per) if gpu else 1.0


def cost_of(plan: Plan, results: Path, data_dir: str | os.PathLike | None, slots: Sequence[Slot],
            past_parallel: float, table_parallel: float) -> Estimate:
    """The plan's estimate, its wall time shared among the slots the way its source counts them."""
    kind = "cuda" if wants_gpu(slots) else "cpu"
    cost = estimate(plan, results, data_dir, kind, table_parallel)
    if cost.source.startswith("mean of") and cost.device_seconds is not None:
        cost = dataclasses.replace(cost, wall_seconds=cost.device_seconds / past_parallel)
    return cost


@dataclass(frozen=True)
class SweepOptions:
    """How a sweep runs its jobs, the same for every sweep of one reproduction.

    ``scheduler``: a Dask scheduler's address (None: the local slots); ``dask``: what
    :func:`~mocose.runner.dispatch.run_dask` takes besides (retries, a SLURM worker's run slots);
    ``functions``: what the job processes call."""

    profile: str
    results_dir: Path
    data_dir: Path
    scheduler: str | None = None
    dask: Mapping[str, Any] = field(default_factory=dict)
    keep_checkpoints: bool = False
    dry_run: bool = False
    progress: bool = True
    process_per_run: bool = False
    functions: JobFunctions = JobFunctions()
    report_to: str = "none"  # the tracker each trained run logs to (mocose.training.trackers)


def execute(pairs: Iterable[tuple[Any, Config]], options: SweepOptions, slots: Sequence[Slot], *,
            artifact: str = "", keep_best: frozenset[str] = frozenset(),
            pool: dispatch.SlotPool | None = None, out=None) -> SweepSummary:
    """Plan the runs of ``pairs`` (cell, config), show the plan, run what is missing (unless a dry
    run): train the runs not done, evaluate done runs on the tasks they lack; return what
    happened. Runs in ``keep_best`` keep their best checkpoint (another artifact evaluates them
    later on more tasks). ``pool``: local slots (and their job processes) kept across sweeps,
    used instead of ``slots``' own for this one."""
    out = out or sys.stdout
    results, profile = options.results_dir, options.profile
    slots = list(slots)
    store.remove_stale_temps(results, profile)
    if not options.dry_run:
        store.remove_stale_locks(results, profile)
    plan = plan_runs(pairs, results, profile, artifact)
    where, past_parallel, table_parallel = describe_slots(slots, options.scheduler, len(plan.todo))
    print(describe(plan, cost_of(plan, results, options.data_dir, slots, past_parallel, table_parallel),
                   where), file=out, flush=True)
    summary = SweepSummary(plan)
    if options.dry_run or not (plan.todo or plan.evaluate):
        return summary
    commit = store.git_commit()
    common = dict(results_dir=results, data_dir=options.data_dir, git_commit=commit,
                  functions=options.functions)
    specs = [dict(make_spec(run.config, keep_checkpoints=options.keep_checkpoints, **common),
                  keep_best=run.run_id in keep_best,
                  report_to=trackers.spec_entry(options.report_to, artifact, run.cells,
                                                store.profile_dir(results, profile)))
             for run in plan.todo]
    specs += [dict(make_spec(run.config, **common), evaluate=run.missing_tasks) for run in plan.evaluate]
    bar = _Progress(len(specs), artifact or profile, options.progress)
    try:
        if options.scheduler:
            summary.outcomes = dispatch.run_dask(specs, options.scheduler, gpu_share(slots), bar,
                                                 **dict(options.dask))
        else:
            summary.outcomes = dispatch.run_local(specs, slots, bar, options.process_per_run, pool=pool)
    finally:
        bar.close()
    failed = summary.failed
    print(f"{artifact or 'sweep'} [{profile}]: {len(summary.outcomes) - len(failed)} done, "
          f"{len(failed)} failed, {len(specs) - len(summary.outcomes)} left", file=out, flush=True)
    for outcome in failed:
        print(f"  failed {outcome.run_id}: {outcome.error} (see "
              f"{store.failure_path(results, profile, outcome.run_id)})", file=out)
    return summary
