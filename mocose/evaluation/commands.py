"""``mocose eval`` and ``mocose analyze``."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..config import POOLERS


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", help="Hugging Face encoder folder or name, an alias "
                   "(all-MiniLM-L6-v2, tiny-random-bert), or a suite checkpoint folder")
    p.add_argument("--pooler", default=None, choices=POOLERS,
                   help="sentence vector: cls_before_pooler (the paper's), cls, avg, avg_first_last, avg_top2 "
                   "(default: the pooling a sentence-transformers folder declares, else cls_before_pooler)")
    p.add_argument("--data", default=None, help="data folder (default: $MOCOSE_DATA)")
    p.add_argument("--out", default=None, metavar="JSON", help="write the full result here")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--device", default=None,
                   help="cpu, cuda (the current GPU) or cuda:N (default: cuda when there is a GPU, else cpu)")


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="evaluate an encoder with SentEval's protocol",
                              description="Evaluate an encoder on the STS and/or transfer tasks with "
                              "SentEval's protocol and print the paper's tables.")
    _common(p)
    p.add_argument("--tasks", nargs="+", default=["sts"],
                   help="sts, transfer, all, or task names (STS12 ... SICKRelatedness, MR ... MRPC), "
                   "space or comma separated")
    p.add_argument("--classifier", default="pytorch", choices=("pytorch", "sklearn"),
                   help="transfer tasks' SentEval classifier path: pytorch (usepytorch=True, the paper's; "
                   "default) or sklearn (logistic regression)")
    p.add_argument("--classifier-seeds", type=int, default=1, metavar="N",
                   help="transfer tasks: also fit each classifier with N seeds (1111, 1112, ...) and report "
                   "their mean and std (the classifier's own variance; the score stays seed 1111's)")
    p.add_argument("--half", action="store_true", help="float16 autocast (CUDA only)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_eval)

    a = subparsers.add_parser("analyze", help="alignment, uniformity and singular spectrum on STS-B",
                              description="Alignment and uniformity (Wang and Isola) and the normalised "
                              "singular-value spectrum of the STS-B sentence embeddings.")
    _common(a)
    a.set_defaults(func=run_analyze)


def _write(path: str | None, obj: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(obj, indent=2) + "\n")
        print(f"wrote {path}")


def _pooler(args) -> str:
    """--pooler, or the pooling the model folder declares; says which when not asked for."""
    from ..model.encoders import choose_pooler

    pooler, why = choose_pooler(args.model, args.pooler)
    if not args.pooler:
        print(f"pooler: {pooler} ({why}; --pooler chooses another)")
    return pooler


def significant(value: float, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits (6.1e-06, 0.2034, -2.113), not fixed decimals."""
    return f"{value:.{digits}g}"


def run_eval(args) -> int:
    from .classifier_seeds import format_spread, seeds
    from .run import evaluate_model, format_tables

    seeds(args.classifier_seeds)  # refuse N < 1 before loading anything
    args.pooler = _pooler(args)
    result = evaluate_model(args.model, pooler=args.pooler, tasks=",".join(args.tasks), data_dir=args.data,
                            batch_size=args.batch_size, device=args.device, half=args.half,
                            progress=not args.no_progress and sys.stderr.isatty(), classifier=args.classifier,
                            classifier_seeds=args.classifier_seeds)
    print(f"{args.model} ({args.pooler}, {result['precision']}), {result['wall_time_s']:.1f} s")
    print(format_tables(result))
    spread = format_spread(result)
    if spread:
        print("\n" + spread)
    _write(args.out, result)
    return 0


def run_analyze(args) -> int:
    from ..data import resolve_data_dir
    from ..device import resolve_device
    from ..model.encoders import load
    from .analysis import alignment_uniformity, singular_spectrum
    from .encode import SentenceEncoder
    from ..provenance import versions

    start = time.perf_counter()
    folder = resolve_data_dir(args.data)
    device = resolve_device(args.device)
    args.pooler = _pooler(args)
    model, tokenizer = load(args.model)
    enc = SentenceEncoder(model, tokenizer, pooler=args.pooler, batch_size=args.batch_size,
                          device=device, progress=sys.stderr.isatty())
    au = alignment_uniformity(enc, folder)
    spectrum = singular_spectrum(enc, folder)
    result = {"model": args.model, "pooler": args.pooler, "data_dir": str(folder), **au,
              "singular_values": spectrum, "versions": versions(),
              "wall_time_s": round(time.perf_counter() - start, 2)}
    print(f"{args.model} ({args.pooler}) on STS-B ({', '.join(au['splits'])}): alignment "
          f"{significant(au['alignment'])}, uniformity {significant(au['uniformity'])}")
    tops = ", ".join(significant(s) for s in spectrum[:8])
    print(f"normalised singular values (first 8 of {len(spectrum)}): {tops}")
    _write(args.out, result)
    return 0
