"""Unsupervised SimCSE (docs/model.md, The baseline): one branch, each sentence encoded twice
with dropout, an MLP over [CLS] in training, in-batch negatives only."""
from __future__ import annotations

import torch
from torch import nn

from ..config import Config
from .augment import EmbeddingAugmenter
from .batch import Batch, StepOutput
from .heads import MLPHead
from .infonce import info_nce
from .interface import ContrastiveModel
from .passes import augmented_cls, initializer_range


class SimCSE(ContrastiveModel):
    """Unsupervised SimCSE: each sentence encoded twice with dropout; MLP over [CLS]; in-batch negatives."""

    HEADS = ("mlp",)

    def __init__(self, encoder: nn.Module, config: Config):
        super().__init__()
        self.config = config
        self.encoder = encoder
        self.mlp = MLPHead(encoder.config.hidden_size, config.model.head_init, initializer_range(encoder))
        self.temperature = config.model.temperature
        self.augment = EmbeddingAugmenter(config.augment)

    def embedding_encoder(self) -> nn.Module:
        return self.encoder

    def forward(self, batch: Batch) -> StepOutput:
        ids, mask = batch.input_ids, batch.attention_mask
        two_ids, two_mask = torch.cat([ids, ids]), torch.cat([mask, mask])  # one pass, two dropout masks
        z = self.mlp(augmented_cls(self.encoder, self.augment, two_ids, two_mask, "online", self.run_cls))
        z1, z2 = z[: ids.shape[0]], z[ids.shape[0]:]
        return StepOutput(info_nce(z1, z2, None, self.temperature), z2.detach(), 0)
