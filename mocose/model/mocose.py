"""MoCoSE (docs/model.md, The model): an online branch with a predictor, an EMA target branch
without one, and a queue of the target's past outputs as extra negatives (MoCo's momentum encoder
and queue over a BERT-family encoder)."""
from __future__ import annotations

import contextlib
import copy
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from ..config import Config
from .augment import EmbeddingAugmenter
from .batch import Batch, StepOutput
from .ema import EMA, ema_decay_at
from .heads import Pooler, Predictor, Projection
from .infonce import info_nce
from .interface import ContrastiveModel
from .negatives import reduce_negatives
from .passes import augmented_cls, initializer_range
from .queue import NegativeQueue


class MoCoSE(ContrastiveModel):
    """Online encoder + pooler + projection + predictor; EMA target without predictor; a queue.

    The target runs the online embedding layer (shared module) unless ``ema_embeddings``; only its
    transformer layers, pooler and projection are averaged. With ``key_gradient`` (the authors'
    code) the loss's gradient flows through the keys into the shared embeddings and the target
    projection, whose weights the optimizer updates too and the next EMA step blends.
    """

    HEADS = ("pooler", "projection", "predictor")

    def __init__(self, encoder: nn.Module, config: Config, generator: torch.Generator | None = None):
        super().__init__()
        mc, qc = config.model, config.queue
        hidden = encoder.config.hidden_size
        dim = mc.embed_dim or hidden
        dropout = getattr(encoder.config, "hidden_dropout_prob", 0.1)
        eps = getattr(encoder.config, "layer_norm_eps", 1e-12)
        init = (mc.head_init, initializer_range(encoder))
        self.config = config
        self.encoder = encoder
        pretrained = getattr(getattr(encoder, "pooler", None), "dense", None)
        self.pooler = Pooler(hidden, pretrained, *init)
        self.projection = Projection(hidden, dim, mc.proj_layers, dropout, eps, *init)
        self.predictor = Predictor(dim, mc.pred_layers, dropout, eps, *init)

        self.target_encoder = copy.deepcopy(encoder)
        if not mc.ema_embeddings:
            self.target_encoder.embeddings = encoder.embeddings  # one shared module
        self.target_pooler = copy.deepcopy(self.pooler)
        self.target_projection = copy.deepcopy(self.projection)
        # Averaged encoder layers and pooler are frozen; the shared embeddings and the target
        # projection stay trainable (the authors' optimizer updates the latter too).
        for p in list(self.target_encoder.parameters()) + list(self.target_pooler.parameters()):
            p.requires_grad_(False)
        for p in encoder.parameters():
            p.requires_grad_(True)
        self.ema = EMA([(self.target_encoder, encoder), (self.target_pooler, self.pooler),
                        (self.target_projection, self.projection)])
        self.ema_decay, self.ema_horizon = config.ema.ema_decay, config.ema.ema_total_steps

        self.queue = NegativeQueue(qc.queue_size, dim, qc.queue_init_fraction, qc.queue_compat,
                                   config.train.batch_size, qc.ages, generator=generator,
                                   init_size=qc.init_size)
        self.negative_rule = qc.negatives
        self.augment = EmbeddingAugmenter(config.augment)
        self.temperature = mc.temperature
        self.key_gradient = mc.key_gradient
        self.kmeans_generator = generator

    def embedding_encoder(self) -> nn.Module:
        """The online encoder: the sentence embedding is its last-layer [CLS] (cls_before_pooler)."""
        return self.encoder

    def queue_length(self) -> int:
        return self.queue.length

    def queued_negatives(self) -> torch.Tensor:
        return self.queue.negatives()

    def shared_names(self) -> tuple[str, ...]:
        """The target's embedding layer, when it is the online one (not ``ema_embeddings``)."""
        return ("target_encoder.embeddings.",) if self.target_encoder.embeddings is self.encoder.embeddings else ()

    @torch.no_grad()
    def load_heads(self, weights: Mapping[str, Any]) -> None:
        """Start from given head weights; the target's pooler and projection become their copies.

        ``weights`` maps every state-dict name of the online heads, prefixed by the head
        (``pooler.dense.weight``, ``projection.0.bias``, ``predictor.3.weight``: the names of the
        authors' trajectory fixture, ``heads.npz``), to an array or tensor of that shape. A missing,
        unknown or misshapen entry is refused, naming it.
        """
        expected = self.heads_state()
        missing, unknown = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        if missing or unknown:
            raise ValueError(f"head weights do not fit this model: missing {missing}, unknown {unknown}")
        for name, current in expected.items():
            value = torch.as_tensor(np.asarray(weights[name]))
            if tuple(value.shape) != tuple(current.shape):
                raise ValueError(f"head weight {name}: shape {tuple(value.shape)}, the model's is {tuple(current.shape)}")
            current.copy_(value)  # state_dict() tensors share the parameters' storage
        self.target_pooler.load_state_dict(self.pooler.state_dict())
        self.target_projection.load_state_dict(self.projection.state_dict())

    @torch.no_grad()
    def update_target(self, step: int, total_steps: int) -> float:
        """EMA step before the forward of training step ``step`` (1-based, as the authors count)."""
        decay = ema_decay_at(step, self.ema_decay, self.ema_horizon or total_steps)
        self.ema.update(decay)
        return decay

    def forward(self, batch: Batch) -> StepOutput:
        queries = self.predictor(self.projection(self.pooler(
            augmented_cls(self.encoder, self.augment, batch.input_ids, batch.attention_mask, "online",
                          self.run_cls))))
        ids = batch.target_input_ids if batch.target_input_ids is not None else batch.input_ids
        mask = batch.target_attention_mask if batch.target_attention_mask is not None else batch.attention_mask
        grad = contextlib.nullcontext() if self.key_gradient else torch.no_grad()
        with grad:
            keys = self.target_projection(self.target_pooler(
                augmented_cls(self.target_encoder, self.augment, ids, mask, "target", self.run_cls)))
        negatives = reduce_negatives(self.queue.negatives(), self.negative_rule, self.kmeans_generator)
        loss = info_nce(queries, keys, negatives, self.temperature)
        self.queue.enqueue(keys)
        return StepOutput(loss, keys.detach(), int(negatives.shape[0]))
