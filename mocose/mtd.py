"""Maximum traceable distance (MTD) of the paper, and its inverses for the Figure 2/3 grids.

MTD = 1 / (1 - eta) + K / B: the EMA's effective horizon in steps plus the number of steps a
negative stays in a queue of K entries fed B keys a step.
"""
from __future__ import annotations


def mtd(ema_decay: float, queue_size: int, batch_size: int) -> float:
    """Maximum traceable distance for EMA decay eta, queue size K and batch size B."""
    if not 0 <= ema_decay < 1:
        raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
    if batch_size <= 0 or queue_size < 0:
        raise ValueError(f"need batch_size > 0 and queue_size >= 0, got {batch_size}, {queue_size}")
    return 1.0 / (1.0 - ema_decay) + queue_size / batch_size


def queue_size_for_mtd(target: float, ema_decay: float, batch_size: int) -> int:
    """The queue size K (rounded to a whole number of batches) that gives MTD ~ target."""
    k = (target - 1.0 / (1.0 - ema_decay)) * batch_size
    if k < 0:
        raise ValueError(f"MTD {target} is below the EMA horizon 1/(1-{ema_decay}) alone")
    return int(round(k / batch_size)) * batch_size


def ema_decay_for_mtd(target: float, queue_size: int, batch_size: int) -> float:
    """The EMA decay eta that gives MTD = target at queue size K and batch size B."""
    horizon = target - queue_size / batch_size
    if horizon < 1:
        raise ValueError(f"MTD {target} is below K/B = {queue_size / batch_size} + 1")
    return 1.0 - 1.0 / horizon
