"""Unsupervised SimCSE (docs/model.md, The baseline): one branch, each sentence encoded twice
with dropout, an MLP over [CLS] in training, in-batch negatives only."""
from __future__ import annotations

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
        # One pass, two dropout masks, laid out as SimCSE's cl_forward: (bs, 2, len) viewed as
        # (bs*2, len), each sentence in two adjacent rows, so that under one seed both draw the
        # same masks (tests/test_simcse_trajectory.py).
        two_ids, two_mask = ids.repeat_interleave(2, dim=0), mask.repeat_interleave(2, dim=0)
        z = self.mlp(augmented_cls(self.encoder, self.augment, two_ids, two_mask, "online", self.run_cls))
        z = z.view(ids.shape[0], 2, z.shape[-1])
        z1, z2 = z[:, 0], z[:, 1]
        return StepOutput(info_nce(z1, z2, None, self.temperature), z2.detach(), 0)
