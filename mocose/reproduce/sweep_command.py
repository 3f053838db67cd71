"""``mocose sweep NAME --set k=v1,v2 [--set ...]``: a grid from the command line, Hydra-multirun
style, written as a study file (to rerun, edit and share), then run as ``mocose reproduce FILE``."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ablations.study import parse_study, study_text
from ..config import ConfigError, parse_assignments, parse_value
from ..report.studies import resolve
from .commands import add_run_options, registry_of, request_from
from .pipeline import reproduce

STUDIES_DIR = Path("studies")


def grid_of(items: list[str]) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """``--set k=v1,v2`` values, each of its field's type: the fields with several values make the
    grid, those with one the base every cell shares (alone, they make the grid)."""
    if not items:
        raise ConfigError("sweep: give the grid as --set FIELD=V1,V2 (repeatable), e.g. "
                          "--set pred_layers=0,1,2")
    values: dict[str, list[Any]] = {}
    for key, text in parse_assignments(items).items():
        parts = [p for p in (t.strip() for t in text.split(",")) if p]
        if not parts:
            raise ConfigError(f"sweep: --set {key}={text} lists no value: give {key}=V1,V2")
        values[key] = [parse_value(key, p) for p in parts]
        if len(set(map(repr, values[key]))) != len(values[key]):
            raise ConfigError(f"sweep: --set {key}={text} lists a value twice: list each once")
    grid = {k: v for k, v in values.items() if len(v) > 1}
    if not grid:
        return values, {}
    return grid, {k: v[0] for k, v in values.items() if len(v) == 1}


def cmd_sweep(args: argparse.Namespace) -> int:
    """Write the study file of the grid, then reproduce it."""
    grid, base = grid_of(args.set)
    out = Path(args.out) if args.out else STUDIES_DIR / f"{args.sweep_name}.yaml"
    header = ("Written by: mocose sweep " + args.sweep_name + " "
              + " ".join(f"--set {s}" for s in args.set)
              + f"\nRerun (nothing trained twice): mocose reproduce {out}\n"
                "Add claims below ('A > B' between cell labels); `mocose report FILE` tests them "
                "on the runs already there. Format: docs/studies.md")
    text = study_text(args.sweep_name, grid, base, metric=args.metric, header=header)
    parse_study(text, str(out))  # refuses a bad name, field or value before anything is written
    if out.exists() and out.read_text() != text and not args.force:
        raise ConfigError(f"{out} exists and differs (edited?): run it with `mocose reproduce {out}`, "
                          "or pass --out FILE or --force to overwrite it")
    args.name = [str(out)]
    request_from(args, [args.sweep_name])  # the run options, checked before the file is written
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"sweep: wrote {out} ({_cells(grid)} cells); running it as `mocose reproduce {out}`", flush=True)
    registry, names = resolve(args.name, registry_of(args))
    return reproduce(request_from(args, names), registry)


def _cells(grid: dict[str, list[Any]]) -> int:
    n = 1
    for values in grid.values():
        n *= len(values)
    return n


def register(subparsers: Any) -> None:
    """Add ``mocose sweep``."""
    p = subparsers.add_parser(
        "sweep", help="a grid over config fields from the command line, written as a study file and run",
        description="Write the study file of a grid (default studies/NAME.yaml; docs/studies.md), "
                    "then run it as `mocose reproduce FILE` does: runs cached by config, seeds, "
                    "devices, clusters, report and claims. A field with one value is the base "
                    "every cell shares.")
    p.add_argument("sweep_name", metavar="NAME", help="the study's name (report files); not a paper artifact's")
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                   help="a grid field and its values, e.g. --set pred_layers=0,1,2 (repeatable: "
                        "the grid is their product)")
    p.add_argument("--metric", default="sts", help="the number a cell shows (default sts; docs/studies.md)")
    p.add_argument("--out", default=None, help="the study file to write (default studies/NAME.yaml)")
    p.add_argument("--force", action="store_true", help="overwrite the study file if it exists and differs")
    add_run_options(p)
    p.set_defaults(func=cmd_sweep)
