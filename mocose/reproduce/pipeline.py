"""A reproduction: each named artifact's missing runs through the runner, then its report.

The one path from a request to results and reports: :func:`reproduce` plans and runs every
artifact in turn through the same local slots (their job processes are kept from one artifact to
the next), adds seeds in rounds under ``until_resolved`` (:mod:`.rounds`), then builds each
artifact's report; a report that cannot be built fails the reproduction with its error."""
from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Iterator

from ablations.spec import Artifact, Registry
from ..presets import preset_configs
from ..runner import slurm, store
from ..runner.dispatch import SlotPool
from ..runner.job import release_kept
from ..runner.cost import estimate
from ..runner.plan import counts, plan_runs
from ..runner.sweep import SweepOptions, execute
from .request import ReproduceRequest
from .rounds import reproduce_until_resolved


def default_registry() -> Registry:
    """The paper's registry (``ablations.REGISTRY``)."""
    import ablations

    return ablations.REGISTRY


def artifact_names(registry: Registry, asked: tuple[str, ...] | list[str]) -> list[str]:
    """The artifacts ``asked`` names, in the order given, each once; ``all``: every artifact of the
    registry in its order (alone). An unknown name is refused before anything runs."""
    from ..config import ConfigError

    if "all" in asked:
        if len(asked) > 1:
            raise ConfigError(f"reproduce {' '.join(asked)}: 'all' already names every artifact; "
                              f"give it alone or list the artifacts")
        return registry.names()
    names = list(dict.fromkeys(asked))
    for name in names:
        registry.get(name)  # raises a ConfigError naming the known artifacts
    return names


def asked_of_runs(registry: Registry, profile: str, seeds: int, preset: str = "clean") -> dict[str, set[str]]:
    """Per run, the ``eval_tasks`` values the registry's artifacts evaluate it with (a run's
    identity leaves them out: Tables 1 and 2 share their models)."""
    asked: dict[str, set[str]] = {}
    for art in registry.artifacts:
        for _, config in preset_configs(art, profile, seeds, preset):
            asked.setdefault(config.digest(), set()).add(config.eval.eval_tasks)
    return asked


def evaluated_later(asked: dict[str, set[str]]) -> frozenset[str]:
    """Runs that artifacts evaluate on different tasks (``asked``: :func:`asked_of_runs`): each
    keeps its best checkpoint so the next artifact only evaluates it."""
    return frozenset(run_id for run_id, values in asked.items() if len(values) > 1)


def release_kept_checkpoints(asked: dict[str, set[str]], profile: str, results: Path) -> list[str]:
    """Remove the best checkpoints that runs kept for another artifact once their results hold
    every task any artifact asks of them; their run ids."""
    from ..evaluation.tasks import parse_tasks

    return [run_id for run_id in evaluated_later(asked)
            if release_kept(results, profile, run_id, {t for v in asked[run_id] for t in parse_tasks(v)})]


def build_report(art: Artifact, request: ReproduceRequest, registry: Registry) -> list[Path]:
    """The report of ``art`` (the plotting libraries load only now); the files written."""
    from ..report.build import build

    files: list[Path] = []
    for rep in build([art.name], request.profile, results_dir=request.results_dir,
                     plots_dir=request.plots_dir, preset=request.preset, registry=registry):
        files += rep.files
    print(f"report {art.name} [{request.profile}]: " + ", ".join(str(f) for f in files), flush=True)
    return files


def run_cost(registry: Registry, names: list[str], request: ReproduceRequest) -> tuple[float | None, int]:
    """The estimated device seconds of one missing run (their mean) and how many are missing."""
    from ..runner.slots import wants_gpu

    kind = "cuda" if wants_gpu(list(request.slots)) else "cpu"
    total, runs = 0.0, 0
    for name in names:
        plan = plan_runs(preset_configs(registry.get(name), request.profile, request.seeds, request.preset),
                         request.results_dir, request.profile, name)
        cost = estimate(plan, request.results_dir, request.data_dir, kind, 1)
        if cost.device_seconds is None:
            return None, runs
        total, runs = total + cost.device_seconds, runs + len(plan.todo)
    return (total / runs if runs else None), runs


@contextlib.contextmanager
def sweep_options(request: ReproduceRequest, registry: Registry, names: list[str]) -> Iterator[SweepOptions]:
    """The runner's options while the reproduction runs: with ``--scheduler slurm``, a SLURM
    cluster started for it (closed, its jobs cancelled, on leaving); its job script under a dry run."""
    if request.scheduler != "slurm":
        yield request.sweep_options()
        return
    run_seconds, runs = run_cost(registry, names, request)
    logs = str(store.log_path(request.results_dir, request.profile, "x").parent / "slurm")
    if request.dry_run:
        if not request.json:
            print("job script (--scheduler slurm):\n"
                  + slurm.dry_run_script(request.slurm, request.slots, run_seconds, runs, logs))
        yield request.sweep_options(scheduler="slurm (dry run)")
        return
    with slurm.scheduler(request.slurm, request.slots, request.retries, run_seconds, runs, logs) as (address, dask):
        yield request.sweep_options(scheduler=address, dask=dask)


def reproduce(request: ReproduceRequest, registry: Registry | None = None) -> int:
    """Plan the missing runs of each artifact the request names, run them, then build its
    report; the exit status (0 all well, 1 a run or report failed)."""
    registry = registry or default_registry()
    names = artifact_names(registry, request.names)
    asked = asked_of_runs(registry, request.profile, request.most_seeds, request.preset)
    keep_best = evaluated_later(asked)
    local = not request.scheduler and not request.dry_run
    pool = SlotPool(list(request.slots), request.process_per_run) if local else None
    with sweep_options(request, registry, names) as options:
        try:
            status = _reproduce_all(registry, names, request, options, keep_best, pool)
        except BaseException:
            if pool is not None:
                pool.close(wait=False)  # an interrupt: the job processes die with this one
            raise
        if pool is not None:
            pool.close()
    if not request.dry_run and not request.keep_checkpoints:
        release_kept_checkpoints(asked, request.profile, request.results_dir)
    return status


def _reproduce_one(art: Artifact, request: ReproduceRequest, options: SweepOptions,
                   keep_best: frozenset[str], pool: SlotPool | None) -> tuple[dict[str, int], bool, set[str]]:
    """One artifact's runs at --seeds a cell: (its plan's counts, all well, its run ids)."""
    pairs = preset_configs(art, request.profile, request.seeds, request.preset)
    summary = execute(pairs, options, request.slots, artifact=art.name, keep_best=keep_best, pool=pool,
                      out=io.StringIO() if request.json else None)
    return counts(summary.plan), summary.ok, {r.run_id for r in summary.plan.runs}


def _reproduce_all(registry: Registry, names: list[str], request: ReproduceRequest, options: SweepOptions,
                   keep_best: frozenset[str], pool: SlotPool | None) -> int:
    """The sweep over ``names``, each artifact's report, then the summary."""
    several = len(names) > 1
    counted: dict[str, dict[str, int]] = {}
    planned: set[str] = set()  # --until-resolved: the runs of the final rounds
    fixed: set[str] = set()  # and those --max-seeds seeds in every cell would have taken
    failed: list[str] = []
    start = time.time()
    for i, name in enumerate(names, 1):
        art = registry.get(name)
        if several and not request.json:
            print(f"=== {name} ({i}/{len(names)}, {time.time() - start:.0f}s elapsed) ===", flush=True)
        try:
            if request.until_resolved:
                counted[name], ok, ids = reproduce_until_resolved(art, request, options, keep_best, pool)
                planned |= ids
                fixed |= {c.digest() for _, c in preset_configs(art, request.profile, request.most_seeds,
                                                                request.preset)}
            else:
                counted[name], ok, _ = _reproduce_one(art, request, options, keep_best, pool)
        except Exception as err:  # noqa: BLE001 - one artifact's fault does not stop the others
            if not several:
                raise
            print(f"mocose: {name}: {type(err).__name__}: {err}", file=sys.stderr)
            ok = False
        if not request.dry_run and request.report:
            try:
                build_report(art, request, registry)
            except Exception as err:  # noqa: BLE001 - the runs are safe on disk; say what broke
                print(f"mocose: the report of {name} failed: {type(err).__name__}: {err}", file=sys.stderr)
                ok = False
        if not ok:
            failed.append(name)
    if request.dry_run:
        if request.json:
            print(json.dumps(counted if several else counted[names[0]]))
        return 0
    if request.until_resolved:
        print(f"reproduce: the sequential plan took {len(planned)} runs where --max-seeds "
              f"{request.max_seeds} seeds in every cell would take {len(fixed)}: "
              f"{len(fixed) - len(planned)} runs saved", flush=True)
    if several:
        print(f"reproduce: {len(names)} artifacts in {time.time() - start:.0f}s; profile {request.profile}",
              flush=True)
        if failed:
            print(f"reproduce: artifacts with failed runs or reports: {' '.join(failed)} (see the "
                  f"failed/ folder of the results)", file=sys.stderr)
    return 1 if failed else 0
