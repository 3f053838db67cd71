"""Print how long the queue-negative reductions take (k-means over a queue each training step).

    python benchmarks/negatives_kmeans.py [--device cuda] [--threads 2]
"""
from __future__ import annotations

import argparse
import time

import torch

from mocose.model.negatives import reduce_negatives


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"device {args.device}, torch threads {torch.get_num_threads()}")
    print(f"{'n':>6} {'d':>5} {'mode':>10} {'ms/step':>9}")
    for n, d in ((512, 768), (4096, 768)):
        queue = torch.randn(n, d, device=args.device)
        for code, label in ((-1, "mean"), (5, "kmeans:5"), (10, "kmeans:10"), (20, "kmeans:20")):
            reduce_negatives(queue, code, torch.Generator(args.device).manual_seed(0))  # warm-up
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            for r in range(args.repeats):
                reduce_negatives(queue, code, torch.Generator(args.device).manual_seed(r))
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            ms = (time.perf_counter() - start) / args.repeats * 1e3
            print(f"{n:>6} {d:>5} {label:>10} {ms:>9.1f}")


if __name__ == "__main__":
    main()
