"""What a training step consumes and returns: a batch of token ids and the step's output."""
from __future__ import annotations

from dataclasses import dataclass

import torch


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
    """A model's forward over a batch: the loss, the keys it compared against, the queue negatives."""

    loss: torch.Tensor
    keys: torch.Tensor       # the target branch's outputs (or SimCSE's second view)
    num_negatives: int       # queue negatives used this step
