"""Queue negatives: all / mean / k-means centres, against hand-built truth."""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from mocose.queue_specs import QueueNegatives, parse_queue_negatives
from mocose.model.negatives import kmeans, reduce_negatives


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def blobs(k: int = 5, per: int = 40, d: int = 16, spread: float = 0.05, seed: int = 0):
    """k orthogonal unit directions (the first k basis vectors) with small noise around each."""
    g = gen(seed)
    centres = torch.eye(d)[:k]
    labels = torch.arange(k).repeat_interleave(per)
    x = centres[labels] + spread * torch.randn(k * per, d, generator=g)
    perm = torch.randperm(k * per, generator=g)
    return x[perm], labels[perm], centres


def match_error(found: torch.Tensor, truth: torch.Tensor) -> float:
    """Largest distance between truth and found centres under the best one-to-one matching."""
    best = float("inf")
    for perm in itertools.permutations(range(len(found))):
        best = min(best, float((found[list(perm)] - truth).norm(dim=1).max()))
    return best


def test_kmeans_finds_the_centres_of_well_separated_blobs():
    x, labels, truth = blobs()
    centres = kmeans(x, 5, generator=gen(1))
    assert centres.shape == (5, 16)
    # the exact answer: each blob's own mean
    means = torch.stack([x[labels == c].mean(dim=0) for c in range(5)])
    assert match_error(centres, means) < 1e-5
    assert match_error(centres, truth) < 0.05


def test_kmeans_is_deterministic_under_a_seed_and_depends_on_it():
    x = torch.randn(300, 8, generator=gen(3))  # no structure: the init decides the answer
    a = kmeans(x, 6, generator=gen(7))
    b = kmeans(x, 6, generator=gen(7))
    c = kmeans(x, 6, generator=gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_kmeans_centres_are_the_means_of_their_clusters():
    # a Lloyd fixed point: every centre is the mean of the points nearest to it
    x = torch.randn(200, 4, generator=gen(4))
    centres = kmeans(x, 4, iters=100, generator=gen(5))
    assign = torch.cdist(x, centres).argmin(dim=1)
    for c in range(4):
        assert torch.allclose(centres[c], x[assign == c].mean(dim=0), atol=1e-5)


def test_kmeans_with_fewer_points_than_k_returns_the_points():
    x = torch.randn(3, 5, generator=gen(6))
    centres = kmeans(x, 10, generator=gen(0))
    assert centres.shape == (3, 5)
    assert match_error(centres, x) < 1e-6


def test_kmeans_survives_duplicates_and_empty_clusters():
    # only 2 distinct points but k = 3: one centre must end up duplicated, none NaN
    x = torch.tensor([[1.0, 0.0]] * 5 + [[0.0, 1.0]] * 5)
    centres = kmeans(x, 3, generator=gen(0))
    assert centres.shape == (3, 2) and torch.isfinite(centres).all()
    rows = {tuple(r.tolist()) for r in centres}
    assert rows == {(1.0, 0.0), (0.0, 1.0)}


def test_reduce_all_returns_the_entries():
    q = torch.randn(7, 4, generator=gen(1))
    assert torch.equal(reduce_negatives(q, parse_queue_negatives("all", 512)), q)


def test_reduce_mean_is_the_mean_direction():
    # hand-worked: unit directions (1,0) and (0,1); norms 3 and 100 must not matter
    q = torch.tensor([[3.0, 0.0], [0.0, 100.0]])
    out = reduce_negatives(q, parse_queue_negatives("mean", 512))
    assert out.shape == (1, 2)
    assert torch.allclose(out, torch.tensor([[0.5, 0.5]]))


def test_reduce_kmeans_clusters_directions_not_norms():
    # two directions, each at very different norms: k-means on raw vectors would split by norm,
    # on directions it must find the two directions
    g = gen(2)
    dirs = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    labels = torch.arange(2).repeat(50)
    norms = torch.where(torch.arange(100) % 4 < 2, 1.0, 30.0)[:, None]
    q = (dirs[labels] + 0.01 * torch.randn(100, 3, generator=g)) * norms
    out = reduce_negatives(q, parse_queue_negatives("kmeans:2", 512), gen(0))
    assert out.shape == (2, 3)
    assert match_error(F.normalize(out, dim=1), dirs) < 0.02
    assert not out.requires_grad


def test_reduce_kmeans_caps_at_queue_length_and_handles_empty_queue():
    q = torch.randn(4, 6, generator=gen(3))
    assert reduce_negatives(q, QueueNegatives("kmeans", 10), gen(0)).shape == (4, 6)
    empty = torch.zeros(0, 6)
    for rule in (QueueNegatives("all"), QueueNegatives("mean"), QueueNegatives("kmeans", 5)):
        assert reduce_negatives(empty, rule, gen(0)).shape == (0, 6)


def test_reduce_carries_no_gradient():
    q = torch.randn(20, 4, generator=gen(4), requires_grad=True)
    for rule in (QueueNegatives("all"), QueueNegatives("mean"), QueueNegatives("kmeans", 3)):
        assert not reduce_negatives(q, rule, gen(0)).requires_grad


def test_bad_inputs_are_refused_with_the_allowed_values():
    with pytest.raises(ValueError, match="mode="):
        QueueNegatives("median")
    with pytest.raises(ValueError, match="kmeans needs k >= 1"):
        QueueNegatives("kmeans", 0)
    with pytest.raises(ValueError, match="k must be"):
        kmeans(torch.randn(3, 2), 0)
