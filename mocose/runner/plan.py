"""Planning a sweep: which runs an artifact needs, which are done, how long the rest may take."""
from __future__ import annotations

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


@dataclass
class Plan:
    artifact: str
    profile: str
    runs: list[PlannedRun]
    done: list[PlannedRun]
    todo: list[PlannedRun]
    failed_before: list[str]  # run_ids of todo runs whose last attempt failed (retried now)


def plan_runs(pairs: Iterable[tuple[Any, Config]], results_dir: str | os.PathLike, profile: str,
              artifact: str = "") -> Plan:
    """Split the artifact's (cell, config) pairs into finished and missing runs.

    A run is done when results/<profile>/runs/<run_id>.json holds a sound result; nothing done is
    ever rerun (a broken file is set aside by :func:`store.load_results`, so its run is rerun).
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
    return Plan(artifact, profile, runs, done, todo, failed)


def estimate_seconds(plan: Plan, results_dir: str | os.PathLike, parallel: int) -> float | None:
    """Wall time the missing runs may take, from past runs of the same profile (None: no past runs).

    Each missing run is priced at the mean wall time of past runs of its method (MoCoSE, SimCSE,
    untrained), or of all past runs when its method has none; the sum is shared among the slots.
    """
    past = store.load_results(results_dir, plan.profile)
    times: dict[str, list[float]] = {}
    for result in past.values():
        wall = result.get("wall_time")
        if isinstance(wall, (int, float)):
            method = (result.get("flat_config") or {}).get("method", "")
            times.setdefault(method, []).append(float(wall))
            times.setdefault("*", []).append(float(wall))
    if not times:
        return None if plan.todo else 0.0
    total = 0.0
    for run in plan.todo:
        sample = times.get(run.config.model.method) or times["*"]
        total += statistics.fmean(sample)
    return total / max(1, min(parallel, len(plan.todo) or 1))


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown (no past runs of this profile)"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"~{hours}h{minutes:02d}m"
    if minutes:
        return f"~{minutes}m{secs:02d}s"
    return f"~{secs}s"


def describe(plan: Plan, estimate: float | None, where: str) -> str:
    """The plan as shown before dispatch."""
    lines = [f"{plan.artifact or 'sweep'} [{plan.profile}]: {len(plan.runs)} runs, "
             f"{len(plan.done)} done, {len(plan.todo)} to run"
             + (f" ({len(plan.failed_before)} failed before, retried)" if plan.failed_before else "")]
    if plan.todo:
        lines.append(f"  on {where}; estimated time {format_duration(estimate)}")
        for run in plan.todo:
            cells = ", ".join(run.cells[:3]) + (f" (+{len(run.cells) - 3})" if len(run.cells) > 3 else "")
            lines.append(f"  - {run.run_id}  seed {run.config.train.seed}  {cells}")
    return "\n".join(lines)


def results_root(path: str | os.PathLike | None) -> Path:
    return Path(path).expanduser().resolve() if path else store.default_results_dir().resolve()
