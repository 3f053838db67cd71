"""The optimizer: AdamW as the authors' Hugging Face Trainer ran it, or as torch implements it.

The authors trained with transformers 4.11's Trainer, whose default optimizer is
``transformers.optimization.AdamW`` (removed from later transformers). It differs from
``torch.optim.AdamW`` in two places, and the first one moves the numbers:

- epsilon is added to ``sqrt(v)`` before the bias correction, so the effective epsilon is
  ``eps / sqrt(1 - beta2^t)``: 32x torch's at step 1. Gradients clipped to norm 1.0 are small
  (the authors' first step scales them by 1/74), so many entries sit near epsilon and move less.
- weight decay is applied after the Adam update (``p -= lr * wd * p``), torch's before it.

``optimizer="adamw_hf"`` (the default) is the former, so the suite's trajectory equals the authors'
(``tests/test_authors_trajectory.py``); ``adamw_torch`` is ``torch.optim.AdamW``. Both are fused on CUDA.
Both exclude biases and LayerNorm weights from weight decay, as the Trainer does.
"""
from __future__ import annotations

import math
from typing import Iterable

import torch

from ..config import OPTIMIZERS, Config

__all__ = ["OPTIMIZERS", "HFAdamW", "build_optimizer", "parameter_groups"]


class HFAdamW(torch.optim.AdamW):
    """``transformers.optimization.AdamW`` (4.11, ``correct_bias=True``) on torch's AdamW kernels.

    Its update ``lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`` is torch's with the
    epsilon ``eps / sqrt(1 - b2^t)`` at step t, so each step sets that epsilon and lets torch do
    the update (its foreach kernels, or ``fused`` on CUDA: one kernel for all parameters); the
    weight decay is taken out of torch's step and applied after it, ``p -= lr * wd * p``, as
    transformers does. The two forms agree to float rounding (``tests/test_training_optimizer.py``), and
    the authors' trajectory test holds the result to their losses.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, fused: bool | None = None) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, fused=fused)
        for group in self.param_groups:
            group.setdefault("hf_eps", group["eps"])
            group.setdefault("hf_weight_decay", group["weight_decay"])
            group.setdefault("hf_step", 0)
            group["weight_decay"] = 0.0  # applied after the update, not by torch before it

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102 - torch.optim.Optimizer.step
        for group in self.param_groups:
            if any(p.grad is not None for p in group["params"]):
                group["hf_step"] += 1  # every parameter of a group steps together
            group["eps"] = group["hf_eps"] / math.sqrt(1.0 - group["betas"][1] ** max(group["hf_step"], 1))
        loss = super().step(closure)
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params and group["hf_weight_decay"] > 0.0:
                torch._foreach_add_(params, params, alpha=-group["lr"] * group["hf_weight_decay"])
        return loss


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """The Trainer's two groups: weight decay on weights, none on biases and LayerNorms."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name
             or p.ndim == 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: torch.nn.Module, config: Config) -> torch.optim.Optimizer:
    """The configured AdamW over ``model``'s trainable parameters (betas 0.9/0.999, eps 1e-8)."""
    train = config.train
    groups = parameter_groups(model, train.weight_decay)
    fused = all(p.is_cuda for g in groups for p in g["params"]) and any(g["params"] for g in groups)
    cls = HFAdamW if train.optimizer == "adamw_hf" else torch.optim.AdamW
    return cls(groups, lr=train.learning_rate, betas=(0.9, 0.999), eps=1e-8, fused=fused or None)
