"""The optimizer: AdamW as the authors' Hugging Face Trainer ran it, or as torch implements it.

The authors trained with transformers 4.11's Trainer, whose default optimizer is
``transformers.optimization.AdamW`` (removed from later transformers). It differs from
``torch.optim.AdamW`` in two places, and the first one moves the numbers:

- epsilon is added to ``sqrt(v)`` before the bias correction, so the effective epsilon is
  ``eps / sqrt(1 - beta2^t)``: 32x torch's at step 1. Gradients clipped to norm 1.0 are small
  (the authors' first step scales them by 1/74), so many entries sit near epsilon and move less.
- weight decay is applied after the Adam update (``p -= lr * wd * p``), torch's before it.

``optimizer="adamw_hf"`` (the default) is the former, so the suite's trajectory equals the authors'
(``tests/test_authors_trajectory.py``); ``adamw_torch`` is ``torch.optim.AdamW`` (fused on CUDA).
Both exclude biases and LayerNorm weights from weight decay, as the Trainer does.
"""
from __future__ import annotations

import math
from typing import Iterable

import torch

from ..config import OPTIMIZERS, Config

__all__ = ["OPTIMIZERS", "HFAdamW", "build_optimizer", "parameter_groups"]


class HFAdamW(torch.optim.Optimizer):
    """``transformers.optimization.AdamW`` (4.11, ``correct_bias=True``), one multi-tensor update
    per parameter group."""

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"invalid AdamW settings: lr={lr}, betas={betas}, eps={eps}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102 - torch.optim.Optimizer.step
        loss = None if closure is None else closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            beta1, beta2 = group["betas"]
            for p in params:
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
            step = self.state[params[0]]["step"]  # every parameter of a group steps together
            grads = [p.grad for p in params]
            exp_avg = [self.state[p]["exp_avg"] for p in params]
            exp_avg_sq = [self.state[p]["exp_avg_sq"] for p in params]
            torch._foreach_mul_(exp_avg, beta1)
            torch._foreach_add_(exp_avg, grads, alpha=1.0 - beta1)
            torch._foreach_mul_(exp_avg_sq, beta2)
            torch._foreach_addcmul_(exp_avg_sq, grads, grads, value=1.0 - beta2)
            denom = torch._foreach_sqrt(exp_avg_sq)
            torch._foreach_add_(denom, group["eps"])
            step_size = group["lr"] * math.sqrt(1.0 - beta2 ** step) / (1.0 - beta1 ** step)
            torch._foreach_addcdiv_(params, exp_avg, denom, value=-step_size)
            if group["weight_decay"] > 0.0:
                torch._foreach_add_(params, params, alpha=-group["lr"] * group["weight_decay"])
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
    if train.optimizer == "adamw_hf":
        return HFAdamW(groups, lr=train.learning_rate, betas=(0.9, 0.999), eps=1e-8)
    fused = all(p.is_cuda for g in groups for p in g["params"]) and any(g["params"] for g in groups)
    return torch.optim.AdamW(groups, lr=train.learning_rate, betas=(0.9, 0.999), eps=1e-8,
                             fused=fused or None)
