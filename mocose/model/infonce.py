"""InfoNCE over cosine similarities with in-batch keys and an optional set of extra negatives."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def info_nce(queries: torch.Tensor, keys: torch.Tensor, negatives: torch.Tensor | None = None,
             temperature: float = 0.05) -> torch.Tensor:
    """Mean over i of -log softmax(logits_i)[i], with

    ``logits_i = [cos(q_i, k_1..k_B), cos(q_i, n_1..n_M)] / temperature``.

    Query i's positive is key i; the other keys of the batch and the M negatives (a queue, which
    carries no gradient) are its negatives. Two matrix products, never a [B, M, d] broadcast.
    """
    q = F.normalize(queries, dim=-1)
    logits = q @ F.normalize(keys, dim=-1).T
    if negatives is not None and negatives.shape[0] > 0:
        neg = F.normalize(negatives.detach().to(q.dtype), dim=-1)
        logits = torch.cat([logits, q @ neg.T], dim=1)
    target = torch.arange(q.shape[0], device=q.device)
    return F.cross_entropy(logits / temperature, target)
