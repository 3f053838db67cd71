"""The negative queue's eviction rule, start and age slices, against hand-worked sequences."""
import pytest
import torch

from mocose.config import ConfigError, QueueConfig
from mocose.queue_specs import parse_queue_slice
from mocose.model.queue import NegativeQueue


def batch(start: int, b: int, d: int = 2) -> torch.Tensor:
    """Keys whose first coordinate is their sequence number (start, start+1, ...)."""
    k = torch.zeros(b, d)
    k[:, 0] = torch.arange(start, start + b, dtype=torch.float)
    return k


def ids(t: torch.Tensor) -> list[int]:
    return [int(x) for x in t[:, 0].tolist()]


def test_fifo_order_and_eviction():
    q = NegativeQueue(size=5, dim=2, init_fraction=0.0)
    assert q.negatives().shape == (0, 2)
    q.enqueue(batch(1, 2))
    assert ids(q.newest_first()) == [2, 1]
    q.enqueue(batch(3, 2))
    q.enqueue(batch(5, 2))  # 6 keys into 5 places: key 1 is evicted
    assert ids(q.newest_first()) == [6, 5, 4, 3, 2]
    assert sorted(ids(q.negatives())) == [2, 3, 4, 5, 6]  # all held, none excluded
    q.enqueue(batch(7, 7))  # a batch larger than the queue keeps its newest 5
    assert ids(q.newest_first()) == [13, 12, 11, 10, 9]


@pytest.mark.parametrize("fraction,expected", [(0, 0), (0.25, 128), (0.5, 256), (1, 512), (1 / 3, 171)])
def test_init_fraction_counts_and_unit_norms(fraction, expected):
    q = NegativeQueue(size=512, dim=16, init_fraction=fraction)
    neg = q.negatives()
    assert neg.shape == (expected, 16)
    if expected:
        assert torch.allclose(neg.norm(dim=1), torch.ones(expected), atol=1e-5)
    q.enqueue(batch(1, 64, 16))
    assert q.negatives().shape[0] == min(expected + 64, 512)
    # the random start is older than anything enqueued
    assert ids(q.newest_first()[:64]) == list(range(64, 0, -1))


def test_random_start_is_evicted_first():
    q = NegativeQueue(size=4, dim=2, init_fraction=0.5)
    q.enqueue(batch(100, 2))
    q.enqueue(batch(200, 1))  # evicts the oldest random vector only
    held = ids(q.newest_first())
    assert held[:3] == [200, 101, 100] and len(held) == 4


def test_authors_negative_counts():
    """K 4096, B 64, K_start 128: 256 + 64(n-1) for steps 1-60, then 7,936, 8,000, 8,064, then 4,096."""
    q = NegativeQueue(size=4096, dim=4, init_fraction=128 / 4096, compat="authors", batch_size=64)
    counts = []
    for n in range(1, 70):
        counts.append(q.negatives().shape[0])
        q.enqueue(torch.randn(64, 4))
    assert counts[:60] == [256 + 64 * (n - 1) for n in range(1, 61)]
    assert counts[60:63] == [7936, 8000, 8064]
    assert counts[63:] == [4096] * 6


def test_authors_queue_puts_new_keys_in_front():
    q = NegativeQueue(size=8, dim=2, init_fraction=0.25, compat="authors", batch_size=2)
    q.enqueue(batch(1, 2))
    neg = q.negatives()  # counter 4 + K_start 2 = 6 newest entries
    # torch.cat((keys.T, queue)): the batch in front, in its own row order
    assert neg.shape[0] == 6 and ids(neg[:2]) == [1, 2]


def test_block_slices_pick_the_right_ages():
    ages = parse_queue_slice("blocks:1-2/4", 8)  # blocks of 2: ages 2..5
    assert ages == (2, 3, 4, 5)
    q = NegativeQueue(size=8, dim=2, init_fraction=0.0, ages=ages)
    q.enqueue(batch(1, 3))  # held ages 0..2 = keys 3,2,1: only age 2 (key 1) is in the slice
    assert ids(q.negatives()) == [1]
    q.enqueue(batch(4, 7))  # keys 1..10, queue keeps 3..10; ages 2..5 = keys 8,7,6,5
    assert ids(q.negatives()) == [8, 7, 6, 5]
    ends = NegativeQueue(size=8, dim=2, init_fraction=0.0, ages=parse_queue_slice("blocks:0,3/4", 8))
    ends.enqueue(batch(1, 8))
    assert ids(ends.negatives()) == [8, 7, 2, 1]


def test_slice_specs_validated():
    assert parse_queue_slice("ages:128-512", 1024) == tuple(range(128, 512))
    assert parse_queue_slice("all", 512) is None
    for bad in ("blocks:0-3/7", "blocks:0-8/8", "ages:10-5", "ages:0-2048", "middle"):
        with pytest.raises(ConfigError, match="queue_slice"):
            QueueConfig(queue_size=1024, queue_slice=bad)


def test_state_round_trip():
    q = NegativeQueue(size=6, dim=2, init_fraction=0.0)
    q.enqueue(batch(1, 4))
    r = NegativeQueue(size=6, dim=2, init_fraction=0.0)
    r.load_state_dict(q.state_dict())
    assert ids(r.newest_first()) == ids(q.newest_first())
    r.enqueue(batch(5, 4))
    assert ids(r.newest_first()) == [8, 7, 6, 5, 4, 3]


def test_a_recorded_queue_loads_newest_first():
    """The authors' queue0 is dim x K with column 0 the newest; loaded as queue0.T, a step uses
    its first counter + K_start columns, in that order, and new keys go in front of them."""
    q = NegativeQueue(size=8, dim=2, init_fraction=0.25, compat="authors", batch_size=2)
    queue0 = batch(100, 8).T  # column j has sequence number 100 + j
    q.load(queue0.T)
    assert ids(q.negatives()) == [100, 101, 102, 103]  # counter 2 + K_start 2
    q.enqueue(batch(1, 2))
    assert ids(q.negatives()) == [1, 2, 100, 101, 102, 103]
    suite = NegativeQueue(size=8, dim=2, init_fraction=0.5)
    suite.load(batch(10, 4))
    assert ids(suite.newest_first()) == [10, 11, 12, 13]


def test_a_recorded_queue_of_the_wrong_size_is_refused():
    q = NegativeQueue(size=8, dim=2, init_fraction=0.25, compat="authors", batch_size=2)
    with pytest.raises(ValueError, match=r"holds 8 entries of width 2; got a tensor of shape \(4, 2\)"):
        q.load(batch(0, 4))
