"""What a plan's missing runs cost: a run's parts priced from the past runs in the results folder,
or from the measured step-time table where the folder has none.

A trained run costs ``per_run + examples x per_example + validations x per_validation``: a fixed
part (loading the encoder and data, saving, the final evaluation and analysis), its training
examples (steps x batch size, so a run at batch 256 with a quarter of the steps costs what one at
batch 64 does) and its validations (one every ``eval_steps`` and one at the last step). A run that
trains nothing (method none) costs its evaluation; a finished run evaluated on more tasks costs
``tasks x per_task``.
"""
from __future__ import annotations

import functools
import json
import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..profiles import load_profile
from . import store
from .plan import Plan, counts

# The step-time table: what a step and a run cost by (profile, device kind), as measured (a JSON
# the benchmarks write; docs/measurements.md says how each entry was measured).
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
MEASURED_GPU_SLOTS = "cuda:0x4"  # what --devices names to price a profile by the table's cuda entry


def packing_gain(per_gpu: int) -> float:
    """Throughput of ``per_gpu`` jobs sharing one GPU relative to one (the table's lower entry)."""
    return GPU_PACKING[max(k for k in GPU_PACKING if k <= max(1, per_gpu))]


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


def validations(steps: int, eval_steps: int) -> int:
    """How many validations a run of ``steps`` makes: one every ``eval_steps`` and one at the end."""
    return steps // eval_steps + (1 if steps % eval_steps else 0)


@dataclass(frozen=True)
class RunCosts:
    """Seconds each part of a run takes on one kind of device, and where the figures come from."""

    per_example: float  # a training example: a step's seconds over its batch size
    per_validation: float
    per_run: float  # the fixed part of a trained run
    per_untrained: float  # a run that trains nothing: its evaluation
    per_task: float | None  # one more task evaluated on a finished run (None: nothing to price it)
    source: str

    def trained(self, steps: int, config: Config) -> float:
        return (self.per_run + steps * config.train.batch_size * self.per_example
                + validations(steps, config.train.eval_steps) * self.per_validation)


def table_costs(profile: str, kind: str) -> RunCosts | None:
    """The step-time table's figures for ``profile`` on ``kind`` (a step's validations are in its
    seconds), None where it has no entry."""
    step, fixed = STEP_SECONDS.get((profile, kind)), RUN_SECONDS.get((profile, kind))
    if step is None or fixed is None:
        return None
    batch = load_profile(profile).train.batch_size
    return RunCosts(step / batch, 0.0, fixed, fixed, None, f"step-time table for {profile} on {kind}")


def past_costs(results_dir: str | os.PathLike, profile: str, kind: str) -> RunCosts | None:
    """The figures of the past runs of ``profile`` on ``kind`` devices, None without a trained one.

    A run's recorded timings split its wall time into steps, validations and the rest; a run
    recorded without them counts its training time as steps (the validations folded in)."""
    parts: list[tuple[float, int, float, int, float]] = []  # steps s, examples, validations s, count, rest
    untrained: list[float] = []
    evaluated: list[tuple[float, int]] = []
    for result in store.load_results(results_dir, profile).values():
        wall = result.get("wall_time")
        if not isinstance(wall, (int, float)) or str(result.get("device", "cpu")).split(":")[0] != kind:
            continue
        evaluated += [(float(e["wall_time"]), len(e["tasks"])) for e in result.get("evaluations", ())
                      if isinstance(e.get("wall_time"), (int, float)) and e.get("tasks")]
        training = result.get("training") or {}
        if not training.get("steps"):
            untrained.append(float(wall))
            continue
        parts.append(_run_parts(result, training, float(wall)))
    if not parts:
        return None
    examples = sum(p[1] for p in parts)
    counted = sum(p[3] for p in parts)
    per_run = statistics.fmean(p[4] for p in parts)
    return RunCosts(
        per_example=sum(p[0] for p in parts) / max(examples, 1),
        per_validation=sum(p[2] for p in parts) / counted if counted else 0.0,
        per_run=per_run,
        per_untrained=statistics.fmean(untrained) if untrained else RUN_SECONDS.get((profile, kind), per_run),
        per_task=sum(e[0] for e in evaluated) / sum(e[1] for e in evaluated) if evaluated else None,
        source=f"mean of {len(parts) + len(untrained)} past {profile} runs on {kind}")


def _run_parts(result: dict[str, Any], training: dict[str, Any], wall: float) -> tuple[float, int, float, int, float]:
    """(steps' seconds, examples, validations' seconds, validations, the rest) of one past run."""
    batch = int((result.get("flat_config") or {}).get("batch_size") or 1)
    timed = training.get("timings")
    if isinstance(timed, dict) and timed.get("steps"):
        steps_s, val_s = float(timed["step_seconds"]), float(timed["validation_seconds"])
        return steps_s, int(timed["steps"]) * batch, val_s, int(timed["validations"]), wall - steps_s - val_s
    train_s = float(training.get("wall_time") or wall)
    return train_s, int(training["steps"]) * batch, 0.0, 0, wall - train_s


@dataclass(frozen=True)
class Estimate:
    """The cost of a plan's missing runs: steps to train, device seconds, wall seconds, source."""

    runs_to_train: int
    runs_to_evaluate: int  # method none: evaluation only
    steps: int | None
    device_seconds: float | None
    wall_seconds: float | None
    source: str


def estimate(plan: Plan, results_dir: str | os.PathLike, data_dir: str | os.PathLike | None,
             kind: str, parallel: float) -> Estimate:
    """What the missing runs of ``plan`` cost on ``kind``
    ('cpu' or 'cuda') devices: priced by the past runs of the profile on that kind when there are
    some, else by the step-time table. ``parallel`` is how many runs' worth of work proceeds at once
    (past wall times already include any sharing of a device, so the caller passes the number of
    slots for them)."""
    steps = [run_steps(r.config, data_dir) for r in plan.todo]
    trained = [(n, r.config) for n, r in zip(steps, plan.todo) if n]
    n_eval = sum(1 for n in steps if n == 0)
    total_steps = None if any(n is None for n in steps) else sum(n for n, _ in trained)
    costs = past_costs(results_dir, plan.profile, kind) or table_costs(plan.profile, kind)
    source = costs.source if costs else ""
    more_tasks = sum(len(r.missing_tasks) for r in plan.evaluate)
    if not plan.todo and not more_tasks:
        return Estimate(0, 0, 0, 0.0, 0.0, source)
    if costs is None or total_steps is None:
        return Estimate(len(trained), n_eval, total_steps, None, None,
                        "unknown: " + _unpriced(plan.profile, kind, total_steps is None))
    device = sum(costs.trained(n, c) for n, c in trained) + n_eval * costs.per_untrained
    if more_tasks and costs.per_task is not None:
        device += more_tasks * costs.per_task
    elif more_tasks:
        source += f"; {more_tasks} evaluations of finished runs on more tasks not priced (no past one)"
    return Estimate(len(trained), n_eval, total_steps, device, device / max(parallel, 1e-9), source)


def _unpriced(profile: str, kind: str, uncounted: bool) -> str:
    """Why a plan has no price, and how to get one."""
    if uncounted:
        return "the training file cannot be counted (pass --data with the training file)"
    why = f"no past runs and no table entry for {profile} on {kind}"
    if kind != "cuda" and (profile, "cuda") in STEP_SECONDS:
        why += f"; --devices {MEASURED_GPU_SLOTS} prices it with the step-time table measured on an H100"
    return why


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
