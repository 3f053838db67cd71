"""The target branch's exponential moving average, with the authors' cosine-rising decay."""
from __future__ import annotations

import math
from typing import Iterable

import torch


def ema_decay_at(step: int, base: float, total_steps: int) -> float:
    """``m_s = 1 - (1 - eta) (cos(pi s / S) + 1) / 2``: eta at s = 0, 1 at s = S.

    The authors fix S = 15,000 whatever the run's length, so past S the decay falls again; the
    formula is kept as it is (a cosine, not clamped) to match them.
    """
    return 1.0 - (1.0 - base) * (math.cos(math.pi * step / total_steps) + 1.0) / 2.0


class EMA:
    """Blends online tensors into target tensors: ``t <- m t + (1 - m) o``.

    Pairs are every parameter and buffer of the averaged modules, matched by name; floating
    tensors are averaged in one fused pass (``torch._foreach_*``), others are copied.
    """

    def __init__(self, pairs: Iterable[tuple[torch.nn.Module, torch.nn.Module]]):
        self.float_t: list[torch.Tensor] = []
        self.float_o: list[torch.Tensor] = []
        self.other_t: list[torch.Tensor] = []
        self.other_o: list[torch.Tensor] = []
        for target, online in pairs:
            t_state = dict(target.named_parameters()) | dict(target.named_buffers())
            o_state = dict(online.named_parameters()) | dict(online.named_buffers())
            if t_state.keys() != o_state.keys():
                raise ValueError("target and online modules differ in structure")
            for name, t in t_state.items():
                o = o_state[name]
                if t.data_ptr() == o.data_ptr():
                    continue  # shared tensor (e.g. the embedding layer): nothing to average
                if t.is_floating_point():
                    self.float_t.append(t)
                    self.float_o.append(o)
                else:
                    self.other_t.append(t)
                    self.other_o.append(o)

    @torch.no_grad()
    def update(self, decay: float) -> None:
        if self.float_t:
            torch._foreach_mul_(self.float_t, decay)
            torch._foreach_add_(self.float_t, self.float_o, alpha=1.0 - decay)
        for t, o in zip(self.other_t, self.other_o):
            t.copy_(o)
