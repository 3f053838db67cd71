"""``mocose report``, ``mocose claims`` and ``mocose seeds``: the report's command line."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Sequence

import ablations
from ablations.spec import Registry

from ..config import ConfigError
from ..profiles import load_profile
from ..runner.plan import results_root
from ..runner.store import load_results
from .claims import TEST_NOTE, ClaimResult, cell_runs, evaluate_claims, note_for, paper_claims
from .runs import profiles_with_results
from .studies import resolve
from .sequential import DEFAULT_SPENDING, SPENDING, SequentialDesign
from .seeds import (DEFAULT_MAX_SEEDS, ClaimSeeds, claim_seeds, recorded_design, seeds_of_results,
                    simulate)
from .verdicts import CONTRADICTED, UNRESOLVED


def registry_of(args: argparse.Namespace) -> Registry:
    """The registry the command line was given (``mocose.cli.main(argv, registry=...)``), else the paper's."""
    return getattr(args, "registry", None) or ablations.REGISTRY


def named(args: argparse.Namespace) -> tuple[Registry, list[str]]:
    """The registry and artifact names of the command line: study files and ``NAME+key=value``
    reruns among the names join the registry (mocose.report.studies). ``all``, alone, names
    every artifact (no names), as ``mocose reproduce all`` does."""
    if "all" in args.names:
        if len(args.names) > 1:
            raise ConfigError(f"{' '.join(args.names)}: 'all' already names every artifact; "
                              "give it alone or list the artifacts")
        return registry_of(args), []
    return resolve(args.names, registry_of(args))


def report_profiles(args: argparse.Namespace) -> list[str]:
    """The profiles ``mocose report`` reads: the --profile given, which must have results; without
    one, every profile that has results. Never an empty report beside the real one."""
    have = profiles_with_results(args.results)
    if args.profile:
        load_profile(args.profile)  # unknown profile -> ConfigError naming the valid ones
        if args.profile not in have:
            hint = (f"profiles with results there: {', '.join(have)} (pass --profile "
                    f"{have[0]})" if have else "no profile has results there yet: run `mocose reproduce NAME` first")
            raise ConfigError(f"no results of profile {args.profile!r} in {args.results}; {hint}")
        return [args.profile]
    if not have:
        raise ConfigError(f"no results in {args.results}: run `mocose reproduce NAME` first "
                          "(or pass --results DIR)")
    return have


def cmd_report(args: argparse.Namespace) -> int:
    """Build the reports of the named artifacts (all by default) for each profile asked."""
    from .build import build, verdict_counts  # the plotting libraries load only for a report

    registry, names = named(args)
    for profile in report_profiles(args):
        reports = build(names, profile, args.results, args.plots, args.preset, registry, args.checkpoint)
        for rep in reports:
            print(f"{rep.art.name} [{profile}]: {rep.n_with_results}/{rep.n_cells} cells with results, "
                  f"{rep.n_runs} runs; claims: {verdict_counts(rep.claims)}")
            for path in rep.files:
                print(f"  {path}")
        index = "REPORT.md" if args.preset == "clean" else f"REPORT-{args.preset}.md"
        print(f"index: {Path(args.results) / profile / index}")
    return 0


def format_claims(name: str, results: Sequence[ClaimResult],
                  seeds: Sequence[ClaimSeeds] = ()) -> list[str]:
    """One line per claim (its verdict), one per check beneath it; an unresolved one with the
    seeds per cell that would resolve it, where ``seeds`` (per claim) are given."""
    lines = []
    per_claim = list(seeds) if len(seeds) == len(results) else [None] * len(results)
    for res, cs in zip(results, per_claim):
        lines.append(f"{name}: [{res.verdict}] {res.claim.text}")
        checks = cs.checks if cs is not None else [None] * len(res.checks)
        for c, needed in zip(res.checks, checks):
            more = (f"; seeds needed: {needed.seeds_needed}"
                    if needed is not None and c.verdict == UNRESOLVED else "")
            lines.append(f"    [{c.verdict}] {c.text}: {c.reason}{more}")
    return lines


def format_reproduction(art: Any, profile: str, runs: dict) -> list[str]:
    """One line per cell with a published number: its reproduction verdict (docs/results.md),
    labelled "not comparable" outside the paper profile."""
    from .cells import collect_runs
    from .tables import cell_reproduction  # pandas: loaded only when claims are printed

    lines = []
    for cd in collect_runs(art, profile, runs):
        found = cell_reproduction(art, cd)
        if found is None:
            continue
        interval = "" if found.low is None else f" [{found.low:.2f}, {found.high:.2f}]"
        lines.append(f"    {cd.cell.label}: {found.text(profile == 'paper')}; published "
                     f"{found.published:.2f}, our 95% interval{interval or ' -'}")
    return [f"{art.name}: published numbers"] + lines if lines else []


def cmd_claims(args) -> int:
    """Print every claim of the named (default: all) artifacts with its verdict; exit 1 if any
    is contradicted."""
    registry, names = named(args)
    arts = [registry.get(n) for n in names] if names else registry.all_artifacts()
    failed = 0
    if args.against_paper:
        print("Claims checked on the paper's own numbers as if measured (point comparisons):")
        for art in arts:
            results = paper_claims(art)
            failed += sum(r.verdict == CONTRADICTED for r in results)
            print("\n".join(format_claims(art.name, results)))
    else:
        results_dir = results_root(args.results)
        found = load_results(results_dir, args.profile)
        print(f"Claims on the measured runs of profile {args.profile!r} ({results_dir}). {TEST_NOTE}")
        for art in arts:
            design = recorded_design(results_dir, args.profile, art.name)
            if design is not None:
                print(f"{art.name}: {note_for(design)[len(TEST_NOTE) + 1:]}")
            runs = cell_runs(art, args.profile, found)
            results = evaluate_claims(art, runs, design)
            failed += sum(r.verdict == CONTRADICTED for r in results)
            seeds = seeds_of_results(art, results, runs, design)
            print("\n".join(format_claims(art.name, results, seeds)
                            + format_reproduction(art, args.profile, runs)))
    total = sum(len(a.claims) for a in arts)
    print(f"{total} claims of {len(arts)} artifacts; {failed} contradicted")
    return 1 if failed else 0


def design_for(args: argparse.Namespace, results_dir: Any, name: str) -> SequentialDesign | None:
    """The design ``mocose seeds`` tests an artifact under: the flags' when any is given, else the
    one recorded by ``reproduce --until-resolved``, else None (fixed-sample tests)."""
    if args.start is not None or args.spending is not None:
        start = args.start if args.start is not None else 3
        return _design(start, args.max_seeds or DEFAULT_MAX_SEEDS, args.spending or DEFAULT_SPENDING)
    recorded = recorded_design(results_dir, args.profile, name)
    if recorded is not None and args.max_seeds is not None and args.max_seeds != recorded.max_seeds:
        return _design(recorded.start, args.max_seeds, recorded.spending)
    return recorded


def _design(start: int, max_seeds: int, spending: str) -> SequentialDesign:
    try:
        return SequentialDesign(start, max_seeds, spending)
    except ValueError as err:
        raise ConfigError(f"--start {start} --max-seeds {max_seeds}: {err}") from None


def format_seeds(rows: Sequence[ClaimSeeds]) -> list[str]:
    """One line per claim: verdict, seeds used per cell, detectable difference, seeds needed."""
    lines = []
    for cs in rows:
        used = ", ".join(f"{label} {n}" for label, n in cs.seeds_used.items())
        det = "-" if cs.detectable is None else f"{cs.detectable:.2f}"
        gap = "-" if cs.paper_gap is None else f"{cs.paper_gap:+.2f}"
        lines.append(f"{cs.artifact}: [{cs.verdict}] {cs.claim}\n    seeds used: {used or '-'}; "
                     f"detectable {det}, paper gap {gap}; seeds needed: {cs.seeds_needed}")
    return lines


def cmd_seeds(args: argparse.Namespace) -> int:
    """Per claim: seeds used, verdict, detectable difference, seeds needed (or --simulate)."""
    if args.simulate:
        if args.names:
            raise ConfigError("--simulate takes no artifact names: it simulates one claim")
        if args.effect is None or args.sd is None:
            raise ConfigError("--simulate needs --effect D and --sd S")
        if args.trials < 1 or args.sd <= 0:
            raise ConfigError(f"--trials {args.trials} must be >= 1 and --sd {args.sd} > 0")
        design = _design(args.start if args.start is not None else 3,
                         args.max_seeds or DEFAULT_MAX_SEEDS, args.spending or DEFAULT_SPENDING)
        out = simulate(args.effect, args.sd, design.start, design.max_seeds, args.trials,
                       args.seed, design.spending)
        if args.json:
            print(json.dumps(out))
        else:
            print(f"{args.trials} simulated sweeps (effect {args.effect:g}, sd {args.sd:g}, seeds "
                  f"{design.start}..{design.max_seeds}, {design.spending} spending): reject rate "
                  f"{out['reject_rate']:.3f}, mean seeds {out['mean_seeds']:.2f}, at the maximum "
                  f"{out['max_seeds_hit']:.3f}")
        return 0
    results_dir = results_root(args.results)
    found = load_results(results_dir, args.profile)
    rows: list[ClaimSeeds] = []
    notes = []
    registry, names = named(args)
    for art in ([registry.get(n) for n in names] if names else registry.all_artifacts()):
        name = art.name
        design = design_for(args, results_dir, name)
        max_seeds = args.max_seeds or (design.max_seeds if design else DEFAULT_MAX_SEEDS)
        rows += claim_seeds(art, cell_runs(art, args.profile, found, args.preset), design, max_seeds)
        notes.append(f"{name}: " + ("fixed-sample tests" if design is None else
                                    f"sequential design, looks at {design.start}..{design.max_seeds} "
                                    f"seeds a cell, {design.spending} spending"))
    if args.json:
        print(json.dumps({"claims": [cs.to_dict() for cs in rows]}, indent=1))
        return 0
    print(f"Seeds per claim on the runs of profile {args.profile!r} ({results_dir}); "
          + "; ".join(notes))
    print("\n".join(format_seeds(rows)))
    return 0


def register(subparsers: Any) -> None:
    """Add ``mocose report [NAME ...]``, ``mocose claims [NAME ...]`` and ``mocose seeds``."""
    p = subparsers.add_parser(
        "report", help="rebuild tables, figures and claim verdicts from result files",
        description="Rebuild the report of one or more artifacts (all when none is named) from "
                    "the result files alone: tables in the paper's layout (Markdown, CSV, LaTeX), "
                    "one CSV row per run, PNG/PDF figures, claim verdicts, and the index "
                    "RESULTS/<profile>/REPORT.md.")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help=f"artifacts to report (default, or 'all': every one): "
                        f"{', '.join(ablations.names())}; "
                        "or a study file (FILE.yaml, docs/studies.md), or NAME+key=value (a "
                        "reproduce --set rerun)")
    p.add_argument("--profile", default=None,
                   help="profile whose results to read (default: every profile that has results)")
    p.add_argument("--preset", default="clean", choices=("clean", "authors"),
                   help="report the runs made under this preset (mocose/presets.py; default clean)")
    p.add_argument("--checkpoint", default="best", choices=("best", "last"),
                   help="each run's selected model (best, the default, as the paper) or its last "
                        "one (written to reports-last/; runs made before runs evaluated it: "
                        "'last: not recorded')")
    p.add_argument("--results", default="results", type=Path,
                   help="results folder (default ./results)")
    p.add_argument("--plots", default="plots", type=Path, help="plots folder (default ./plots)")
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser(
        "claims", help="the paper's claims with their verdicts (on measured runs or the paper's numbers)",
        description="Print every claim of the named artifacts (default: all) with its verdict: on "
                    "the measured runs of a profile, or with --against-paper on the paper's own "
                    "numbers as if measured, and the reproduction verdict of every published number. "
                    "Exits 1 when any claim is contradicted.")
    p.add_argument("names", nargs="*", help="artifact names or study files (default: every artifact)")
    p.add_argument("--against-paper", action="store_true",
                   help="check the claims on the paper's own numbers")
    p.add_argument("--profile", default="cpu", help="profile of the measured runs (default: cpu)")
    p.add_argument("--results", default=None, help="results folder (default: $MOCOSE_RESULTS or ./results)")
    p.set_defaults(func=cmd_claims)

    p = subparsers.add_parser(
        "seeds", help="seeds per claim: used, verdict, detectable difference, seeds needed",
        description="For each claim of the named artifacts (default: all), from the runs in the "
                    "results folder: the seeds used per cell, the verdict now, the smallest "
                    "difference the runs could detect, and the seeds per cell that would resolve "
                    "the paper's gap with power 0.8 (docs/seeds.md). Tests use the sequential "
                    "design `reproduce --until-resolved` recorded, or the one --start/--spending "
                    "give, else fixed-sample tests. --simulate runs the until-resolved procedure "
                    "on simulated cells instead.")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="artifact names or study files (default: every artifact)")
    p.add_argument("--profile", default="cpu", help="profile of the measured runs (default: cpu)")
    p.add_argument("--preset", default="clean", choices=("clean", "authors"),
                   help="the runs made under this preset (default clean)")
    p.add_argument("--results", default=None, help="results folder (default: $MOCOSE_RESULTS or ./results)")
    p.add_argument("--max-seeds", "--max", dest="max_seeds", type=int, default=None,
                   help=f"most seeds per cell to plan for (default: the recorded design's, else "
                        f"{DEFAULT_MAX_SEEDS})")
    p.add_argument("--start", type=int, default=None,
                   help="seeds per cell of the first look of the sequential design (default 3)")
    p.add_argument("--spending", default=None, choices=SPENDING,
                   help=f"alpha-spending function of the sequential design (default {DEFAULT_SPENDING})")
    p.add_argument("--json", action="store_true",
                   help='print {"claims": [{"artifact", "claim", "verdict", "seeds_used", '
                        '"seeds_needed", "detectable", "paper_gap", "checks"}, ...]}')
    p.add_argument("--simulate", action="store_true",
                   help="simulate the until-resolved procedure on one 'a > b' claim with normal cells")
    p.add_argument("--effect", type=float, default=None, help="with --simulate: the true difference a - b")
    p.add_argument("--sd", type=float, default=None, help="with --simulate: each cell's standard deviation")
    p.add_argument("--trials", type=int, default=2000, help="with --simulate: sweeps (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="with --simulate: random seed (default 0)")
    p.set_defaults(func=cmd_seeds)
