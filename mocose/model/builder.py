"""MoCoSE and unsupervised SimCSE over any BERT-family Hugging Face encoder (docs/model.md: The model, The baseline).

Both work through the public API: the word embeddings come from ``get_input_embeddings()``, the
augmentations act on them and on ``position_ids``, and the encoder runs on ``inputs_embeds``.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

import torch
from torch import nn

from .augment import EmbeddingAugmenter
from ..config import AugmentConfig, Config, parse_queue_negatives, parse_queue_slice
from .ema import EMA, ema_decay_at
from .heads import DEFAULT_INITIALIZER_RANGE, MLPHead, Pooler, Predictor, Projection
from .infonce import info_nce
from .negatives import reduce_negatives
from .queue import NegativeQueue


@dataclass
class Batch:
    """Token ids and mask of a batch; ``target_*`` are the target branch's (text-augmented) view."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    target_input_ids: torch.Tensor | None = None
    target_attention_mask: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> "Batch":
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return Batch(move(self.input_ids), move(self.attention_mask),
                     move(self.target_input_ids), move(self.target_attention_mask))


@dataclass
class StepOutput:
    loss: torch.Tensor
    keys: torch.Tensor       # the target branch's outputs (or SimCSE's second view)
    num_negatives: int       # queue negatives used this step


def _cls(encoder: nn.Module, embeds: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor | None) -> torch.Tensor:
    """Last-layer [CLS] vector of ``encoder`` run on word embeddings ``embeds``."""
    return encoder(inputs_embeds=embeds, attention_mask=mask, position_ids=positions).last_hidden_state[:, 0]


def _positions(encoder: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """The position ids the encoder would use (RoBERTa-style embeddings start after padding_idx)."""
    offset = getattr(encoder.embeddings, "padding_idx", None)
    start = 0 if offset is None else offset + 1
    return torch.arange(start, start + ids.shape[1], device=ids.device).expand_as(ids)


def _initializer_range(encoder: nn.Module) -> float:
    """The encoder's own init std (BertConfig.initializer_range, 0.02 when it has none)."""
    return float(getattr(encoder.config, "initializer_range", DEFAULT_INITIALIZER_RANGE))


def _augmented_cls(encoder: nn.Module, augment: EmbeddingAugmenter, ids: torch.Tensor,
                   mask: torch.Tensor, branch: str, run_cls=_cls) -> torch.Tensor:
    """[CLS] of ``encoder`` on ``ids`` after the branch's embedding-level augmentations;
    ``run_cls`` runs the encoder (:func:`_cls`, or its compiled form)."""
    embeds = encoder.get_input_embeddings()(ids)
    base = _positions(encoder, ids)
    embeds, positions = augment(embeds, base, mask, branch=branch)
    return run_cls(encoder, embeds, mask, None if positions is base else positions)


def compile_encoder_passes(model: nn.Module) -> None:
    """Run the training forward's encoder passes under ``torch.compile`` (static shapes: batches
    padded to the maximum length). Only the training forward changes: evaluation calls the encoder
    itself, eagerly, at whatever lengths its batches have, and the state dict keeps its names.
    Random draws inside the graph (dropout) fall back to eager's generator, so a compiled step
    draws the masks an eager step on the same padded batch draws, and gives the same numbers."""
    import torch._inductor.config as inductor_config

    inductor_config.fallback_random = True
    model.run_cls = torch.compile(_cls, dynamic=False)


@contextlib.contextmanager
def evaluation_augmentation(encoder: nn.Module, augment: AugmentConfig, seed: int = 0) -> Iterator[bool]:
    """While open, every ``encoder(input_ids=...)`` call gets the embedding-level augmentations
    (token cutoff, feature cutoff, position shuffle; never FGSM) when ``augment.augment_at_eval``.

    The authors' embedding layer is never told it is evaluating, so these act on their test
    sentences too (xbdxwyh/mocose, mocose.py: ``sent_emb`` is commented out at the embedding call).
    Done by a forward pre-hook that feeds the augmented word embeddings as ``inputs_embeds``, the
    same path as training (:func:`_augmented_cls`); draws come from a generator seeded by ``seed``,
    so an evaluation repeats. Yields whether anything is augmented. Approximation: the suite's
    encoder encodes each distinct sentence once per evaluation call (its cache), so a sentence met
    twice gets one draw where the authors' batcher would draw twice.
    """
    cfg = dataclasses.replace(augment, fgsm_epsilon=0.0)
    augmenter = EmbeddingAugmenter(cfg)
    if not (augment.augment_at_eval and augmenter.active):
        yield False
        return
    generator = torch.Generator().manual_seed(seed)

    def pre_hook(module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is None:
            return None
        embeds = module.get_input_embeddings()(ids)
        base = _positions(module, ids)
        embeds, positions = augmenter(embeds, base, kwargs.get("attention_mask"), "online", generator)
        kwargs = {**kwargs, "inputs_embeds": embeds}
        if args:
            args = (None,) + tuple(args[1:])
        else:
            kwargs["input_ids"] = None
        if positions is not base:
            kwargs["position_ids"] = positions
        return args, kwargs

    handle = encoder.register_forward_pre_hook(pre_hook, with_kwargs=True)
    try:
        yield True
    finally:
        handle.remove()


class MoCoSE(nn.Module):
    """Online encoder + pooler + projection + predictor; EMA target without predictor; a queue.

    The target runs the online embedding layer (shared module) unless ``ema_embeddings``; only its
    transformer layers, pooler and projection are averaged. With ``key_gradient`` (the authors'
    code) the loss's gradient flows through the keys into the shared embeddings and the target
    projection, whose weights the optimizer updates too and the next EMA step blends.
    """

    def __init__(self, encoder: nn.Module, config: Config, generator: torch.Generator | None = None):
        super().__init__()
        mc, qc = config.model, config.queue
        hidden = encoder.config.hidden_size
        dim = mc.embed_dim or hidden
        dropout = getattr(encoder.config, "hidden_dropout_prob", 0.1)
        eps = getattr(encoder.config, "layer_norm_eps", 1e-12)
        init = (mc.head_init, _initializer_range(encoder))
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
                                   config.train.batch_size, parse_queue_slice(qc.queue_slice, qc.queue_size),
                                   generator=generator, init_size=qc.init_size)
        self.negatives_code = parse_queue_negatives(qc.queue_negatives, qc.queue_size)
        self.augment = EmbeddingAugmenter(config.augment)
        self.temperature = mc.temperature
        self.key_gradient = mc.key_gradient
        self.kmeans_generator = generator
        self.run_cls = _cls  # compile_encoder_passes swaps in the compiled form

    def embedding_encoder(self) -> nn.Module:
        """The online encoder: the sentence embedding is its last-layer [CLS] (cls_before_pooler)."""
        return self.encoder

    HEADS = ("pooler", "projection", "predictor")

    @torch.no_grad()
    def load_heads(self, weights: Mapping[str, Any]) -> None:
        """Start from given head weights; the target's pooler and projection become their copies.

        ``weights`` maps every state-dict name of the online heads, prefixed by the head
        (``pooler.dense.weight``, ``projection.0.bias``, ``predictor.3.weight``: the names of the
        authors' trajectory fixture, ``heads.npz``), to an array or tensor of that shape. A missing,
        unknown or misshapen entry is refused, naming it.
        """
        expected = {f"{head}.{k}": v for head in self.HEADS for k, v in getattr(self, head).state_dict().items()}
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
            _augmented_cls(self.encoder, self.augment, batch.input_ids, batch.attention_mask, "online",
                           self.run_cls))))
        ids = batch.target_input_ids if batch.target_input_ids is not None else batch.input_ids
        mask = batch.target_attention_mask if batch.target_attention_mask is not None else batch.attention_mask
        grad = contextlib.nullcontext() if self.key_gradient else torch.no_grad()
        with grad:
            keys = self.target_projection(self.target_pooler(
                _augmented_cls(self.target_encoder, self.augment, ids, mask, "target", self.run_cls)))
        negatives = reduce_negatives(self.queue.negatives(), self.negatives_code, self.kmeans_generator)
        loss = info_nce(queries, keys, negatives, self.temperature)
        self.queue.enqueue(keys)
        return StepOutput(loss, keys.detach(), int(negatives.shape[0]))


class SimCSE(nn.Module):
    """Unsupervised SimCSE: each sentence encoded twice with dropout; MLP over [CLS]; in-batch negatives."""

    def __init__(self, encoder: nn.Module, config: Config):
        super().__init__()
        self.config = config
        self.encoder = encoder
        self.mlp = MLPHead(encoder.config.hidden_size, config.model.head_init, _initializer_range(encoder))
        self.temperature = config.model.temperature
        self.augment = EmbeddingAugmenter(config.augment)
        self.run_cls = _cls

    def embedding_encoder(self) -> nn.Module:
        return self.encoder

    def update_target(self, step: int, total_steps: int) -> float:
        return float("nan")  # no target branch

    def forward(self, batch: Batch) -> StepOutput:
        ids, mask = batch.input_ids, batch.attention_mask
        # One pass, two dropout masks, laid out as SimCSE's cl_forward: (bs, 2, len) viewed as
        # (bs*2, len), each sentence in two adjacent rows, so that under one seed both draw the
        # same masks (tests/test_simcse_trajectory.py).
        two_ids, two_mask = ids.repeat_interleave(2, dim=0), mask.repeat_interleave(2, dim=0)
        z = self.mlp(_augmented_cls(self.encoder, self.augment, two_ids, two_mask, "online", self.run_cls))
        z = z.view(ids.shape[0], 2, z.shape[-1])
        z1, z2 = z[:, 0], z[:, 1]
        return StepOutput(info_nce(z1, z2, None, self.temperature), z2.detach(), 0)


def build_model(encoder: nn.Module, config: Config, generator: torch.Generator | None = None) -> nn.Module:
    if config.model.method == "mocose":
        return MoCoSE(encoder, config, generator)
    if config.model.method == "simcse":
        return SimCSE(encoder, config)
    raise ValueError(f"method {config.model.method!r} trains nothing")
