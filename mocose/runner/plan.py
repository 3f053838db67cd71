"""Planning a sweep: which runs an artifact needs, which are done, how long the rest may take."""
from __future__ import annotations

import functools
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..config import Config, ConfigError
from . import store


@dataclass
class PlannedRun:
    """One distinct run (several cells of an artifact may share it) and the cells that need it."""

    run_id: str
    config: Config
    cells: list[str] = field(default_factory=list)
    missing_tasks: list[str] = field(default_factory=list)  # a done run's tasks still to evaluate


@dataclass
class Plan:
    artifact: str
    profile: str
    runs: list[PlannedRun]
    done: list[PlannedRun]
    todo: list[PlannedRun]
    failed_before: list[str]  # run_ids of todo runs whose last attempt failed (retried now)
    evaluate: list[PlannedRun] = field(default_factory=list)  # done runs missing some eval tasks


def plan_runs(pairs: Iterable[tuple[Any, Config]], results_dir: str | os.PathLike, profile: str,
              artifact: str = "") -> Plan:
    """Split the artifact's (cell, config) pairs into finished and missing runs.

    A run is done when results/<profile>/runs/<run_id>.json holds a sound result; nothing done is
    ever rerun (a broken file is set aside by :func:`store.load_results`, so its run is rerun).
    A done run whose result lacks tasks its config's eval_tasks asks for (the run_id leaves
    eval_tasks out: Table 2 asks Table 1's runs for the transfer tasks) is to be evaluated.
    """
    by_id: dict[str, PlannedRun] = {}
    for cell, config in pairs:
        if config.profile != profile:
            raise ConfigError(f"artifact {artifact!r} gave a config of profile {config.profile!r} "
                              f"for profile {profile!r}")
        run_id = config.digest()
        run = by_id.setdefault(run_id, PlannedRun(run_id, config))
        run.cells.append(str(getattr(cell, "label", cell)))
    runs = list(by_id.values())
    finished = store.load_results(results_dir, profile)  # sets aside files that are not results
    done = [r for r in runs if r.run_id in finished]
    done_ids = {r.run_id for r in done}
    todo = [r for r in runs if r.run_id not in done_ids]
    failed = [r.run_id for r in todo if store.failure_path(results_dir, profile, r.run_id).exists()]
    for run in done:
        result = store.read_json(store.result_path(results_dir, profile, run.run_id))
        run.missing_tasks = store.missing_tasks(result, run.config)
    evaluate = [r for r in done if r.missing_tasks]
    return Plan(artifact, profile, runs, done, todo, failed, evaluate)


def counts(plan: Plan) -> dict[str, int]:
    """What a sweep would do, one meaning a word, the same in ``--dry-run``'s text and JSON:

    ``to_train``: runs not finished that will train; ``to_evaluate_only``: runs not finished that
    train nothing (an untrained encoder, method none); ``to_evaluate_more``: finished runs whose
    result lacks tasks an artifact asks for (their kept checkpoint is evaluated, nothing trains);
    ``done``: finished runs with nothing left to do."""
    only = sum(1 for r in plan.todo if r.config.model.method == "none")
    return {"to_train": len(plan.todo) - only, "to_evaluate_only": only,
            "to_evaluate_more": len(plan.evaluate), "done": len(plan.done) - len(plan.evaluate)}


# What a run costs, by (profile, device kind): seconds a training step takes with everything a step
# brings (the validations every eval_steps, the saved states), and the fixed seconds a run adds
# (loading, the final evaluation and analysis). Used until the results folder holds past runs of the
# profile on that kind of device. Measured (docs/gpus.md, "Running at paper scale"; benchmarks/jobs.py):
# cuda on one H100, one job on it, the fixed parts with a fresh process each (a reused job process
# saves its start: table3 smoke took 16.7 s a run with a process per run, 4.9 s reused); paper is a
# bert-base-shaped encoder: 0.0546 s a step plus a 2.6 s validation every 100 steps. cpu on cpu:
# the README's main job in a fresh clone on the quiet 2-core machine (BERT head init, queue
# started 1/4 full; docs/measurements.md): 100 steps in 252 s of training (its 4 validations included), 330 s
# for the whole command with the pip install and the STS evaluation, so 2.52 s a step and 78 s
# fixed (the install makes it longer, the analysis a reproduced run adds, STS-B's alignment,
# uniformity and spectrum, shorter: a rough figure). smoke on cpu: the
# CI sweep (`run_all.sh --profile smoke --seeds 1 --devices cpu:2`, two jobs a thread each, job
# processes kept across artifacts) on a quiet machine: 99 runs averaging 4.08 s, of which 0.92 s
# training (16 steps, their 2 validations included), so 0.06 s a step and 3.2 s fixed.
STEP_SECONDS: dict[tuple[str, str], float] = {
    ("paper", "cuda"): 0.080,
    ("cpu", "cuda"): 0.088,
    ("smoke", "cuda"): 0.065,
    ("cpu", "cpu"): 2.52,
    ("smoke", "cpu"): 0.06,
}
RUN_SECONDS: dict[tuple[str, str], float] = {
    ("paper", "cuda"): 19.0,
    ("cpu", "cuda"): 13.1,
    ("smoke", "cuda"): 3.8,
    ("cpu", "cpu"): 78.0,
    ("smoke", "cpu"): 3.2,
}
# Throughput of K jobs sharing one H100, relative to one job at a time (benchmarks/jobs.py
# --sections packing: 120-step bert-base-shaped jobs); K between two entries takes the lower one.
GPU_PACKING: dict[int, float] = {1: 1.0, 2: 1.43, 4: 1.76, 8: 2.12}
WIKI1M_LINES = 1_000_000  # SimCSE's wiki1m_for_simcse.txt, for a data folder that lacks it


@dataclass(frozen=True)
class Estimate:
    """The cost of a plan's missing runs: steps to train, device seconds, wall seconds, source."""

    runs_to_train: int
    runs_to_evaluate: int  # method none: evaluation only
    steps: int | None
    device_seconds: float | None
    wall_seconds: float | None
    source: str


def training_sentences(config: Config, data_dir: str | os.PathLike | None) -> int | None:
    """How many sentences a run trains on: train_sentences, or the training file's line count."""
    if config.train.train_sentences:
        return config.train.train_sentences
    path = Path(config.train.train_file)
    if data_dir is not None and not path.is_absolute():
        path = Path(data_dir) / path
    if path.is_file():
        return _line_count(str(path))
    return WIKI1M_LINES if path.name == "wiki1m_for_simcse.txt" else None


@functools.lru_cache(maxsize=16)
def _line_count(path: str) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def run_steps(config: Config, data_dir: str | os.PathLike | None) -> int | None:
    """Training steps of a run (0 for method none; None when its data cannot be counted)."""
    if config.model.method == "none":
        return 0
    from ..training.batches import total_steps

    sentences = training_sentences(config, data_dir)
    return None if sentences is None else total_steps(config, sentences)


def packing_gain(per_gpu: int) -> float:
    return GPU_PACKING[max(k for k in GPU_PACKING if k <= max(1, per_gpu))]


def estimate(plan: Plan, results_dir: str | os.PathLike, data_dir: str | os.PathLike | None,
             kind: str, parallel: float) -> Estimate:
    """What the missing runs of ``plan`` cost on ``kind`` ('cpu' or 'cuda') devices.

    A run costs its steps times the seconds a step takes plus a fixed part. Both come from the past
    runs of the profile on that kind of device when there are some (seconds a step: the mean over
    trained runs of wall time / steps; untrained runs: their mean wall time), else from the tables
    above. ``parallel`` is how many runs' worth of work proceeds at once (past wall times already
    include any sharing of a device, so the caller passes the number of slots for them).
    """
    steps = [run_steps(r.config, data_dir) for r in plan.todo]
    trained = [n for n in steps if n]
    n_eval = sum(1 for n in steps if n == 0)
    total_steps_ = None if any(n is None for n in steps) else sum(trained)
    costs, source = _past_costs(results_dir, plan.profile, kind)
    if costs is None:
        step, fixed = STEP_SECONDS.get((plan.profile, kind)), RUN_SECONDS.get((plan.profile, kind))
        costs = None if step is None or fixed is None else (step, fixed, fixed)
        source = f"step-time table for {plan.profile} on {kind}"
    if not plan.todo:
        return Estimate(0, 0, 0, 0.0, 0.0, source)
    if costs is None or total_steps_ is None:
        why = ("the training file cannot be counted" if total_steps_ is None
               else f"no past runs and no table entry for {plan.profile} on {kind}")
        return Estimate(len(trained), n_eval, total_steps_, None, None, f"unknown: {why}")
    per_step, per_trained, per_untrained = costs
    device = total_steps_ * per_step + len(trained) * per_trained + n_eval * per_untrained
    return Estimate(len(trained), n_eval, total_steps_, device, device / max(parallel, 1e-9), source)


def _past_costs(results_dir: str | os.PathLike, profile: str,
                kind: str) -> tuple[tuple[float, float, float] | None, str]:
    """(seconds a step, fixed seconds a trained run, seconds an untrained run) from the past runs
    of ``profile`` on ``kind`` devices, and where they come from; None without past trained runs.
    A past run's wall time over its steps already holds its fixed part."""
    per_step, untrained = [], []
    for result in store.load_results(results_dir, profile).values():
        wall = result.get("wall_time")
        if not isinstance(wall, (int, float)) or str(result.get("device", "cpu")).split(":")[0] != kind:
            continue
        steps = (result.get("training") or {}).get("steps") or 0
        (per_step if steps else untrained).append(float(wall) / steps if steps else float(wall))
    if not per_step:
        return None, ""
    fixed = statistics.fmean(untrained) if untrained else RUN_SECONDS.get((profile, kind), 0.0)
    return ((statistics.fmean(per_step), 0.0, fixed),
            f"mean of {len(per_step) + len(untrained)} past {profile} runs on {kind}")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"~{hours}h{minutes:02d}m"
    if minutes:
        return f"~{minutes}m{secs:02d}s"
    return f"~{secs}s"


def describe(plan: Plan, cost: Estimate, where: str, list_runs: bool = True) -> str:
    """The plan as shown before dispatch (``list_runs``: one line for each run to run)."""
    n = counts(plan)
    lines = [f"{plan.artifact or 'sweep'} [{plan.profile}]: {len(plan.runs)} runs, "
             f"{n['done']} done, {len(plan.todo)} to run ({n['to_train']} to train, "
             f"{n['to_evaluate_only']} to evaluate only)"
             + (f", {n['to_evaluate_more']} done but to evaluate on more tasks" if plan.evaluate else "")
             + (f" ({len(plan.failed_before)} failed before, retried)" if plan.failed_before else "")]
    if plan.todo:
        steps = "?" if cost.steps is None else f"{cost.steps:,}"
        lines.append(f"  on {where}: {cost.runs_to_train} runs to train ({steps} steps), "
                     f"{cost.runs_to_evaluate} to evaluate only; estimated device time "
                     f"{format_duration(cost.device_seconds)}, wall time "
                     f"{format_duration(cost.wall_seconds)} ({cost.source})")
        for run in plan.todo if list_runs else ():
            cells = ", ".join(run.cells[:3]) + (f" (+{len(run.cells) - 3})" if len(run.cells) > 3 else "")
            lines.append(f"  - {run.run_id}  seed {run.config.train.seed}  {cells}")
    return "\n".join(lines)


def results_root(path: str | os.PathLike | None) -> Path:
    return Path(path).expanduser().resolve() if path else store.default_results_dir().resolve()
