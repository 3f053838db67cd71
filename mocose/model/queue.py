"""The queue of negatives: a preallocated ring buffer of the target branch's past outputs.

Ages count from the newest entry (age 0). The eviction rule lives in :meth:`NegativeQueue.enqueue`:

- ``suite`` (default): FIFO of at most K entries. After each step the batch's keys become the
  newest entries and the oldest beyond K are dropped. It starts holding round(f K) random unit
  vectors (Gaussian, L2-normalised), older than anything enqueued later (or ``init_size`` of
  them: Figure 12's absolute begin sizes, "w.o. init." being 1).
- ``authors``: the bookkeeping of the authors' ``MoCoSEModel`` (xbdxwyh/mocose, mocose.py:
  ``forward`` and ``dequeue_and_enqueue``). It starts with K random columns and a fill counter
  c = K_start = round(f K). A step uses the newest (c + K_start) entries while c + K_start < K,
  else every entry held. New keys go in front; the queue is cut back to its K newest entries only
  once c passes K, so just before that it holds up to ~2K entries. An empty counter (c = 0, the
  first enqueue of f = 0) replaces the queue by the batch's keys: the K random columns go then,
  and that enqueue cuts nothing.

Entries are stored as the target produced them (not normalised); the loss's cosine normalises.
"""
from __future__ import annotations

import torch
from torch import nn

from ..queue_specs import QUEUE_COMPATS


class NegativeQueue(nn.Module):
    """At most ``size`` negatives of width ``dim``; see the module docstring for the rules."""

    def __init__(self, size: int, dim: int, init_fraction: float = 1.0, compat: str = "suite",
                 batch_size: int = 64, ages: tuple[int, ...] | None = None,
                 generator: torch.Generator | None = None, init_size: int | None = None):
        super().__init__()
        if compat not in QUEUE_COMPATS:
            raise ValueError(f"compat={compat!r}: must be one of {QUEUE_COMPATS}")
        if size < 0 or not 0 <= init_fraction <= 1:
            raise ValueError(f"need size >= 0 and 0 <= init_fraction <= 1, got {size}, {init_fraction}")
        if ages is not None and compat == "authors":
            raise ValueError("an age slice needs compat='suite'")
        if ages is not None and (not ages or max(ages) >= size or min(ages) < 0):
            raise ValueError(f"ages must lie in [0, {size}) for a queue of {size}")
        self.size, self.dim, self.compat = size, dim, compat
        if init_size is not None and not 0 <= init_size <= size:
            raise ValueError(f"need 0 <= init_size <= size, got {init_size} for size {size}")
        # random vectors held at the start (K_start): an absolute size, else round(f K)
        self.start = round(init_fraction * size) if init_size is None else init_size
        capacity = size if compat == "suite" else 2 * size + batch_size
        self.capacity = capacity
        random = torch.randn(capacity, dim, generator=generator)
        random = random / random.norm(dim=1, keepdim=True)
        self.register_buffer("entries", random)
        held = self.start if compat == "suite" else size
        self.ptr = held % capacity if capacity else 0  # where the next key is written
        self.length = held                             # entries held now
        self.counter = self.start                      # authors' fill counter
        self.register_buffer("ages", torch.tensor(ages if ages is not None else [], dtype=torch.long),
                             persistent=False)
        self.sliced = ages is not None

    # -- what a step sees ---------------------------------------------------------------------
    def num_usable(self) -> int:
        """How many of the newest entries a step may use (before any age slice)."""
        if self.compat == "authors" and self.counter + self.start < self.size:
            return self.counter + self.start
        return self.length

    def negatives(self) -> torch.Tensor:
        """The entries a step uses as negatives (a view or a gathered copy; never trained)."""
        n = self.num_usable()
        if n == 0:
            return self.entries[:0]
        if self.sliced:
            ages = self.ages[self.ages < n]
        elif n == self.length and (self.length == self.capacity or self.ptr == self.length):
            return self.entries[: self.length]  # held entries are contiguous: no copy
        else:
            ages = torch.arange(n, device=self.entries.device)
        return self.entries[(self.ptr - 1 - ages) % self.capacity]

    def newest_first(self) -> torch.Tensor:
        """Every held entry ordered by age (for tests and diagnostics)."""
        ages = torch.arange(self.length, device=self.entries.device)
        return self.entries[(self.ptr - 1 - ages) % self.capacity]

    @torch.no_grad()
    def load(self, newest_first: torch.Tensor) -> None:
        """Replace the entries held now by given vectors, ``newest_first[0]`` the newest (age 0).

        For starting from a recorded queue (the authors' ``queue0`` is ``dim x K`` with column 0
        the newest: pass ``queue0.T``). The count must equal what the queue holds now
        (:attr:`length`: K for ``authors``, the start size for ``suite``); the fill counter and
        every rule stay as they are.
        """
        rows = torch.as_tensor(newest_first)
        if rows.ndim != 2 or tuple(rows.shape) != (self.length, self.dim):
            raise ValueError(f"the queue holds {self.length} entries of width {self.dim}; "
                             f"got a tensor of shape {tuple(rows.shape)}")
        ages = torch.arange(self.length, device=self.entries.device)
        self.entries[(self.ptr - 1 - ages) % self.capacity] = rows.to(self.entries)

    # -- the eviction rule ----------------------------------------------------------------------
    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Add a batch of keys as the newest entries and evict per the rule.

        ``suite``: keys[-1] is the newest; ``authors``: keys[0] (their column order), which decides
        which keys of a batch survive a cut to K when K is not a multiple of the batch size.
        """
        if self.size == 0:
            return
        keys = keys.detach().to(self.entries.dtype)
        if keys.shape[0] > self.capacity:
            keys = keys[-self.capacity:]
        b = keys.shape[0]
        if self.compat == "authors":
            keys = keys.flip(0)  # authors: torch.cat((keys.T, queue)), so keys[0] is the newest column
        replace = self.compat == "authors" and self.counter == 0  # authors: `self.queue = keys.T`
        if replace:
            self.length = 0
        idx = (self.ptr + torch.arange(b, device=keys.device)) % self.capacity
        self.entries[idx] = keys
        self.ptr = (self.ptr + b) % self.capacity
        self.length = min(self.length + b, self.capacity)
        self.counter += b
        if self.compat == "suite" or (self.counter > self.size and not replace):
            self.length = min(self.length, self.size)

    # -- resumable state ------------------------------------------------------------------------
    def get_extra_state(self) -> dict:
        return {"ptr": self.ptr, "length": self.length, "counter": self.counter}

    def set_extra_state(self, state: dict) -> None:
        self.ptr, self.length, self.counter = int(state["ptr"]), int(state["length"]), int(state["counter"])
