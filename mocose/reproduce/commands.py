"""``mocose list`` and ``mocose reproduce``: the command line of a reproduction. The parsed
arguments become a :class:`~mocose.reproduce.request.ReproduceRequest` here and go no further."""
from __future__ import annotations

import argparse
import json
from typing import Any

from ablations.overrides import parse_overrides
from ablations.spec import Registry
from ..presets import PRESETS, preset_configs
from ..runner import store
from ..training import trackers
from ..runner.slots import DEVICES_HELP, parse_devices
from ..runner.cost import describe
from ..runner.plan import plan_runs, results_root
from ..runner.slurm import SlurmOptions
from ..report.studies import resolve
from ..runner.sweep import cost_of, describe_slots
from ..report.commands import registry_of
from .pipeline import reproduce
from .request import DEFAULT_MAX_SEEDS, DEFAULT_SEEDS, SPENDINGS, ReproduceRequest

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


def named(args: argparse.Namespace) -> tuple[Registry, list[str]]:
    """The registry and artifact names ``reproduce`` works on: study files and reruns among the
    names join the registry, and with ``--set`` every named artifact is rerun at those values
    (mocose.report.studies.resolve)."""
    overrides = parse_overrides(args.set) if getattr(args, "set", None) else None
    return resolve(args.name, registry_of(args), overrides)


def request_from(args: argparse.Namespace, names: list[str] | None = None) -> ReproduceRequest:
    """The request ``mocose reproduce``'s arguments make (``names``: the artifacts, default the
    names given); a bad value raises before any work."""
    slurm = SlurmOptions(args.slurm_partition, args.slurm_time, args.slurm_gpus_per_job,
                         args.slurm_cpus_per_job, args.slurm_mem, args.slurm_max_jobs,
                         tuple(args.slurm_extra))
    extra = {"functions": args.functions} if getattr(args, "functions", None) else {}
    return ReproduceRequest.make(
        args.name if names is None else names, devices=args.devices, results_dir=args.results, data_dir=args.data,
        until_resolved=args.until_resolved, max_seeds=args.max_seeds, scheduler=args.scheduler,
        dry_run=args.dry_run, profile=args.profile, seeds=args.seeds, preset=args.preset,
        plots_dir=args.plots, slurm=slurm, retries=args.retries, spending=args.spending,
        keep_checkpoints=args.keep_checkpoints, json=args.json, quiet=args.quiet,
        report=not args.no_report, process_per_run=args.process_per_run, report_to=args.report_to, **extra)


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Plan the missing runs of each artifact named, run them, then build its report."""
    registry, names = named(args)
    return reproduce(request_from(args, names), registry)


def cmd_list(args: argparse.Namespace) -> int:
    """Every artifact of the registry: name, kind, number of cells and runs, runs done, title."""
    reg = registry_of(args)
    names = reg.names()
    if args.names:
        print("\n".join(names))
        return 0
    if args.json:
        print(json.dumps([art.to_dict() for art in reg.artifacts], indent=1))
        return 0
    results = results_root(args.results)
    done_ids = set(store.load_results(results, args.profile))
    rows = []
    for art in reg.artifacts:
        pairs = preset_configs(art, args.profile, args.seeds, args.preset)
        ids = {config.digest() for _, config in pairs}
        cells = len({cell.label for cell, _ in pairs})
        rows.append((art.name, art.kind, str(cells), str(len(ids)), str(len(ids & done_ids)), art.title))
    header = ("NAME", "KIND", "CELLS", "RUNS", "DONE", "TITLE")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(5)]
    if not args.estimate:
        for row in [header] + rows:
            print("  ".join(c.ljust(w) for c, w in zip(row[:5], widths)) + "  " + row[5])
        print(f"({len(rows)} artifacts; runs and done for profile {args.profile!r}, "
              f"{args.seeds} seed(s), results in {results})")
    else:
        print_estimate(reg, args, results)
    return 0


def print_estimate(reg: Registry, args: argparse.Namespace, results: Any) -> None:
    """The distinct runs of every artifact (a run shared by artifacts counted once), those to
    train, and the device time they take on ``--devices`` (what ``run_all.sh --dry-run`` shows)."""
    import os

    pairs = [pair for art in reg.artifacts for pair in preset_configs(art, args.profile, args.seeds, args.preset)]
    plan = plan_runs(pairs, results, args.profile, f"all {len(reg.artifacts)} artifacts")
    slots = parse_devices(args.devices, local=False)  # planning needs no GPU here
    where, past_parallel, table_parallel = describe_slots(slots, None, len(plan.todo))
    data = args.data or os.environ.get("MOCOSE_DATA")
    print(describe(plan, cost_of(plan, results, data, slots, past_parallel, table_parallel), where,
                   list_runs=False))


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="cpu", help="profile of the runs (default: cpu)")
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS,
                        help="runs per cell: seeds base..base+N-1, base the profile's seed (default "
                             f"{DEFAULT_SEEDS}: a claim's test needs >= 2 runs per cell)")
    parser.add_argument("--preset", default="clean", choices=PRESETS,
                        help="clean (default) or authors: the authors' code's habits (mocose/presets.py)")
    parser.add_argument("--results", default=None,
                        help=f"results folder (default: ${store.RESULTS_ENV} or ./results)")


def add_slurm_arguments(p: argparse.ArgumentParser) -> None:
    """The ``--slurm-*`` options of ``reproduce`` (mocose.runner.slurm.SlurmOptions)."""
    g = p.add_argument_group("SLURM (--scheduler slurm)")
    g.add_argument("--slurm-partition", default=None, help="partition (default: the cluster's default)")
    g.add_argument("--slurm-time", default=None,
                   help="time limit of a worker job (default: its share of the estimated device time, "
                        "doubled, at least 1 hour)")
    g.add_argument("--slurm-gpus-per-job", type=int, default=None,
                   help="GPUs a worker job asks for (default: 1 when --devices names CUDA, else 0)")
    g.add_argument("--slurm-cpus-per-job", type=int, default=2, help="CPUs a worker job asks for (default 2)")
    g.add_argument("--slurm-mem", default="8GB", help="memory a worker job asks for (default 8GB)")
    g.add_argument("--slurm-max-jobs", type=int, default=4, help="worker jobs at once at most (default 4)")
    g.add_argument("--slurm-extra", action="append", default=[], metavar="DIRECTIVE",
                   help="an extra #SBATCH directive, e.g. --slurm-extra=--account=nlp (repeatable)")


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
                   help="instead of the table: the runs to train over all artifacts and their "
                        "estimated device time")
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
                   help="artifact name(s) (see: mocose list), or all, or a study file FILE.yaml "
                        "(docs/studies.md); several run one after another through the same job "
                        "processes")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="rerun every named artifact with this config field on top of its recipe, "
                        "e.g. --set batch_size=32 (repeatable); a cell that sets the field itself "
                        "keeps its value; the reports are NAME+KEY=VALUE, apart from NAME's")
    add_run_options(p)
    p.set_defaults(func=cmd_reproduce)


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of a reproduction (``reproduce``, ``sweep``): profile, seeds, devices,
    cluster, rounds, dry run, report."""
    _add_common(p)
    trackers.add_argument(p)
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
    p.add_argument("--spending", default=SPENDINGS[0], choices=SPENDINGS,
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
    add_slurm_arguments(p)
