"""What the training loop needs of a model, and nothing more: :class:`ContrastiveModel`.

MoCoSE (:mod:`.mocose`) and unsupervised SimCSE (:mod:`.simcse`) implement it. The loop calls
these methods and never looks inside a model: the forward of a step, the target's EMA update, the
queue's length, the state a resumable checkpoint holds, the heads a saved model keeps, the encoder
whose [CLS] is the sentence embedding, and the switch that compiles the encoder passes.
"""
from __future__ import annotations

import abc
import math
from typing import Mapping

import torch
from torch import nn

from ..config import Config
from .augment import EmbeddingAugmenter
from .batch import Batch, StepOutput
from .passes import EncoderPass, encoder_cls


class ContrastiveModel(nn.Module, abc.ABC):
    """A sentence-embedding model trained by a contrastive loss, one step per batch.

    Subclasses set ``config``, ``augment`` (the embedding-level augmenter, whose state a resume
    restores and whose statistics the loop logs) and ``HEADS`` (the module names a saved model
    keeps besides the encoder), and run their encoder passes through ``self.run_cls``.
    """

    config: Config
    augment: EmbeddingAugmenter
    HEADS: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.run_cls: EncoderPass = encoder_cls  # compile_encoder_passes swaps in the compiled form

    @abc.abstractmethod
    def forward(self, batch: Batch) -> StepOutput:
        """The loss of one training step on ``batch`` (and whatever the step adds to a queue)."""

    @abc.abstractmethod
    def embedding_encoder(self) -> nn.Module:
        """The encoder whose last-layer [CLS] is the sentence embedding (cls_before_pooler)."""

    def update_target(self, step: int, total_steps: int) -> float:
        """The target branch's EMA step before the forward of step ``step`` (1-based); returns the
        decay used, NaN for a model without a target branch."""
        return math.nan

    def queue_length(self) -> int:
        """Negatives the model's queue holds now (0 without a queue)."""
        return 0

    def queued_negatives(self) -> torch.Tensor | None:
        """The queue entries a step may use now, before any reduction (None without a queue)."""
        return None

    def compile_encoder_passes(self) -> None:
        """Run the training forward's encoder passes under ``torch.compile`` (static shapes: batches
        padded to the maximum length). Only the training forward changes: evaluation calls the
        encoder itself, eagerly, at whatever lengths its batches have, and the state dict keeps its
        names. Random draws inside the graph (dropout) fall back to eager's generator, so a
        compiled step draws the masks an eager step on the same padded batch draws, and gives the
        same numbers."""
        import torch._inductor.config as inductor_config

        inductor_config.fallback_random = True
        self.run_cls = torch.compile(encoder_cls, dynamic=False)

    def heads_state(self) -> dict[str, torch.Tensor]:
        """The trained heads a saved model keeps beside its encoder, by module-prefixed name."""
        return {f"{n}.{k}": v for n in self.HEADS for k, v in getattr(self, n).state_dict().items()}

    def shared_names(self) -> tuple[str, ...]:
        """Prefixes of state-dict names that are a second name of a module held twice (a shared
        module): left out of :meth:`checkpoint_state`, so a state saves each tensor once."""
        return ()

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        """The state dict a resumable checkpoint saves: every tensor once."""
        shared = self.shared_names()
        return {k: v for k, v in self.state_dict().items() if not (shared and k.startswith(shared))}

    def load_checkpoint_state(self, state: Mapping[str, torch.Tensor]) -> None:
        """Load a state :meth:`checkpoint_state` saved; anything else missing or unexpected is refused."""
        missing, unexpected = self.load_state_dict(state, strict=False)
        shared = self.shared_names()
        if unexpected or any(not (shared and k.startswith(shared)) for k in missing):
            raise RuntimeError(f"saved state does not fit this model: missing {missing}, unexpected {unexpected}")
