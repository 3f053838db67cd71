"""The transfer classifier's own variance (``mocose eval --tasks transfer --classifier-seeds N``).

SentEval fixes the classifier's seed (``params.seed`` = 1111): it sets the classifier's starting
weights and its minibatch shuffles (and the k-fold splits of TREC and MRPC). Refitting one task's
classifier on the same sentence vectors with seeds 1111, 1112, ..., 1111 + N - 1 measures how much
a transfer figure moves from the classifier alone, apart from the training seeds' variance (which
the report measures over separately trained runs). The task's own ``score`` stays seed 1111's,
so the paper's figure is unchanged; the spread sits beside it under ``classifier_seeds``.
"""
from __future__ import annotations

import numpy as np

from .senteval_torch import SEED


def seeds(n: int, first: int = SEED) -> list[int]:
    """The ``n`` classifier seeds: SentEval's 1111 first, then the next integers."""
    if not isinstance(n, int) or n < 1:
        from ..fields import ConfigError

        raise ConfigError(f"classifier_seeds={n!r} is not allowed: classifier_seeds must be an integer >= 1")
    return [first + i for i in range(n)]


def spread(values: list[float]) -> dict[str, float | None]:
    """Mean and sample standard deviation (n - 1 in the denominator; None for one value)."""
    arr = np.asarray(values, dtype=np.float64)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if len(arr) > 1 else None}


def summarise(seed_list: list[int], results: list[dict]) -> dict:
    """Per-seed test (``acc``) and dev (``devacc``) accuracies of one task and their spreads."""
    acc = [r["acc"] for r in results]
    dev = [r["devacc"] for r in results]
    return {"seeds": list(seed_list), "acc": acc, "devacc": dev, "acc_spread": spread(acc),
            "devacc_spread": spread(dev)}


def classifier_spread(enc, task: str, data_dir, n: int, first_result: dict, n_jobs: int = -1,
                      classifier: str = "pytorch") -> dict:
    """Fit ``task``'s classifier with ``n`` seeds on ``enc``'s (cached) sentence vectors; the first
    seed's result is ``first_result`` (the task's own, seed 1111), the others are fitted here."""
    from .transfer import evaluate_transfer_task

    seed_list = seeds(n)
    results = [first_result] + [evaluate_transfer_task(enc, task, data_dir, n_jobs=n_jobs, classifier=classifier,
                                                        seed=s) for s in seed_list[1:]]
    return summarise(seed_list, results)


def average_spread(tasks: dict) -> dict | None:
    """The spread over classifier seeds of the transfer average: each seed's mean over the tasks
    that hold ``classifier_seeds``, then their mean and std (None when no task holds them)."""
    held = [r["classifier_seeds"] for r in tasks.values() if "classifier_seeds" in r]
    if not held:
        return None
    return {key: spread(np.mean([h[key] for h in held], axis=0).tolist()) for key in ("acc", "devacc")}


def format_spread(result: dict) -> str:
    """The printed table: dev and test accuracy, mean and std over the classifier seeds, per task
    and for the average (the average's std is that of the per-seed averages)."""
    from .tasks import SHORT_NAMES
    from .tasks import TRANSFER_TASKS

    tasks = {t: result["tasks"][t] for t in TRANSFER_TASKS if "classifier_seeds" in result["tasks"].get(t, {})}
    if not tasks:
        return ""
    first = next(iter(tasks.values()))["classifier_seeds"]["seeds"]
    avg = average_spread(tasks)
    heads = [""] + [SHORT_NAMES.get(t, t) for t in tasks] + ["Avg."]
    rows = []
    for label, key, stat in (("dev mean", "devacc", "mean"), ("dev std", "devacc", "std"),
                             ("test mean", "acc", "mean"), ("test std", "acc", "std")):
        cells = [r["classifier_seeds"][f"{key}_spread"][stat] for r in tasks.values()] + [avg[key][stat]]
        rows.append([label] + ["-" if c is None else "%.2f" % c for c in cells])
    widths = [max(len(x) for x in col) for col in zip(heads, *rows)]
    line = lambda xs: " | ".join(x.rjust(w) for x, w in zip(xs, widths))
    title = (f"transfer classifier over {len(first)} classifier seeds ({first[0]}..{first[-1]}), one encoder "
             "(std: n - 1; not the training seeds' variance)")
    return "\n".join([title, line(heads), "-+-".join("-" * w for w in widths)] + [line(r) for r in rows])
