"""The encoder passes both models run: word embeddings in, augmented, last-layer [CLS] out.

Everything goes through the Hugging Face API: the word embeddings come from
``get_input_embeddings()``, the augmentations act on them and on ``position_ids``, and the encoder
runs on ``inputs_embeds``, so any BERT-family encoder works.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .augment import EmbeddingAugmenter
from .heads import DEFAULT_INITIALIZER_RANGE

EncoderPass = Callable[[nn.Module, torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def encoder_cls(encoder: nn.Module, embeds: torch.Tensor, mask: torch.Tensor,
                positions: torch.Tensor | None) -> torch.Tensor:
    """Last-layer [CLS] vector of ``encoder`` run on word embeddings ``embeds``."""
    return encoder(inputs_embeds=embeds, attention_mask=mask, position_ids=positions).last_hidden_state[:, 0]


def position_ids(encoder: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """The position ids the encoder would use (RoBERTa-style embeddings start after padding_idx)."""
    offset = getattr(encoder.embeddings, "padding_idx", None)
    start = 0 if offset is None else offset + 1
    return torch.arange(start, start + ids.shape[1], device=ids.device).expand_as(ids)


def initializer_range(encoder: nn.Module) -> float:
    """The encoder's own init std (BertConfig.initializer_range, 0.02 when it has none)."""
    return float(getattr(encoder.config, "initializer_range", DEFAULT_INITIALIZER_RANGE))


def augmented_cls(encoder: nn.Module, augment: EmbeddingAugmenter, ids: torch.Tensor,
                  mask: torch.Tensor, branch: str, run_cls: EncoderPass = encoder_cls) -> torch.Tensor:
    """[CLS] of ``encoder`` on ``ids`` after the branch's embedding-level augmentations;
    ``run_cls`` runs the encoder (:func:`encoder_cls`, or its compiled form)."""
    embeds = encoder.get_input_embeddings()(ids)
    base = position_ids(encoder, ids)
    embeds, positions = augment(embeds, base, mask, branch=branch)
    return run_cls(encoder, embeds, mask, None if positions is base else positions)
