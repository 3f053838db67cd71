"""What the authors' habit of augmenting at evaluation does to an encoder's STS scores.

Their embedding-level augmentations stay on when they evaluate (``augment_at_eval``, part of
``--preset authors``). This evaluates one encoder, untrained by the suite, plainly and then with
each augmentation of the paper's augmentation table acting on the test sentences (drawn per batch
from a generator seeded by --seed; position shuffle with one permutation per batch, as the preset),
and prints each score and its difference from the plain one. No training is involved: the figure
is the evaluation effect alone.

    python benchmarks/eval_augment.py [--model all-MiniLM-L6-v2] [--tasks STSBenchmark] [--data DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mocose.config import AugmentConfig  # noqa: E402
from mocose.model.encoders import load  # noqa: E402
from mocose.evaluation import SentenceEncoder, evaluate  # noqa: E402
from mocose.model.eval_augment import evaluation_augmentation  # noqa: E402

VARIANTS = (  # the augmentation table's cells (ablations/augmentation.py)
    ("plain", {}),
    ("token cutoff 0.1", {"token_cutoff": 0.1}),
    ("position shuffle (one per batch)", {"position_shuffle": True, "shuffle_per_batch": True}),
    ("feature cutoff 0.01", {"feature_cutoff": 0.01}),
    ("feature cutoff 0.1", {"feature_cutoff": 0.1}),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--pooler", default="cls_before_pooler")
    parser.add_argument("--tasks", default="STSBenchmark", help="sts, or comma-separated STS task names")
    parser.add_argument("--data", default=None)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    model, tokenizer = load(args.model)
    plain = None
    print(f"{args.model} ({args.pooler}), tasks {args.tasks}: average Spearman x 100")
    for label, fields in VARIANTS:
        enc = SentenceEncoder(model, tokenizer, pooler=args.pooler)  # a fresh cache per variant
        start = time.perf_counter()
        with evaluation_augmentation(model, AugmentConfig(augment_at_eval=True, **fields), args.seed):
            result = evaluate(enc, args.tasks, args.data, progress=False)
        score = result["avg"]["sts"]
        plain = score if plain is None else plain
        print(f"  {label:34s} {score:6.2f}  ({score - plain:+6.2f})  [{time.perf_counter() - start:.0f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
