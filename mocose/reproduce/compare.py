"""``mocose compare A B``: two models, or two cells of the results folder, side by side per task
with the difference; for two cells with seeds, the report's claim test of "A > B" (its interval
and verdict, docs/results.md "Verdicts").

A is a cell when it is written ``ARTIFACT:CELL`` (``table3:eta=0.99``) and the registry has that
artifact; otherwise it is a model as ``mocose eval`` takes it (a checkpoint folder, a Hugging Face
name or folder, an alias), evaluated now."""
from __future__ import annotations

import argparse
import dataclasses
import statistics
from typing import Any, Mapping, Sequence

from ablations.spec import Artifact, Cell, Claim, Registry, beats
from ..config import ConfigError
from ..evaluation.tasks import SHORT_NAMES, parse_tasks


def cell_of(text: str, registry: Registry) -> tuple[Artifact, Cell] | None:
    """The (artifact, cell) ``ARTIFACT:CELL`` names, or None when ``text`` names no artifact."""
    name, sep, label = text.partition(":")
    if not sep or name not in registry:
        return None
    art = registry.get(name)
    return art, art.cell(label)  # an unknown cell is refused, naming the artifact's cells


def cell_scores(art: Artifact, cell: Cell, profile: str, results: Mapping[str, Any], preset: str) -> list[dict]:
    """The finished runs of one cell (mocose.report.claims.cell_runs)."""
    from ..report.claims import cell_runs

    return list(cell_runs(art, profile, results, preset).get(cell.label, []))


def per_task(runs: Sequence[Mapping[str, Any]], tasks: list[str]) -> dict[str, float | None]:
    """The mean score of each task over ``runs`` (None where no run has it)."""
    out = {}
    for task in tasks:
        values = [r["metrics"]["tasks"][task]["score"] for r in runs
                  if task in ((r.get("metrics") or {}).get("tasks") or {})]
        out[task] = statistics.fmean(values) if values else None
    return out


def claim_test(a: tuple[Artifact, Cell], b: tuple[Artifact, Cell], runs_a: list, runs_b: list, metric: str):
    """The report's test of "A > B" on the two cells' runs: its CheckResult."""
    from ..report.claims import evaluate_claims

    ca = dataclasses.replace(a[1], label="A", addition=False)
    cb = dataclasses.replace(b[1], label="B", addition=False)
    pair = Artifact("compare", "A against B", "table", (ca, cb), metric=metric,
                    claims=(Claim("A beats B", (beats("A", "B"),)),))
    (result,) = evaluate_claims(pair, {"A": runs_a, "B": runs_b}, None)
    return result.checks[0]


def table(names: list[str], a: Mapping[str, float | None], b: Mapping[str, float | None],
          label_a: str, label_b: str) -> str:
    """Rows A, B and A - B, a column per task and the average of the tasks both have."""
    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    both = [t for t in names if a.get(t) is not None and b.get(t) is not None]
    avg = lambda d: statistics.fmean(d[t] for t in both) if both else None  # noqa: E731
    diff = {t: a[t] - b[t] for t in both}
    heads = ["", *[SHORT_NAMES.get(t, t) for t in names], "Avg."]
    rows = [[label_a, *[fmt(a.get(t)) for t in names], fmt(avg(a))],
            [label_b, *[fmt(b.get(t)) for t in names], fmt(avg(b))],
            ["A - B", *[fmt(diff.get(t)) for t in names], fmt(avg(a) - avg(b) if both else None)]]
    widths = [max(len(r[i]) for r in [heads, *rows]) for i in range(len(heads))]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in [heads, *rows])


def cmd_compare(args: argparse.Namespace) -> int:
    from ..runner.plan import results_root
    from ..runner.store import load_results
    from .commands import registry_of

    registry = registry_of(args)
    names = parse_tasks(args.tasks)
    sides = [cell_of(x, registry) for x in (args.a, args.b)]
    if any(sides) and not all(sides):
        raise ConfigError(f"compare {args.a} {args.b}: give two cells (ARTIFACT:CELL) or two models, not one of each")
    if all(sides):
        results = load_results(results_root(args.results), args.profile)
        runs = [cell_scores(art, cell, args.profile, results, args.preset) for art, cell in sides]
        for text, found in zip((args.a, args.b), runs):
            if not found:
                raise ConfigError(f"no finished runs of {text} in profile {args.profile!r}: run "
                                  f"`mocose reproduce {text.partition(':')[0]} --profile {args.profile}` first")
        scores = [per_task(r, names) for r in runs]
        print(table(names, scores[0], scores[1], f"A {args.a} (n={len(runs[0])})", f"B {args.b} (n={len(runs[1])})"))
        metric = names[0] if len(names) == 1 else ("sts" if set(names) <= set(parse_tasks("sts")) else "transfer")
        check = claim_test(sides[0], sides[1], runs[0], runs[1], metric)
        interval = ("" if check.low is None else f", interval of A - B [{check.low:+.2f}, {check.high:+.2f}]")
        print(f"A > B on {metric}: {check.verdict}{interval} ({check.reason})")
        return 0
    from ..evaluation.run import evaluate_model
    from ..model.encoders import choose_pooler

    scores = [{t: s["score"] for t, s in evaluate_model(m, pooler=choose_pooler(m, args.pooler)[0], tasks=names,
                                                         data_dir=args.data, device=args.device,
                                                         progress=False)["tasks"].items()}
              for m in (args.a, args.b)]
    print(table(names, scores[0], scores[1], f"A {args.a}", f"B {args.b}"))
    return 0


def register(subparsers: Any) -> None:
    """Add ``mocose compare``."""
    p = subparsers.add_parser("compare", help="two models or two cells side by side, per task",
                              description="Two models (checkpoints, Hugging Face names or folders, "
                                          "aliases) evaluated now, or two cells of the results "
                                          "folder (ARTIFACT:CELL, e.g. table3:eta=0.99) from their "
                                          "runs: per task, each one's score and the difference; for "
                                          "cells, the claim test of A > B over their seeds.")
    p.add_argument("a", metavar="A", help="a model, or a cell written ARTIFACT:CELL")
    p.add_argument("b", metavar="B", help="a model, or a cell written ARTIFACT:CELL")
    p.add_argument("--tasks", nargs="+", default=["sts"], help="sts (default), transfer, all or task names")
    p.add_argument("--pooler", default=None, help="models: the pooler (default: as mocose eval chooses)")
    p.add_argument("--data", default=None, help="models: data folder (default: $MOCOSE_DATA)")
    p.add_argument("--device", default="cpu", help="models: device (default: cpu)")
    p.add_argument("--profile", default="cpu", help="cells: profile of the runs (default: cpu)")
    p.add_argument("--preset", default="clean", choices=("clean", "authors"), help="cells: preset of the runs")
    p.add_argument("--results", default=None, help="cells: results folder (default: $MOCOSE_RESULTS or ./results)")
    p.set_defaults(func=cmd_compare)
