"""The queue settings written as strings, parsed and checked against the queue size: which ages
of the queue a step uses (``queue_slice``) and what it makes of them (``queue_negatives``, a
:class:`QueueNegatives`); and the queue's bookkeeping rules (``queue_compat``)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .fields import fail

# suite: a FIFO of at most K; authors: their MoCoSEModel's bookkeeping (mocose.model.queue)
QUEUE_COMPATS = ("suite", "authors")
NEGATIVE_MODES = ("all", "mean", "kmeans")


@dataclass(frozen=True)
class QueueNegatives:
    """What a step makes of the queue entries it may use (``queue_negatives``): ``all`` of them,
    their ``mean`` direction (one negative), or ``kmeans`` with ``k`` centres of their directions."""

    mode: str = "all"
    k: int = 0  # the number of k-means centres; 0 unless mode is kmeans

    def __post_init__(self) -> None:
        if self.mode not in NEGATIVE_MODES:
            raise ValueError(f"mode={self.mode!r}: must be one of {', '.join(NEGATIVE_MODES)}")
        if (self.mode == "kmeans") != (self.k >= 1) or self.k < 0:
            raise ValueError(f"k={self.k} with mode {self.mode!r}: kmeans needs k >= 1, the others k = 0")


def parse_queue_slice(spec: str, queue_size: int) -> tuple[int, ...] | None:
    """The queue ages (0 = newest) a step may use, or None for all of them.

    ``blocks:0-3/8`` splits the queue into 8 equal blocks, newest first, and keeps blocks 0..3;
    ``blocks:0,1,6,7/8`` keeps a list; ``ages:128-512`` keeps ages 128 <= a < 512.
    """
    allowed = "'all', 'blocks:A-B/N', 'blocks:A,B,.../N' or 'ages:START-END'"
    if spec == "all":
        return None
    m = re.fullmatch(r"blocks:([\d,\-]+)/(\d+)", spec)
    if m:
        n = int(m.group(2))
        if n < 1 or queue_size % n:
            fail("queue_slice", spec, f"{allowed} with N dividing queue_size ({queue_size})")
        blocks: set[int] = set()
        for part in m.group(1).split(","):
            if "-" in part:
                a, b = part.split("-", 1)
                if not a or not b or int(a) > int(b):
                    fail("queue_slice", spec, allowed)
                blocks.update(range(int(a), int(b) + 1))
            elif part:
                blocks.add(int(part))
            else:
                fail("queue_slice", spec, allowed)
        if not blocks or max(blocks) >= n:
            fail("queue_slice", spec, f"{allowed} with block numbers below N={n}")
        width = queue_size // n
        return tuple(a for b in sorted(blocks) for a in range(b * width, (b + 1) * width))
    m = re.fullmatch(r"ages:(\d+)-(\d+)", spec)
    if m:
        start, end = int(m.group(1)), int(m.group(2))
        if not start < end <= queue_size:
            fail("queue_slice", spec, f"{allowed} with START < END <= queue_size ({queue_size})")
        return tuple(range(start, end))
    fail("queue_slice", spec, allowed)
    return None  # unreachable


def parse_queue_negatives(spec: str, queue_size: int) -> QueueNegatives:
    """``all``, ``mean`` or ``kmeans:k`` (1 <= k <= queue_size) as a :class:`QueueNegatives`."""
    if spec in ("all", "mean"):
        return QueueNegatives(spec)
    m = re.fullmatch(r"kmeans:(\d+)", spec)
    if m and 1 <= int(m.group(1)) <= max(queue_size, 1):
        return QueueNegatives("kmeans", int(m.group(1)))
    fail("queue_negatives", spec, f"'all', 'mean' or 'kmeans:k' with 1 <= k <= queue_size ({queue_size})")
    return QueueNegatives()  # unreachable
