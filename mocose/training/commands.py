"""``mocose train``: the command line of the training loop."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..config import Config, parse_assignments
from ..data import resolve_data_dir
from ..device import resolve_device
from ..evaluation.run import format_tables
from ..evaluation.trained import evaluate_checkpoint
from ..presets import PRESETS, apply_preset
from ..profiles import load_profile, profile_names
from ..provenance import versions
from . import trackers
from .loop import train
from .run_folder import check_resumable


def resolve_config(profile: str, method: str | None, sets: list[str], preset: str = "clean") -> Config:
    """The profile's config, then the preset's habits, then --method and --set, all validated
    before any work."""
    overrides: dict[str, Any] = dict(parse_assignments(sets or []))
    if method:
        overrides["method"] = method
    base = load_profile(profile)
    if preset != "clean":
        base = apply_preset(base, preset)
    return base.override(overrides)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train MoCoSE (or --method simcse) and keep the best checkpoint")
    p.add_argument("--profile", default="cpu", choices=profile_names(), help="base configuration (default: cpu)")
    p.add_argument("--method", choices=("mocose", "simcse"), help="override the profile's method")
    p.add_argument("--preset", default="clean", choices=PRESETS,
                   help="clean (default) or authors: the authors' code's habits (mocose/presets.py)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field, e.g. --set ema_decay=0.95 (repeatable)")
    p.add_argument("--out", required=True, help="run folder (checkpoints, metrics.jsonl)")
    p.add_argument("--data", help="data folder (default: $MOCOSE_DATA)")
    p.add_argument("--device", default=None,
                   help="cpu, cuda (the current GPU) or cuda:N (default: cuda when there is a GPU, else cpu)")
    p.add_argument("--resume", action="store_true", help="continue a killed run from its last state")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    p.add_argument("--allow-config-change", action="store_true",
                   help="with --resume: continue under other --set values than the run was started with")
    p.add_argument("--deterministic", action="store_true",
                   help="deterministic kernels (torch and cuBLAS): a resumed run repeats a straight one")
    p.add_argument("--evaluate", action="store_true", help="then evaluate the best checkpoint on the seven STS tasks")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    trackers.add_argument(p)
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    config = resolve_config(args.profile, args.method, args.set, args.preset)
    resolve_data_dir(args.data)  # fail before loading anything
    device = resolve_device(args.device)
    check_resumable(Path(args.out), args.resume)
    # a run of `mocose train` is its own artifact "train", its cell the run folder's name
    tracker = trackers.open_tracker(args.report_to, trackers.RunName(
        "train", Path(args.out).resolve().name, config.train.seed, Path(args.out) / "runs", config.flat()))
    try:
        return _train_and_evaluate(args, config, device, tracker)
    finally:
        tracker.close()


def _train_and_evaluate(args: argparse.Namespace, config: Config, device: str, tracker: trackers.Tracker) -> int:
    summary = train(config, args.out, args.data, device, args.resume, not args.quiet, args.deterministic,
                    overwrite=args.overwrite, allow_config_change=args.allow_config_change,
                    on_record=tracker.log)
    final = {"best_score": summary["best_score"], "best_step": summary["best_step"]}
    best = "none" if summary["best_score"] is None else f"{summary['best_score']:.2f}"
    print(f"trained {config.model.method} ({config.profile} profile, preset {summary['preset']}, {summary['steps']} steps, "
          f"{summary['wall_time']:.0f} s); best {config.train.selection} = {best} "
          f"at step {summary['best_step']}{' (collapsed)' if summary['collapsed'] else ''}")
    print(f"checkpoint: {summary['best_checkpoint']}  log: {Path(args.out) / 'metrics.jsonl'}")
    if args.evaluate:
        result = evaluate_checkpoint(config, summary["best_checkpoint"], "sts", args.data, device,
                                     not args.quiet)
        record = {**result.to_dict(), "versions": versions()}
        (Path(args.out) / "eval.json").write_text(json.dumps(record, indent=2))
        final.update(trackers.final_scores(record))
        print(format_tables(record))
        print(f"STS avg = {result.avg['sts']:.2f}; details in {Path(args.out) / 'eval.json'}")
    tracker.log_final(trackers.scalars(final))
    return 0
