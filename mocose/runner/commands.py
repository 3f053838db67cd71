"""The ``mocose list`` and ``mocose reproduce`` commands, and the job entry of a child process."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import io
import json
import os
import sys
import time
from typing import Any

from ..config import ConfigError
from ..presets import PRESETS, preset_configs
from ..training import trackers
from . import slurm, store
from .dispatch import DEVICES_HELP
from .job import run_job
from .plan import counts, plan_runs, results_root
from .rounds import reproduce_until_resolved
from .sweep import execute

# The registry module (ablations/__init__.py: names(), get(name)); tests point this at a small stand-in.
REGISTRY_ENV = "MOCOSE_REGISTRY"
DEFAULT_REGISTRY = "ablations"
# The report entry point (mocose/report/build.py): build(names, profile, results_dir, plots_dir).
REPORT_ENTRY = "build"
# Runs per cell unless --seeds says otherwise: with one seed no claim can be tested at all.
DEFAULT_SEEDS = 3
# Most seeds per cell of reproduce --until-resolved unless --max-seeds says otherwise.
DEFAULT_MAX_SEEDS = 10


CLUSTER_HELP = """\
results: RESULTS/<profile>/runs/<run_id>.json per finished run (never rerun), failed/<run_id>.json
for the last failure of a run (retried by the next reproduce), work/<run_id>/ for checkpoints (a
killed run resumes from there), logs/<run_id>.log for each job's output.

on a Dask cluster (--scheduler tcp://HOST:8786): start one worker per GPU, each seeing its GPU only,
with K threads for K jobs a GPU,
  CUDA_VISIBLE_DEVICES=0 dask worker tcp://HOST:8786 --nthreads 4 --resources GPU=1
  CUDA_VISIBLE_DEVICES=1 dask worker tcp://HOST:8786 --nthreads 4 --resources GPU=1
then
  mocose reproduce NAME --scheduler tcp://HOST:8786 --devices cudax4
On this machine's SLURM cluster, with no scheduler started by hand (docs/slurm.md):
  mocose reproduce NAME --scheduler slurm --devices cuda:0x4 [--slurm-partition P ...]
A run whose worker or job is lost (scancel, preemption, time limit) starts again from its saved
state, up to --retries times. (--devices cudaxK submits every job with resources={'GPU': 1/K}; without cuda, jobs run on the
workers' CPUs). Workers need mocose installed and the results and data folders on a shared file
system."""


def registry() -> Any:
    return importlib.import_module(os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY)


def _count_runs(art: Any, profile: str) -> tuple[int, int]:
    pairs = art.configs(profile, 1)
    return len(pairs), len({config.digest() for _, config in pairs})


def cmd_list(args: argparse.Namespace) -> int:
    """Every artifact of the registry: name, kind, number of cells and runs, runs done, title."""
    reg = registry()
    names = list(reg.names())
    if args.names:
        print("\n".join(names))
        return 0
    if args.json:
        print(json.dumps([reg.get(name).to_dict() for name in names], indent=1))
        return 0
    results = results_root(args.results)
    done_ids = set(store.load_results(results, args.profile))
    rows = []
    for name in names:
        art = reg.get(name)
        pairs = preset_configs(art, args.profile, args.seeds, args.preset)
        ids = {config.digest() for _, config in pairs}
        cells = len({getattr(cell, "label", str(cell)) for cell, _ in pairs})
        rows.append((name, art.kind, str(cells), str(len(ids)), str(len(ids & done_ids)), art.title))
    header = ("NAME", "KIND", "CELLS", "RUNS", "DONE", "TITLE")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(5)]
    for row in [header] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:5], widths)) + "  " + row[5])
    print(f"({len(rows)} artifacts; runs and done for profile {args.profile!r}, "
          f"{args.seeds} seed(s), results in {results})")
    if args.estimate:
        _print_estimate(reg, names, args, results)
    return 0


def asked_of_runs(reg: Any, profile: str, seeds: int, preset: str = "clean") -> dict[str, set[str]]:
    """Per run, the ``eval_tasks`` values the artifacts evaluate it with (a run's identity leaves
    them out: Tables 1 and 2 share their models)."""
    asked: dict[str, set[str]] = {}
    for name in reg.names():
        for _, config in preset_configs(reg.get(name), profile, seeds, preset):
            asked.setdefault(config.digest(), set()).add(config.eval.eval_tasks)
    return asked


def evaluated_later(asked: dict[str, set[str]]) -> frozenset[str]:
    """Runs that artifacts evaluate on different tasks (``asked``: asked_of_runs): each keeps its
    best checkpoint so the next artifact only evaluates it."""
    return frozenset(run_id for run_id, values in asked.items() if len(values) > 1)


def release_kept_checkpoints(asked: dict[str, set[str]], profile: str, results: Any) -> list[str]:
    """Remove the best checkpoints that runs kept for another artifact once their results hold
    every task any artifact asks of them (mocose.runner.job.release_kept); their run ids."""
    from ..evaluation.tasks import parse_tasks
    from .job import release_kept

    return [run_id for run_id in evaluated_later(asked)
            if release_kept(results, profile, run_id, {t for v in asked[run_id] for t in parse_tasks(v)})]


def _print_estimate(reg: Any, names: list[str], args: argparse.Namespace, results: Any) -> None:
    """The distinct runs of every artifact (a run shared by artifacts counted once), those to
    train, and the device time they take on ``--devices`` (what ``run_all.sh --dry-run`` shows)."""
    from .dispatch import parse_devices
    from .plan import describe, plan_runs
    from .sweep import cost_of, describe_slots

    pairs = [pair for name in names
             for pair in preset_configs(reg.get(name), args.profile, args.seeds, args.preset)]
    plan = plan_runs(pairs, results, args.profile, f"all {len(names)} artifacts")
    slots = parse_devices(args.devices, local=False)  # planning needs no GPU here
    where, past_parallel, table_parallel = describe_slots(slots, None, len(plan.todo))
    data = args.data or os.environ.get("MOCOSE_DATA")
    print(describe(plan, cost_of(plan, results, data, slots, past_parallel, table_parallel), where,
                   list_runs=False))


def report_module() -> Any | None:
    """mocose.report, imported only when used (a sweep never waits on plotting libraries, and the
    runner sits below the report); None when it is not there."""
    try:
        return importlib.import_module("mocose.report")
    except ModuleNotFoundError as err:
        if err.name == "mocose.report":
            return None
        raise


def run_report(name: str, profile: str, results_dir: str | os.PathLike,
               plots_dir: str | os.PathLike = "plots", preset: str = "clean") -> int:
    """Build the report of ``name`` (mocose.report, imported only now, so a sweep never waits on
    plotting libraries); 0 when it was built or when the report module is not there."""
    report = report_module()
    if report is None:
        print("mocose: no report module (mocose.report); skipping the report", file=sys.stderr)
        return 0
    build = getattr(report, REPORT_ENTRY, None)
    if not callable(build):
        print(f"mocose: mocose.report has no {REPORT_ENTRY}(); skipping the report", file=sys.stderr)
        return 0
    options = {}
    if preset != "clean":
        if "preset" not in inspect.signature(build).parameters:
            print(f"mocose: the report does not take a preset yet; no report for preset {preset}",
                  file=sys.stderr)
            return 0
        options["preset"] = preset
    for rep in build([name], profile, results_dir=results_dir, plots_dir=plots_dir, **options):
        files = getattr(rep, "files", []) or []
        print(f"report {name} [{profile}]: " + (", ".join(str(f) for f in files) or "written"))
    return 0


SCHEDULER_TIMEOUT_S = 5.0


def check_scheduler(address: str | None, timeout: float = SCHEDULER_TIMEOUT_S) -> None:
    """Refuse, in one line and before any work, a --scheduler that is not tcp://HOST:PORT or that
    accepts no connection (Dask's own client would retry for 30 s, then raise a traceback)."""
    import socket
    from urllib.parse import urlsplit

    if not address:
        return
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None:
        raise ConfigError(f"--scheduler {address!r} is not allowed: give the Dask scheduler's "
                          f"address as tcp://HOST:PORT")
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as err:
        raise ConfigError(f"--scheduler {address}: no Dask scheduler answers there "
                          f"({err.strerror or err}); start one (dask scheduler) or fix the address") from None


def artifact_names(reg: Any, asked: list[str]) -> list[str]:
    """The artifacts ``asked`` names, in the order given, each once; ``all``: every artifact in the
    registry's order (alone). An unknown name is refused before anything runs."""
    if "all" in asked:
        if len(asked) > 1:
            raise ConfigError(f"reproduce {' '.join(asked)}: 'all' already names every artifact; "
                              f"give it alone or list the artifacts")
        return list(reg.names())
    names = list(dict.fromkeys(asked))
    for name in names:
        reg.get(name)  # raises a ConfigError naming the known artifacts
    return names


def _reproduce_one(name: str, reg: Any, args: argparse.Namespace, results: Any, data_dir: Any,
                   keep_best: frozenset[str], pool: Any) -> tuple[dict[str, int], bool]:
    """Plan and run one artifact's missing runs, then its report: (its plan's counts, all well)."""
    pairs = preset_configs(reg.get(name), args.profile, args.seeds, args.preset)
    summary = execute(pairs, profile=args.profile, results_dir=results, data_dir=data_dir,
                      devices=args.devices, scheduler=args.scheduler,
                      dask_options=getattr(args, "dask_options", None),
                      keep_checkpoints=args.keep_checkpoints, dry_run=args.dry_run,
                      artifact=name, progress=not args.quiet, process_per_run=args.process_per_run,
                      out=io.StringIO() if args.json else None, keep_best=keep_best, pool=pool,
                      report_to=getattr(args, "report_to", "none"))
    ok = summary.ok
    if not args.dry_run and not args.no_report:
        try:
            ok = not run_report(name, args.profile, results, args.plots, args.preset) and ok
        except Exception as err:  # noqa: BLE001 - the runs are safe on disk; say what broke
            print(f"mocose: the report of {name} failed: {type(err).__name__}: {err}", file=sys.stderr)
            ok = False
    return counts(summary.plan), ok


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Plan the missing runs of each artifact named, run them, then build its report.

    Several artifacts run one after another through the same local slots: each slot's job process
    is kept from one artifact to the next (``run_all.sh`` names them all in one call)."""
    from ..data import resolve_data_dir
    from .dispatch import SlotPool, parse_devices

    if args.scheduler == "slurm":
        slurm.check_slurm()
        slurm.options_from(args)  # a bad --slurm-* value is refused before any work
    else:
        check_scheduler(args.scheduler)
    if args.retries < 0:
        raise ConfigError(f"--retries {args.retries} is not allowed: --retries must be >= 0")
    args.dask_options = {"retries": args.retries}
    if args.seeds < 1:
        raise ConfigError(f"--seeds {args.seeds} is not allowed: --seeds must be at least 1")
    if args.json and not args.dry_run:
        raise ConfigError("--json is only allowed with --dry-run")
    if args.max_seeds is not None and not args.until_resolved:
        raise ConfigError("--max-seeds is only allowed with --until-resolved")
    if args.until_resolved:
        args.max_seeds = DEFAULT_MAX_SEEDS if args.max_seeds is None else args.max_seeds
        if args.max_seeds < max(2, args.seeds):
            raise ConfigError(f"--max-seeds {args.max_seeds} is not allowed: it must be at least 2 "
                              f"and at least --seeds ({args.seeds})")
    reg = registry()
    names = artifact_names(reg, args.name)
    data_dir = resolve_data_dir(args.data)
    results = results_root(args.results)
    most = args.max_seeds if args.until_resolved else args.seeds
    asked = asked_of_runs(reg, args.profile, most, args.preset)  # by every artifact, not only these
    keep_best = evaluated_later(asked)
    local = not args.scheduler and not args.dry_run
    pool = SlotPool(parse_devices(args.devices), args.process_per_run) if local else None
    with contextlib.ExitStack() as cluster:
        if args.scheduler == "slurm":
            run_seconds, runs = _run_cost(reg, names, args, results, data_dir)
            logs = str(store.log_path(results, args.profile, "x").parent / "slurm")
            if args.dry_run:
                if not args.json:
                    print("job script (--scheduler slurm):\n" + slurm.dry_run_script(args, run_seconds, runs, logs))
                args.scheduler = "slurm (dry run)"
            else:
                args.scheduler, args.dask_options = cluster.enter_context(
                    slurm.scheduler(args, run_seconds, runs, logs))
        return _reproduce_all(reg, names, args, results, data_dir, asked, keep_best, pool)


def _run_cost(reg: Any, names: list[str], args: argparse.Namespace, results: Any,
              data_dir: Any) -> tuple[float | None, int]:
    """The estimated device seconds of one missing run (their mean) and how many are missing."""
    from .dispatch import parse_devices, wants_gpu
    from .plan import estimate

    kind = "cuda" if wants_gpu(parse_devices(args.devices, local=False)) else "cpu"
    total, runs = 0.0, 0
    for name in names:
        plan = plan_runs(preset_configs(reg.get(name), args.profile, args.seeds, args.preset),
                         results, args.profile, name)
        cost = estimate(plan, results, data_dir, kind, 1)
        if cost.device_seconds is None:
            return None, runs
        total, runs = total + cost.device_seconds, runs + len(plan.todo)
    return (total / runs if runs else None), runs


def _reproduce_all(reg: Any, names: list[str], args: argparse.Namespace, results: Any, data_dir: Any,
                   asked: dict[str, set[str]], keep_best: frozenset[str], pool: Any) -> int:
    """cmd_reproduce's sweep over ``names``, then the summary."""
    several = len(names) > 1
    counted: dict[str, dict[str, int]] = {}
    planned: set[str] = set()  # --until-resolved: the runs of the final rounds
    fixed: set[str] = set()  # and those --max-seeds seeds in every cell would have taken
    failed: list[str] = []
    start = time.time()
    try:
        for i, name in enumerate(names, 1):
            if several and not args.json:
                print(f"=== {name} ({i}/{len(names)}, {time.time() - start:.0f}s elapsed) ===", flush=True)
            try:
                if args.until_resolved:
                    report = report_module()
                    counted[name], ok, ids = reproduce_until_resolved(
                        name, reg, args, results, data_dir, keep_best, pool,
                        getattr(report, "next_round", None) if report is not None else None)
                    planned |= ids
                    fixed |= {c.digest() for _, c in preset_configs(reg.get(name), args.profile,
                                                                    args.max_seeds, args.preset)}
                    if not args.dry_run and not args.no_report:
                        ok = not run_report(name, args.profile, results, args.plots, args.preset) and ok
                else:
                    counted[name], ok = _reproduce_one(name, reg, args, results, data_dir, keep_best, pool)
            except Exception as err:  # noqa: BLE001 - one artifact's fault does not stop the others
                if not several:
                    raise
                print(f"mocose: {name}: {type(err).__name__}: {err}", file=sys.stderr)
                ok = False
            if not ok:
                failed.append(name)
    except BaseException:
        if pool is not None:
            pool.close(wait=False)  # an interrupt: the job processes die with this one
        raise
    else:
        if pool is not None:
            pool.close()
    if not args.dry_run and not args.keep_checkpoints:
        release_kept_checkpoints(asked, args.profile, results)
    if args.dry_run:
        if args.json:
            print(json.dumps(counted if several else counted[names[0]]))
        return 0
    if args.until_resolved:
        print(f"reproduce: the sequential plan took {len(planned)} runs where --max-seeds "
              f"{args.max_seeds} seeds in every cell would take {len(fixed)}: "
              f"{len(fixed) - len(planned)} runs saved", flush=True)
    if several:
        print(f"reproduce: {len(names)} artifacts in {time.time() - start:.0f}s; profile {args.profile}",
              flush=True)
        if failed:
            print(f"reproduce: artifacts with failed runs or reports: {' '.join(failed)} (see the "
                  f"failed/ folder of the results)", file=sys.stderr)
    return 1 if failed else 0


def cmd_job(args: argparse.Namespace) -> int:
    """Run one job spec in this process (what ``reproduce`` launches once per run)."""
    from .job import die_with_parent

    die_with_parent()
    return run_job(json.loads(args.config))


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the job specs read from stdin until one fails (what ``reproduce`` keeps per slot)."""
    from .job import die_with_parent, serve

    die_with_parent()
    return serve()


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="cpu", help="profile of the runs (default: cpu)")
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS,
                        help="runs per cell: seeds base..base+N-1, base the profile's seed (default "
                             f"{DEFAULT_SEEDS}: a claim's test needs >= 2 runs per cell)")
    parser.add_argument("--preset", default="clean", choices=PRESETS,
                        help="clean (default) or authors: the authors' code's habits (mocose/presets.py)")
    parser.add_argument("--results", default=None,
                        help=f"results folder (default: ${store.RESULTS_ENV} or ./results)")


def register(subparsers: Any) -> None:
    """Add ``list`` and ``reproduce`` to the mocose command."""
    p = subparsers.add_parser("list", help="list the paper's tables and figures the suite reproduces",
                              description="Every artifact of the registry with its number of cells "
                                          "and runs, and how many of those runs are done.")
    _add_common(p)
    p.add_argument("--names", action="store_true", help="print the artifact names only, one a line")
    p.add_argument("--json", action="store_true",
                   help="print the registry as data: each artifact's name, title, kind, cells "
                        "(label, overrides, paper number or null, in_paper) and claims")
    p.add_argument("--estimate", action="store_true",
                   help="then the runs to train over all artifacts and their estimated device time")
    p.add_argument("--devices", default="cpu", help=f"devices the estimate assumes: {DEVICES_HELP}")
    p.add_argument("--data", default=None, help="data folder whose training file the estimate counts "
                                                "(default: $MOCOSE_DATA; wiki1m: 1,000,000 lines)")
    p.set_defaults(func=cmd_list)

    p = subparsers.add_parser("reproduce", help="run the missing runs of a table or figure, then report it",
                              description="Plan the runs each artifact needs that have no result yet, "
                                          "run them (a job process per slot, reused from run to run "
                                          "and from artifact to artifact), then build its report.",
                              epilog=CLUSTER_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="+", metavar="NAME",
                   help="artifact name(s) (see: mocose list), or all; several run one after another "
                        "through the same job processes")
    _add_common(p)
    p.add_argument("--devices", default="cpu", help=f"where jobs run: {DEVICES_HELP} (default: cpu)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT|slurm",
                   help="send the jobs to this Dask scheduler, or (slurm) to worker jobs on this "
                        "machine's SLURM cluster, instead of running them here")
    p.add_argument("--retries", type=int, default=2,
                   help="on a cluster: times a run whose worker or job was lost (scancel, "
                        "preemption, time limit, node failure) is started again from its saved "
                        "state (default 2); a run that fails for its own reasons is not")
    p.add_argument("--data", default=None, help="data folder (default: $MOCOSE_DATA)")
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="keep each run's work dir (checkpoints) after it finishes")
    p.add_argument("--until-resolved", action="store_true",
                   help="start at --seeds a cell, then add seeds in rounds only to the cells of "
                        "claims still unresolved, as many as their seeds_needed says, until every "
                        "claim is resolved or at --max-seeds (docs/seeds.md)")
    p.add_argument("--max-seeds", type=int, default=None,
                   help=f"with --until-resolved: most seeds per cell (default {DEFAULT_MAX_SEEDS})")
    p.add_argument("--spending", default="obrien-fleming", choices=("obrien-fleming", "pocock"),
                   help="with --until-resolved: the alpha-spending function over the looks "
                        "(default obrien-fleming)")
    p.add_argument("--dry-run", action="store_true",
                   help="show the plan and stop (with --until-resolved: the next round's)")
    p.add_argument("--json", action="store_true",
                   help='with --dry-run: print only {"to_train", "to_evaluate_only", '
                        '"to_evaluate_more", "done"} (plan.counts says what each counts)')
    p.add_argument("--plots", default="plots", help="plots folder of the report (default: ./plots)")
    p.add_argument("--no-report", action="store_true", help="do not build the report afterwards")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-run lines")
    p.add_argument("--process-per-run", action="store_true",
                   help="start a fresh job process for every run (default: one per slot, reused "
                        "until a run fails)")
    slurm.add_arguments(p)
    trackers.add_argument(p)
    p.set_defaults(func=cmd_reproduce)


def main(argv: list[str] | None = None) -> int:
    """``python -m mocose.runner {job,list,reproduce}``: the job entry of the child processes, and
    the runner's commands without the rest of the mocose CLI."""
    from ..data import DataError

    parser = argparse.ArgumentParser(prog="python -m mocose.runner")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    register(sub)
    p = sub.add_parser("job", help="run one job spec (internal: launched by reproduce)")
    p.add_argument("--config", required=True, help="the job spec as JSON")
    p.set_defaults(func=cmd_job)
    p = sub.add_parser("worker", help="run job specs read from stdin, one a line (internal: one a slot)")
    p.set_defaults(func=cmd_worker)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, DataError) as err:
        print(f"mocose: error: {err}", file=sys.stderr)
        return 2
