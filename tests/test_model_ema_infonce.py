"""EMA schedule and update, and the InfoNCE loss, against hand formulas and a naive loop."""
import math

import pytest
import torch
from torch import nn

from mocose.model.ema import EMA, ema_decay_at
from mocose.model.infonce import info_nce


@pytest.mark.parametrize("eta", [0.85, 0.5, 0.0])
def test_decay_schedule_by_hand(eta):
    s = 15000
    assert ema_decay_at(0, eta, s) == pytest.approx(eta)
    assert ema_decay_at(s // 2, eta, s) == pytest.approx(1 - (1 - eta) / 2)
    assert ema_decay_at(s, eta, s) == pytest.approx(1.0)
    # worked by hand: eta .85, s = S/3: 1 - .15 * (cos(pi/3) + 1)/2 = 1 - .15 * .75 = .8875
    assert ema_decay_at(5000, 0.85, s) == pytest.approx(0.8875)


def test_update_blends_and_copies():
    torch.manual_seed(0)
    online, target = nn.Linear(3, 2), nn.Linear(3, 2)
    online.register_buffer("count", torch.tensor(7))
    target.register_buffer("count", torch.tensor(1))
    t0, o0 = target.weight.detach().clone(), online.weight.detach().clone()
    EMA([(target, online)]).update(0.85)
    assert torch.allclose(target.weight, 0.85 * t0 + 0.15 * o0)
    assert int(target.count) == 7
    EMA([(target, online)]).update(0.0)  # eta 0: the target becomes a copy
    assert torch.equal(target.weight, online.weight)


def test_shared_tensors_are_left_alone():
    shared = nn.Linear(2, 2)
    a, b = nn.Sequential(shared, nn.Linear(2, 2)), nn.Sequential(shared, nn.Linear(2, 2))
    ema = EMA([(b, a)])
    assert len(ema.float_t) == 2  # only the second layer's weight and bias


def naive_info_nce(q, k, n, t):
    total = 0.0
    for i in range(q.shape[0]):
        sims = [torch.cosine_similarity(q[i], k[j], dim=0) / t for j in range(k.shape[0])]
        sims += [torch.cosine_similarity(q[i], n[j], dim=0) / t for j in range(n.shape[0])]
        total += -(sims[i] - torch.logsumexp(torch.stack(sims), dim=0))
    return total / q.shape[0]


@pytest.mark.parametrize("m", [0, 5, 37])
def test_info_nce_equals_naive_loop(m):
    torch.manual_seed(1)
    q, k, n = torch.randn(6, 8, dtype=torch.float64), torch.randn(6, 8, dtype=torch.float64), torch.randn(m, 8, dtype=torch.float64) * 3
    assert info_nce(q, k, n, 0.05).item() == pytest.approx(naive_info_nce(q, k, n, 0.05).item(), rel=1e-10)


def test_info_nce_queue_carries_no_gradient():
    q, k = torch.randn(4, 3, requires_grad=True), torch.randn(4, 3, requires_grad=True)
    n = torch.randn(5, 3, requires_grad=True)
    info_nce(q, k, n).backward()
    assert q.grad is not None and k.grad is not None and n.grad is None


def test_info_nce_perfect_alignment_is_low():
    e = torch.eye(4)
    assert info_nce(e, e, None, 0.05).item() == pytest.approx(-math.log(1 / (1 + 3 * math.exp(-20))), abs=1e-6)
