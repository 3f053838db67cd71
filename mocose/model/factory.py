"""The model a config trains: :func:`build_model`."""
from __future__ import annotations

import torch
from torch import nn

from ..config import Config
from .interface import ContrastiveModel
from .mocose import MoCoSE
from .simcse import SimCSE


def build_model(encoder: nn.Module, config: Config, generator: torch.Generator | None = None) -> ContrastiveModel:
    """MoCoSE or SimCSE over ``encoder`` as ``config.model.method`` says; ``generator`` draws the
    queue's random start and the k-means initialisation."""
    if config.model.method == "mocose":
        return MoCoSE(encoder, config, generator)
    if config.model.method == "simcse":
        return SimCSE(encoder, config)
    raise ValueError(f"method {config.model.method!r} trains nothing")
