"""Embedding-space analyses on STS-B: alignment and uniformity (Wang and Isola, 2020; docs/model.md, Analyses)
and the normalised singular-value spectrum (the paper's Figure 7).

Both use the sentences of all three STS-B splits (train, dev, test), as SimCSE's analysis takes
"all STS-B sentences" for the data distribution and the pairs scored >= 4 as positives.
"""
from __future__ import annotations

import numpy as np
import torch

from .encode import SentenceEncoder
from .sts import task_pairsets

SPLITS = ("train", "dev", "test")
POSITIVE_THRESHOLD = 4.0


def _stsb(data_dir, splits=SPLITS):
    return [task_pairsets("STSBenchmark", data_dir, split=s)[0] for s in splits]


def _unit(x: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.asarray(x, dtype=np.float64))
    return t / t.norm(dim=1, keepdim=True).clamp_min(1e-12)


def alignment(x: np.ndarray, y: np.ndarray) -> float:
    """Mean squared distance between L2-normalised positive pairs (rows of x and y)."""
    return float((_unit(x) - _unit(y)).pow(2).sum(1).mean())


def uniformity(x: np.ndarray, t: float = 2.0, chunk: int = 2048) -> float:
    """log mean_{i<j} exp(-t ||x_i - x_j||^2) over L2-normalised rows.

    For unit vectors ||a-b||^2 lies in [0, 4], so every term lies in [exp(-4t), 1]: a plain sum
    cannot overflow and needs no log-sum-exp. Each pair is visited once: a block of rows against
    itself (its strict upper triangle) and against the rows after it, so memory stays at
    chunk x n and the work is half of the full n x n matrix. Rows are summed in float32 (terms
    in (0, 1]), the row sums in float64.
    """
    u = _unit(x).float()
    n = u.shape[0]
    if n < 2:
        raise ValueError("uniformity needs at least two sentences")
    total = 0.0
    for start in range(0, n, chunk):
        block = u[start:start + chunk]
        sq = (block @ u[start:].T).mul_(-2.0).add_(2.0).clamp_(min=0.0)  # ||a-b||^2 = 2 - 2 a.b
        terms = sq.mul_(-t).exp_()
        terms[:, :block.shape[0]].triu_(diagonal=1)  # the block with itself: pairs i < j only
        total += float(terms.sum(dim=1).double().sum())
    return float(np.log(total / (n * (n - 1) / 2)))


def alignment_uniformity(enc: SentenceEncoder, data_dir=None, splits: tuple[str, ...] = SPLITS) -> dict:
    """{"alignment", "uniformity"} on STS-B (all splits): alignment over the pairs with gold >= 4.0,
    uniformity (t = 2) over the distinct sentences; both on L2-normalised embeddings.

    The training loop passes ``splits=("dev",)``: the dev sentences are already encoded for its
    validation score, so its diagnostics cost no extra encoding."""
    sets = _stsb(data_dir, splits)
    a = [s for p in sets for s, g in zip(p.a, p.gold) if g >= POSITIVE_THRESHOLD]
    b = [s for p in sets for s, g in zip(p.b, p.gold) if g >= POSITIVE_THRESHOLD]
    sentences = list(dict.fromkeys(s for p in sets for s in p.a + p.b))
    emb = enc.encode(sentences, desc="STS-B")
    return {"alignment": alignment(enc.encode(a), enc.encode(b)), "uniformity": uniformity(emb),
            "n_positive_pairs": len(a), "n_sentences": len(sentences), "splits": list(splits)}


def singular_spectrum(enc: SentenceEncoder, data_dir=None, normalise: bool = True,
                      splits: tuple[str, ...] = SPLITS) -> list[float]:
    """Singular values of the STS-B sentence-embedding matrix, largest first, divided by the
    largest unless ``normalise`` is False (Figure 7 plots them raw).

    The matrix holds one row per distinct sentence of the STS-B ``splits`` (all three unless told),
    raw: neither centred nor L2-normalised (so a common direction shared by all embeddings, the
    anisotropy the figure is about, shows up as a dominant first singular value). Length =
    embedding dimension.
    """
    sets = _stsb(data_dir, splits)
    sentences = list(dict.fromkeys(s for p in sets for s in p.a + p.b))
    m = enc.encode(sentences, desc="STS-B").astype(np.float64)
    s = np.linalg.svd(m, compute_uv=False)
    return (s / s[0] if normalise else s).tolist()
