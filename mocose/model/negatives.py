"""How the queue's entries become a step's negatives (``queue_negatives``: all | mean | kmeans:k).

The rule is a :class:`~mocose.queue_specs.QueueNegatives` (``QueueConfig.negatives``): all the
entries, their mean, or the centres of k-means over them, recomputed each step from the queue as
it is then.

Both ``mean`` and ``kmeans`` work on the L2-normalised entries. The loss compares by cosine, so
only an entry's direction makes it a negative; its norm is noise for this purpose, and not small
noise: the queue can hold unit-norm random initial vectors next to raw target outputs of norm
~sqrt(h) (LayerNorm outputs, ~28 on bert-base). Euclidean k-means on raw entries would spend
clusters on norm differences (all the random unit vectors, whatever their direction, sit in one
ball near the origin) and a raw mean would be dominated by the longest entries. On unit vectors,
squared Euclidean distance is ``2 - 2 cos``, so this is spherical k-means in effect: clusters of
directions. Centres are returned as the mean of their unit members, not re-normalised (the
cosine in the loss normalises them anyway).

Nothing here carries gradient (the queue carries none).
"""
from __future__ import annotations

import torch
from torch import Tensor
import torch.nn.functional as F

from ..queue_specs import QueueNegatives


@torch.no_grad()
def reduce_negatives(entries: Tensor, rule: QueueNegatives,
                     generator: torch.Generator | None = None) -> Tensor:
    """The negatives ``[m, d]`` a step uses, from the queue entries ``[n, d]`` it may use.

    ``all``: the entries themselves (``m = n``); ``mean``: the mean of their unit directions
    (``m = 1``); ``kmeans``: k-means centres of their unit directions (``m = min(k, n)``). An
    empty queue gives an empty ``[0, d]`` whatever the mode.
    """
    if entries.dim() != 2:
        raise ValueError(f"queue entries must be [n, d], got shape {tuple(entries.shape)}")
    if rule.mode == "all" or entries.shape[0] == 0:
        return entries.detach()
    unit = F.normalize(entries.detach().float(), dim=1).to(entries.dtype)
    if rule.mode == "mean":
        return unit.mean(dim=0, keepdim=True)
    return kmeans(unit, rule.k, generator=generator)


def _sq_dist(x: Tensor, c: Tensor, x_sq: Tensor) -> Tensor:
    """Squared Euclidean distances ``[n, k]`` by one matmul (clamped at 0 against rounding)."""
    return (x_sq[:, None] - 2.0 * (x @ c.T) + (c * c).sum(dim=1)[None, :]).clamp_min_(0.0)


def _draw(weights: Tensor, generator: torch.Generator | None) -> Tensor:
    """One index drawn with probability proportional to ``weights`` (uniform if they are all 0)."""
    weights = torch.where(weights.sum() > 0, weights, torch.ones_like(weights))
    if generator is not None and generator.device != weights.device:
        return torch.multinomial(weights.to(generator.device), 1, generator=generator).to(weights.device)
    return torch.multinomial(weights, 1, generator=generator)


def _cluster_sums(data: Tensor, assign: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Rows per cluster ``[k]`` and the sum of each cluster's rows ``[k, d]``.

    On CPU ``index_add_`` (O(n d), deterministic there); on GPU a one-hot matmul (O(n k d), but
    deterministic where ``index_add_``'s float atomics are not, and cheap at these sizes).
    """
    if data.is_cuda:
        onehot = F.one_hot(assign, k).to(data.dtype)
        return onehot.sum(dim=0), onehot.T @ data
    counts = torch.bincount(assign, minlength=k).to(data.dtype)
    sums = data.new_zeros(k, data.shape[1]).index_add_(0, assign, data)
    return counts, sums


@torch.no_grad()
def kmeans(x: Tensor, k: int, iters: int = 20, generator: torch.Generator | None = None) -> Tensor:
    """Lloyd's k-means of the rows of ``x [n, d]``: centres ``[min(k, n), d]``.

    k-means++ initialisation drawn from ``generator`` (deterministic under a seed), then up to
    ``iters`` rounds of: assign each row to its nearest centre (one matmul + argmin); move each
    centre to its rows' mean (``index_add_`` on CPU; a one-hot matmul on GPU, deterministic where
    ``index_add_``'s float atomics are not). A centre left with no rows is moved to the row farthest
    from its current centre, so no centre is wasted. Stops early once assignments stop changing.

    Cost: per round one ``[n, d] x [d, k]`` matmul for the distances plus O(n d) for the update,
    up to ``iters`` rounds, plus k O(n d) steps to initialise: for n 4096, d 768, k 20 about
    1.3 G multiply-adds if all 20 rounds run. Measured on one (shared, loaded) CPU core with
    ``python benchmarks/negatives_kmeans.py --threads 1``: n 512 (the paper's K) 10-20 ms,
    n 4096 0.2-0.5 s for k 5-20 on Gaussian noise, which never converges early (real queues,
    being clustered, stop sooner). On a GPU the same work is a few milliseconds.
    Runs on whatever device ``x`` is on; works in fp32 internally and returns ``x``'s dtype.
    """
    if x.dim() != 2:
        raise ValueError(f"kmeans expects x of shape [n, d], got {tuple(x.shape)}")
    if k < 1:
        raise ValueError(f"k={k} is not allowed: k must be >= 1")
    if iters < 0:
        raise ValueError(f"iters={iters} is not allowed: iters must be >= 0")
    n = x.shape[0]
    if n == 0:
        return x.new_zeros(0, x.shape[1])
    k = min(k, n)
    data = x.detach().float()
    x_sq = (data * data).sum(dim=1)

    # k-means++: each next centre drawn with probability proportional to D(x)^2
    chosen = [_draw(torch.ones(n, device=data.device), generator)]
    closest = _sq_dist(data, data[chosen[0]], x_sq)[:, 0]
    for _ in range(1, k):
        idx = _draw(closest, generator)
        chosen.append(idx)
        closest = torch.minimum(closest, _sq_dist(data, data[idx], x_sq)[:, 0])
    centres = data[torch.cat(chosen)]

    assign = None
    for _ in range(iters):
        dist = _sq_dist(data, centres, x_sq)
        new_assign = dist.argmin(dim=1)
        if assign is not None and torch.equal(new_assign, assign):
            break
        assign = new_assign
        counts, sums = _cluster_sums(data, assign, k)
        centres = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], centres)
        empty = counts == 0
        if bool(empty.any()):
            own = dist.gather(1, assign[:, None])[:, 0]         # each row's distance to its centre
            far = own.topk(int(empty.sum())).indices
            centres[empty] = data[far]
            assign = None  # the moved centres need a fresh assignment round
    return centres.to(x.dtype)
