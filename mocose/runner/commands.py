"""The ``mocose list`` and ``mocose reproduce`` commands, and the job entry of a child process."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any

from ..config import ConfigError
from . import store
from .dispatch import DEVICES_HELP
from .job import run_job
from .plan import results_root
from .sweep import execute

# The registry module (CONTRACT_RUNS.md: names(), get(name)); tests point this at a small stand-in.
REGISTRY_ENV = "MOCOSE_REGISTRY"
DEFAULT_REGISTRY = "ablations"
# The report entry point (mocose/report.py): build(names, profile, results_dir, plots_dir).
REPORT_ENTRY = "build"


CLUSTER_HELP = """\
results: RESULTS/<profile>/runs/<run_id>.json per finished run (never rerun), failed/<run_id>.json
for the last failure of a run (retried by the next reproduce), work/<run_id>/ for checkpoints (a
killed run resumes from there), logs/<run_id>.log for each job's output.

on a Dask cluster (--scheduler tcp://HOST:8786): start one worker per GPU, each seeing its GPU only,
  CUDA_VISIBLE_DEVICES=0 dask worker tcp://HOST:8786 --nthreads 1 --resources GPU=1
  CUDA_VISIBLE_DEVICES=1 dask worker tcp://HOST:8786 --nthreads 1 --resources GPU=1
or with dask-jobqueue on SLURM: SLURMCluster(cores=1, processes=1,
  job_extra_directives=["--gres=gpu:1"], worker_extra_args=["--resources", "GPU=1"]), then
  mocose reproduce NAME --scheduler tcp://HOST:8786 --devices cuda
(--devices cuda submits every job with resources={'GPU': 1}; without it, jobs run on the
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
    results = results_root(args.results)
    done_ids = set(store.load_results(results, args.profile))
    rows = []
    for name in names:
        art = reg.get(name)
        pairs = art.configs(args.profile, args.seeds)
        ids = {config.digest() for _, config in pairs}
        cells = len({getattr(cell, "label", str(cell)) for cell, _ in pairs})
        rows.append((name, art.kind, str(cells), str(len(ids)), str(len(ids & done_ids)), art.title))
    header = ("NAME", "KIND", "CELLS", "RUNS", "DONE", "TITLE")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(5)]
    for row in [header] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:5], widths)) + "  " + row[5])
    print(f"({len(rows)} artifacts; runs and done for profile {args.profile!r}, "
          f"{args.seeds} seed(s), results in {results})")
    return 0


def run_report(name: str, profile: str, results_dir: str | os.PathLike,
               plots_dir: str | os.PathLike = "plots") -> int:
    """Build the report of ``name`` (mocose.report, imported only now, so a sweep never waits on
    plotting libraries); 0 when it was built or when the report module is not there."""
    try:
        report = importlib.import_module("mocose.report")
    except ModuleNotFoundError as err:
        if err.name == "mocose.report":
            print("mocose: no report module (mocose.report); skipping the report", file=sys.stderr)
            return 0
        raise
    build = getattr(report, REPORT_ENTRY, None)
    if not callable(build):
        print(f"mocose: mocose.report has no {REPORT_ENTRY}(); skipping the report", file=sys.stderr)
        return 0
    for rep in build([name], profile, results_dir=results_dir, plots_dir=plots_dir):
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


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Plan the missing runs of an artifact, run them, then build its report."""
    from ..data import resolve_data_dir

    check_scheduler(args.scheduler)
    if args.seeds < 1:
        raise ConfigError(f"--seeds {args.seeds} is not allowed: --seeds must be at least 1")
    art = registry().get(args.name)
    pairs = art.configs(args.profile, args.seeds)
    data_dir = resolve_data_dir(args.data)
    results = results_root(args.results)
    summary = execute(pairs, profile=args.profile, results_dir=results, data_dir=data_dir,
                      devices=args.devices, scheduler=args.scheduler,
                      keep_checkpoints=args.keep_checkpoints, dry_run=args.dry_run,
                      artifact=args.name, progress=not args.quiet)
    if args.dry_run:
        return 0
    code = 0 if summary.ok else 1
    if not args.no_report:
        try:
            code = run_report(args.name, args.profile, results, args.plots) or code
        except Exception as err:  # noqa: BLE001 - the runs are safe on disk; say what broke
            print(f"mocose: the report of {args.name} failed: {type(err).__name__}: {err}", file=sys.stderr)
            code = 1
    return code


def cmd_job(args: argparse.Namespace) -> int:
    """Run one job spec in this process (what ``reproduce`` launches once per run)."""
    from .job import die_with_parent

    die_with_parent()
    return run_job(json.loads(args.config))


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="cpu", help="profile of the runs (default: cpu)")
    parser.add_argument("--seeds", type=int, default=1,
                        help="runs per cell: seeds base..base+N-1, base the profile's seed (default 1)")
    parser.add_argument("--results", default=None,
                        help=f"results folder (default: ${store.RESULTS_ENV} or ./results)")


def register(subparsers: Any) -> None:
    """Add ``list`` and ``reproduce`` to the mocose command."""
    p = subparsers.add_parser("list", help="list the paper's tables and figures the suite reproduces",
                              description="Every artifact of the registry with its number of cells "
                                          "and runs, and how many of those runs are done.")
    _add_common(p)
    p.add_argument("--names", action="store_true", help="print the artifact names only, one a line")
    p.set_defaults(func=cmd_list)

    p = subparsers.add_parser("reproduce", help="run the missing runs of a table or figure, then report it",
                              description="Plan the runs an artifact needs that have no result yet, "
                                          "run them (one process per job), then build its report.",
                              epilog=CLUSTER_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="artifact name (see: mocose list)")
    _add_common(p)
    p.add_argument("--devices", default="cpu", help=f"where jobs run: {DEVICES_HELP} (default: cpu)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="send the jobs to this Dask scheduler instead of running them here")
    p.add_argument("--data", default=None, help="data folder (default: $MOCOSE_DATA)")
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="keep each run's work dir (checkpoints) after it finishes")
    p.add_argument("--dry-run", action="store_true", help="show the plan and stop")
    p.add_argument("--plots", default="plots", help="plots folder of the report (default: ./plots)")
    p.add_argument("--no-report", action="store_true", help="do not build the report afterwards")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-run lines")
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
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, DataError) as err:
        print(f"mocose: error: {err}", file=sys.stderr)
        return 2
