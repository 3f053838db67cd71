"""The small heads over the encoder's [CLS] vector (SPEC section 1), as in SimCSE's models.py."""
from __future__ import annotations

import torch
from torch import nn


class Pooler(nn.Module):
    """Linear on the [CLS] vector with no activation, initialised from BERT's pooler dense."""

    def __init__(self, hidden: int, pretrained: nn.Linear | None = None):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        if pretrained is not None:
            self.dense.load_state_dict(pretrained.state_dict())

    def forward(self, cls: torch.Tensor) -> torch.Tensor:
        return self.dense(cls)


def _blocks(width: int, count: int, dropout: float, eps: float) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for _ in range(count):
        layers += [nn.Linear(width, width), nn.LayerNorm(width, eps=eps), nn.Dropout(dropout)]
    return layers


class Projection(nn.Sequential):
    """``p-1`` blocks of [Linear(h,h), LayerNorm, Dropout], then Linear(h,d), LayerNorm, Dropout.

    ``p = 0`` is the identity (then d must equal h). No activation, as in the authors' code.
    """

    def __init__(self, hidden: int, dim: int, layers: int, dropout: float = 0.1, eps: float = 1e-12):
        if layers == 0:
            if dim != hidden:
                raise ValueError(f"proj_layers=0 keeps the hidden size {hidden}; embed_dim={dim} needs proj_layers >= 1")
            super().__init__()
            return
        super().__init__(*_blocks(hidden, layers - 1, dropout, eps),
                         nn.Linear(hidden, dim), nn.LayerNorm(dim, eps=eps), nn.Dropout(dropout))


class Predictor(nn.Sequential):
    """``q-1`` blocks of [Linear(d,d), LayerNorm, Dropout], then Linear(d,d), Tanh; ``q = 0``: none."""

    def __init__(self, dim: int, layers: int, dropout: float = 0.1, eps: float = 1e-12):
        if layers == 0:
            super().__init__()
            return
        super().__init__(*_blocks(dim, layers - 1, dropout, eps), nn.Linear(dim, dim), nn.Tanh())


class MLPHead(nn.Sequential):
    """SimCSE's training head: Linear(h,h) then Tanh over [CLS]."""

    def __init__(self, hidden: int):
        super().__init__(nn.Linear(hidden, hidden), nn.Tanh())
