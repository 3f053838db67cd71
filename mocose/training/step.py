"""One optimisation step, on its own so that it can be timed, compiled and tested alone.

The order is the authors' (a Hugging Face Trainer step with MoCoSE's EMA hook in front): the target
branch's EMA update for step ``s``, the forward pass (under autocast when configured), the
backward pass, gradient clipping at ``max_grad_norm``, the learning rate of step ``s`` (linear
decay to 0 without warm-up, or constant), the AdamW update.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import Config
from ..device import autocast
from ..model.batch import Batch
from ..model.interface import ContrastiveModel


@dataclass
class StepResult:
    """What a step leaves for logging: the loss and the gradient norm before clipping (device
    tensors: reading one syncs; the norm is None without clipping), the keys, the negatives used,
    the learning rate and the EMA decay of that step."""

    loss: torch.Tensor
    keys: torch.Tensor
    num_negatives: int
    lr: float
    ema_decay: float
    grad_norm: torch.Tensor | None = None


def compile_enabled(config: Config, device: str) -> bool:
    """Whether a run's encoder passes run under torch.compile: ``on``, or ``auto`` on CUDA."""
    return config.train.compile == "on" or (config.train.compile == "auto" and device.startswith("cuda"))


def compiled_graphs() -> int:
    """Graphs torch.compile has built in this process so far (a recompile adds one)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def learning_rate(config: Config, step: int, total: int) -> float:
    """The learning rate of step ``step`` (1-based) of ``total``."""
    base = config.train.learning_rate
    return base * ((total - step + 1) / total if config.train.lr_schedule == "linear" else 1.0)


class TrainStep:
    """``step(s, batch)``: one optimisation step of ``model`` for training step ``s`` (1-based)."""

    def __init__(self, model: ContrastiveModel, optimizer: torch.optim.Optimizer, config: Config,
                 total: int, device: str) -> None:
        self.model, self.optimizer, self.config = model, optimizer, config
        self.total, self.device = total, device
        self.params = [p for g in optimizer.param_groups for p in g["params"]]

    def __call__(self, step: int, batch: Batch) -> StepResult:
        train = self.config.train
        decay = self.model.update_target(step, self.total)
        with autocast(self.device, train.autocast):
            result = self.model(batch)
        self.optimizer.zero_grad(set_to_none=True)
        result.loss.backward()
        grad_norm = None
        if train.max_grad_norm > 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(self.params, train.max_grad_norm)
        lr = learning_rate(self.config, step, self.total)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        return StepResult(result.loss.detach(), result.keys, result.num_negatives, lr, decay, grad_norm)
