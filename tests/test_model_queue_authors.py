"""``queue_compat=authors`` stepped against a plain re-implementation of the authors' bookkeeping.

The reference below transcribes ``MoCoSEModel.forward`` / ``dequeue_and_enqueue`` of
xbdxwyh/mocose (mocose.py) over a Python list of column tags instead of a [d, K] tensor:

    queue = randn(d, K) (normalised); queue_size = K_start
    step:    uses queue[:, :queue_size + K_start] if queue_size + K_start < K, else all of queue
    enqueue: if queue_size == 0: queue = keys.T; queue_size += B
             else: queue = cat(keys.T, queue); queue_size += B; if queue_size > K: queue = queue[:, :K]

Every (init fraction, K, B) of the registry (all profiles) is covered, crossed with each other and
with the fractions 0, 1/4, 1/2, 1 and K 4096 at B 64, so a new registry cell is covered too.
"""
from __future__ import annotations

import itertools
import math

import pytest
import torch

import ablations
from mocose.profiles import profile_names
from mocose.model.queue import NegativeQueue


class AuthorsQueue:
    """The authors' queue bookkeeping; a column is a tag: real key id > 0, random column < 0."""

    def __init__(self, K: int, K_start: int):
        self.K, self.K_start = K, K_start
        self.queue = [-(i + 1) for i in range(K)]
        self.queue_size = K_start

    def used(self) -> list[int]:
        if self.queue_size + self.K_start < self.K:
            return self.queue[: self.queue_size + self.K_start]
        return list(self.queue)

    def enqueue(self, keys: list[int]) -> None:
        if self.queue_size == 0:
            self.queue = list(keys)
            self.queue_size += len(keys)
        else:
            self.queue = list(keys) + self.queue
            self.queue_size += len(keys)
            if self.queue_size > self.K:
                self.queue = self.queue[: self.K]


def registry_settings() -> list[tuple[float, int, int]]:
    fractions, sizes, batches = {0.0, 0.25, 0.5, 1.0}, {4096}, {64}
    for profile in profile_names():
        for art in ablations.all_artifacts():
            for _, config in art.configs(profile, 1):
                if config.model.method == "mocose" and config.queue.queue_size > 0:
                    fractions.add(config.queue.queue_init_fraction)
                    sizes.add(config.queue.queue_size)
                    batches.add(config.train.batch_size)
    return sorted(itertools.product(sorted(fractions), sorted(sizes), sorted(batches)))


SETTINGS = registry_settings()


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small tensors: one thread is faster, and spared the contention of a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tagged_queue(size: int, fraction: float, batch: int) -> NegativeQueue:
    q = NegativeQueue(size, 1, fraction, compat="authors", batch_size=batch)
    # tag every stored row (all random at the start) with a distinct negative number
    q.entries.copy_(-(torch.arange(q.capacity, dtype=torch.float) + 1)[:, None])
    return q


def test_settings_cover_the_registry_and_the_issue():
    assert (0.0, 512, 64) in SETTINGS and (0.0, 4096, 64) in SETTINGS and (0.25, 4096, 64) in SETTINGS
    assert len({s for _, s, _ in SETTINGS}) >= 5


@pytest.mark.parametrize("fraction,size,batch", SETTINGS)
def test_authors_queue_matches_the_reference(fraction, size, batch):
    ref = AuthorsQueue(size, round(fraction * size))
    q = _tagged_queue(size, fraction, batch)
    steps = math.ceil(size / batch) + 4  # past the cut back to K, and a few steps after it
    for step in range(steps):
        ids = list(range(step * batch + 1, (step + 1) * batch + 1))
        used = torch.tensor(ref.used(), dtype=torch.long)
        neg = q.negatives()[:, 0].long()
        assert neg.shape[0] == used.shape[0], f"step {step + 1}: {neg.shape[0]} negatives, authors {used.shape[0]}"
        assert torch.equal(neg[neg > 0].sort().values, used[used > 0].sort().values), \
            f"step {step + 1}: different real keys"
        random = neg[neg < 0]
        assert random.numel() == int((used < 0).sum()), f"step {step + 1}: different count of random rows"
        assert random.unique().numel() == random.numel()  # no random row used twice
        assert q.length == len(ref.queue), f"step {step + 1}: holds {q.length}, authors {len(ref.queue)}"
        ref.enqueue(ids)
        q.enqueue(torch.tensor(ids, dtype=torch.float)[:, None])


@pytest.mark.parametrize("size,step,expected", [(512, 9, 512), (4096, 65, 4096)])
def test_empty_start_reaching_k_uses_only_real_keys(size, step, expected):
    """The issue's cases: f 0, B 64; the step where the counter reaches K used 2K, half random."""
    q = _tagged_queue(size, 0.0, 64)
    for n in range(1, step):
        q.enqueue(torch.arange(n * 64, (n + 1) * 64, dtype=torch.float)[:, None] + 1)
    neg = q.negatives()[:, 0]
    assert neg.shape[0] == expected and bool((neg > 0).all())
