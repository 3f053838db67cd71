"""Planning a sweep: which runs an artifact needs and which are done (what the rest cost, and
the plan as printed: :mod:`mocose.runner.cost`)."""
from __future__ import annotations

import os
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


def results_root(path: str | os.PathLike | None) -> Path:
    return Path(path).expanduser().resolve() if path else store.default_results_dir().resolve()
