"""``mocose report`` and ``mocose claims``: the report's command line."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

import ablations

from ..config import ConfigError
from ..profiles import load_profile
from ..runner.plan import results_root
from ..runner.store import load_results
from .claims import FAILS, TEST_NOTE, ClaimResult, cell_runs, evaluate_claims, paper_claims
from .runs import profiles_with_results


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

    for profile in report_profiles(args):
        reports = build(args.names, profile, args.results, args.plots, args.preset)
        for rep in reports:
            print(f"{rep.art.name} [{profile}]: {rep.n_with_results}/{rep.n_cells} cells with results, "
                  f"{rep.n_runs} runs; claims: {verdict_counts(rep.claims)}")
            for path in rep.files:
                print(f"  {path}")
        index = "REPORT.md" if args.preset == "clean" else f"REPORT-{args.preset}.md"
        print(f"index: {Path(args.results) / profile / index}")
    return 0


def format_claims(name: str, results: Sequence[ClaimResult]) -> list[str]:
    """One line per claim (its verdict), one per check beneath it."""
    lines = []
    for res in results:
        lines.append(f"{name}: [{res.verdict}] {res.claim.text}")
        for c in res.checks:
            lines.append(f"    [{c.verdict}] {c.text}: {c.reason}")
    return lines


def cmd_claims(args) -> int:
    """Print every claim of the named (default: all) artifacts with its verdict; exit 1 if any
    does not hold."""
    names = args.names or ablations.names()
    arts = [ablations.get(n) for n in names]
    failed = 0
    if args.against_paper:
        print("Claims checked on the paper's own numbers as if measured (point comparisons):")
        for art in arts:
            results = paper_claims(art)
            failed += sum(r.verdict == FAILS for r in results)
            print("\n".join(format_claims(art.name, results)))
    else:
        results_dir = results_root(args.results)
        found = load_results(results_dir, args.profile)
        print(f"Claims on the measured runs of profile {args.profile!r} ({results_dir}). {TEST_NOTE}")
        for art in arts:
            results = evaluate_claims(art, cell_runs(art, args.profile, found))
            failed += sum(r.verdict == FAILS for r in results)
            print("\n".join(format_claims(art.name, results)))
    total = sum(len(a.claims) for a in arts)
    print(f"{total} claims of {len(arts)} artifacts; {failed} do not hold")
    return 1 if failed else 0


def register(subparsers: Any) -> None:
    """Add ``mocose report [NAME ...]`` and ``mocose claims [NAME ...]``."""
    p = subparsers.add_parser(
        "report", help="rebuild tables, figures and claim verdicts from result files",
        description="Rebuild the report of one or more artifacts (all when none is named) from "
                    "the result files alone: tables in the paper's layout (Markdown, CSV, LaTeX), "
                    "one CSV row per run, PNG/PDF figures, claim verdicts, and the index "
                    "RESULTS/<profile>/REPORT.md.")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help=f"artifacts to report (default: all): {', '.join(ablations.names())}")
    p.add_argument("--profile", default=None,
                   help="profile whose results to read (default: every profile that has results)")
    p.add_argument("--preset", default="clean", choices=("clean", "authors"),
                   help="report the runs made under this preset (mocose/presets.py; default clean)")
    p.add_argument("--results", default="results", type=Path,
                   help="results folder (default ./results)")
    p.add_argument("--plots", default="plots", type=Path, help="plots folder (default ./plots)")
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser(
        "claims", help="the paper's claims with their verdicts (on measured runs or the paper's numbers)",
        description="Print every claim of the named artifacts (default: all) with its verdict: on "
                    "the measured runs of a profile, or with --against-paper on the paper's own "
                    "numbers as if measured. Exits 1 when any claim does not hold.")
    p.add_argument("names", nargs="*", help="artifact names (default: every artifact)")
    p.add_argument("--against-paper", action="store_true",
                   help="check the claims on the paper's own numbers")
    p.add_argument("--profile", default="cpu", help="profile of the measured runs (default: cpu)")
    p.add_argument("--results", default=None, help="results folder (default: $MOCOSE_RESULTS or ./results)")
    p.set_defaults(func=cmd_claims)
