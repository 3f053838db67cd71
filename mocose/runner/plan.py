"""Planning a sweep: which runs an artifact needs, which are done, how long the rest may take."""
from __future__ import annotations

import functools
import json
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
        run.cells.append(cell.label)
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


# The step-time table: what a step and a run cost by (profile, device kind), as measured (a JSON
# the benchmarks write, read here; docs/measurements.md says how each entry was measured).
STEP_TABLE = Path(__file__).resolve().parent / "data" / "step_times.json"


def read_step_table(path: Path = STEP_TABLE) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float],
                                                        dict[int, float]]:
    """(seconds a step, fixed seconds a run) by (profile, device kind), and the throughput of K
    jobs sharing one GPU relative to one job, from the step-time table at ``path``."""
    data = json.loads(Path(path).read_text())
    step = {(e["profile"], e["device"]): float(e["step_seconds"]) for e in data["entries"]}
    run = {(e["profile"], e["device"]): float(e["run_seconds"]) for e in data["entries"]}
    return step, run, {int(k): float(v) for k, v in data["gpu_packing"].items()}


def write_step_entry(profile: str, device: str, step_seconds: float, run_seconds: float, source: str,
                     path: Path = STEP_TABLE) -> None:
    """Set the table's entry for (``profile``, ``device``) (what a benchmark measured)."""
    data = json.loads(Path(path).read_text())
    entries = [e for e in data["entries"] if (e["profile"], e["device"]) != (profile, device)]
    entries.append({"profile": profile, "device": device, "step_seconds": round(step_seconds, 4),
                    "run_seconds": round(run_seconds, 2), "source": source})
    data["entries"] = entries
    store.atomic_write_json(Path(path), data)


STEP_SECONDS, RUN_SECONDS, GPU_PACKING = read_step_table()
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
    step-time table. ``parallel`` is how many runs' worth of work proceeds at once (past wall times already
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
