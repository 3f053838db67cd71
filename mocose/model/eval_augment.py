"""The authors' habit of augmenting test sentences too: the embedding-level augmentations of
training applied to an encoder's forward calls while an evaluation runs (``augment_at_eval``)."""
from __future__ import annotations

import contextlib
import dataclasses
from typing import Iterator

import torch
from torch import nn

from ..config import AugmentConfig
from .augment import EmbeddingAugmenter
from .passes import position_ids


@contextlib.contextmanager
def evaluation_augmentation(encoder: nn.Module, augment: AugmentConfig, seed: int = 0) -> Iterator[bool]:
    """While open, every ``encoder(input_ids=...)`` call gets the embedding-level augmentations
    (token cutoff, feature cutoff, position shuffle; never FGSM) when ``augment.augment_at_eval``.

    The authors' embedding layer is never told it is evaluating, so these act on their test
    sentences too (xbdxwyh/mocose, mocose.py: ``sent_emb`` is commented out at the embedding call).
    Done by a forward pre-hook that feeds the augmented word embeddings as ``inputs_embeds``, the
    same path as training (:func:`mocose.model.passes.augmented_cls`); draws come from a generator
    seeded by ``seed``, so an evaluation repeats. Yields whether anything is augmented.
    Approximation: the suite's encoder encodes each distinct sentence once per evaluation call (its
    cache), so a sentence met twice gets one draw where the authors' batcher would draw twice.
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
        base = position_ids(module, ids)
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
