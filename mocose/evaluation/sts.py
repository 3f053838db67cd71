"""The seven STS tasks with SentEval's protocol (SimCSE's fork, which MoCoSE used).

STS12-16: per subset, cosine similarity of the pair's embeddings against the gold score (pairs with
an empty gold line dropped); the reported figure is the Spearman correlation over all the year's
pairs concatenated ("all"), beside the plain ("mean") and pair-count weighted ("wmean") averages of
the per-subset correlations. STS-B and SICK-R: Spearman on the test split. All figures x 100.
The order in which SentEval sorts and batches pairs cannot change a correlation, so pairs keep
file order here.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import resolve_data_dir
from .encode import SentenceEncoder
from .readers import PairSet, read_sick, read_stsb, read_sts_subset
from .tasks import STS_SUBSETS, STS_TASKS


def sts_dir(data_dir) -> Path:
    return resolve_data_dir(data_dir) / "senteval" / "STS"


def task_pairsets(task: str, data_dir=None, split: str = "test") -> list[PairSet]:
    """The pair sets of an STS task (one per subset for STS12-16; the split for STS-B/SICK-R)."""
    if task in STS_SUBSETS:
        folder = sts_dir(data_dir) / f"{task}-en-test"
        return [read_sts_subset(folder, name) for name in STS_SUBSETS[task]]
    if task == "STSBenchmark":
        return [read_stsb(sts_dir(data_dir) / "STSBenchmark" / f"sts-{split}.csv")]
    if task == "SICKRelatedness":
        files = {"train": "SICK_train.txt", "dev": "SICK_trial.txt", "test": "SICK_test_annotated.txt"}
        return [read_sick(resolve_data_dir(data_dir) / "senteval" / "SICK" / files[split])]
    raise ValueError(f"{task} is not an STS task; STS tasks: {', '.join(STS_TASKS)}")


def cosine_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise cosine in float64; a zero vector gives 0, as SentEval's nan_to_num does."""
    x = np.nan_to_num(x.astype(np.float64))
    y = np.nan_to_num(y.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = (x * y).sum(1) / (np.sqrt((x * x).sum(1)) * np.sqrt((y * y).sum(1)))
    return np.nan_to_num(sim)


def pair_similarities(enc: SentenceEncoder, pairs: PairSet, desc: str | None = None) -> np.ndarray:
    emb = enc.encode(pairs.a + pairs.b, desc=desc)
    return cosine_rows(emb[: len(pairs)], emb[len(pairs):])


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank (scipy.stats.rankdata's 'average')."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    _, inverse, counts = np.unique(x[order], return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = np.empty(len(x))
    ranks[order] = ((ends - counts + 1 + ends) / 2.0)[inverse]
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant (as scipy and SentEval give)."""
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    y = np.asarray(y, dtype=np.float64) - np.mean(y)
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom > 0 else float("nan")


def correlations(sys: np.ndarray, gold: np.ndarray) -> dict:
    """Pearson and Spearman x 100 (SentEval keeps NaN for constant inputs; so do we).

    Computed here rather than with scipy.stats, whose import costs seconds in every job."""
    return {"pearson": 100 * pearson(sys, gold),
            "spearman": 100 * pearson(average_ranks(sys), average_ranks(gold)), "n": int(len(gold))}


def evaluate_sts_task(enc: SentenceEncoder, task: str, data_dir=None) -> dict:
    """One STS task's result: ``score`` (the paper's figure) beside every correlation."""
    sets = task_pairsets(task, data_dir)
    sentences = [s for p in sets for s in p.a + p.b]
    enc.encode(sentences, desc=task)  # one sorted pass over the whole task
    sims = [pair_similarities(enc, p) for p in sets]
    if task not in STS_SUBSETS:
        test = correlations(sims[0], sets[0].gold)
        return {"score": test["spearman"], "test": test}
    return aggregate([p.name for p in sets], sims, [p.gold for p in sets])


def aggregate(names: list[str], sims: list[np.ndarray], golds: list[np.ndarray]) -> dict:
    """A year's result from its subsets: per-subset correlations, "all" (correlation over the
    concatenation of every subset's pairs: the reported figure), "mean" and "wmean" (plain and
    pair-count weighted means of the per-subset correlations), as SimCSE's SentEval computes them."""
    subsets = {n: correlations(s, g) for n, s, g in zip(names, sims, golds)}
    weights = np.array([r["n"] for r in subsets.values()], dtype=np.float64)
    every = correlations(np.concatenate(sims), np.concatenate(golds))
    mean, wmean = {}, {}
    for kind in ("pearson", "spearman"):
        vals = np.array([r[kind] for r in subsets.values()])
        mean[kind] = float(np.mean(vals))
        wmean[kind] = float(np.average(vals, weights=weights))
    return {"score": every["spearman"], "all": every, "mean": mean, "wmean": wmean, "subsets": subsets}


def stsb_dev_spearman(enc: SentenceEncoder, data_dir=None) -> float:
    """Spearman x 100 on STS-B dev: the training loop's validation (SimCSE's selection rule)."""
    pairs = task_pairsets("STSBenchmark", data_dir, split="dev")[0]
    return correlations(pair_similarities(enc, pairs, desc="STS-B dev"), pairs.gold)["spearman"]


def sts_test_average(enc: SentenceEncoder, data_dir=None) -> float:
    """Mean of the seven STS scores x 100 (the MoCoSE authors' checkpoint selection rule)."""
    return float(np.mean([evaluate_sts_task(enc, t, data_dir)["score"] for t in STS_TASKS]))
