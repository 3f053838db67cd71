"""The optimizer: transformers 4.11's AdamW (the authors' Trainer) against a step worked by hand,
and torch's AdamW where the two differ."""
import math

import pytest
import torch

from mocose.config import ConfigError
from mocose.profiles import load_profile
from mocose.training.optimizer import HFAdamW, build_optimizer


def one_step(opt_cls, p0: float, g: float, **kw) -> float:
    p = torch.nn.Parameter(torch.tensor([p0], dtype=torch.float64))
    opt = opt_cls([p], **kw)
    p.grad = torch.tensor([g], dtype=torch.float64)
    opt.step()
    return float(p.detach())


def test_hf_adamw_adds_epsilon_before_the_bias_correction():
    """p 1, g 0.5, lr 0.1, eps 0.01, step 1: m = 0.05, v = 2.5e-4; transformers' AdamW moves p by
    lr * sqrt(1 - 0.999) / (1 - 0.9) * m / (sqrt(v) + eps) = 0.0316228 * 0.05 / 0.0258114."""
    hf = one_step(HFAdamW, 1.0, 0.5, lr=0.1, eps=0.01)
    assert hf == pytest.approx(1.0 - math.sqrt(0.001) * 0.05 / (math.sqrt(2.5e-4) + 0.01), abs=1e-12)
    assert hf == pytest.approx(1.0 - 0.0612574, abs=1e-7)
    # torch: lr * m_hat / (sqrt(v_hat) + eps) = 0.1 * 0.5 / 0.51
    torch_p = one_step(torch.optim.AdamW, 1.0, 0.5, lr=0.1, eps=0.01, weight_decay=0.0)
    assert torch_p == pytest.approx(1.0 - 0.1 * 0.5 / 0.51, abs=1e-12)


def test_hf_adamw_decays_weights_after_the_update():
    """p 2, g 1, lr 0.1, wd 0.5, eps 0: Adam's step moves p to 1.9, then p -= lr * wd * p: 1.805."""
    assert one_step(HFAdamW, 2.0, 1.0, lr=0.1, eps=0.0, weight_decay=0.5) == pytest.approx(1.805, abs=1e-12)


def test_hf_adamw_second_step_by_hand():
    """Two steps of g 1 then g -1 (lr 1, eps 0): m 0.1 -> -0.01, v 0.001 -> 0.001999."""
    p = torch.nn.Parameter(torch.tensor([0.0], dtype=torch.float64))
    opt = HFAdamW([p], lr=1.0, eps=0.0)
    for g in (1.0, -1.0):
        p.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
    first = math.sqrt(0.001) / 0.1 * 0.1 / math.sqrt(0.001)            # = 1
    second = math.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2) * -0.01 / math.sqrt(0.001999)
    assert float(p.detach()) == pytest.approx(-first - second, abs=1e-12)


def hf_reference(p: torch.Tensor, grads: list[torch.Tensor], lr: float, wd: float, eps: float = 1e-8) -> torch.Tensor:
    """transformers 4.11's AdamW.step, transcribed line by line (float64)."""
    p = p.double().clone()
    m, v = torch.zeros_like(p), torch.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        g = g.double()
        m.mul_(0.9).add_(g, alpha=0.1)
        v.mul_(0.999).addcmul_(g, g, value=0.001)
        denom = v.sqrt().add_(eps)
        step_size = lr * math.sqrt(1.0 - 0.999 ** t) / (1.0 - 0.9 ** t)
        p.addcdiv_(m, denom, value=-step_size)
        p.add_(p, alpha=-lr * wd)
    return p


def test_hf_adamw_follows_the_transcription_over_steps():
    """Float32 parameters, gradients from 1e-9 to 1 (where the epsilon matters), 20 steps."""
    gen = torch.Generator().manual_seed(0)
    p0 = torch.randn(1000, generator=gen, dtype=torch.float64).float()
    grads = [torch.randn(1000, generator=gen).float() * torch.logspace(-9, 0, 1000).float() for _ in range(20)]
    p = torch.nn.Parameter(p0.clone())
    opt = HFAdamW([p], lr=3e-3, weight_decay=0.1)
    for g in grads:
        p.grad = g.clone()
        opt.step()
    want = hf_reference(p0, grads, lr=3e-3, wd=0.1)
    assert torch.allclose(p.detach().double(), want, rtol=0, atol=1e-6)
    plain = torch.nn.Parameter(p0.clone())
    opt = torch.optim.AdamW([plain], lr=3e-3, weight_decay=0.1)
    for g in grads:
        plain.grad = g.clone()
        opt.step()
    assert not torch.allclose(plain.detach().double(), want, rtol=0, atol=1e-6)  # torch's differs


def test_build_optimizer_follows_the_config():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    config = load_profile("smoke")
    opt = build_optimizer(model, config)
    assert isinstance(opt, HFAdamW)
    decay, no_decay = opt.param_groups
    assert [p.shape for p in decay["params"]] == [torch.Size([3, 3])]  # biases, LayerNorm: no decay
    assert decay["hf_weight_decay"] == config.train.weight_decay and no_decay["hf_weight_decay"] == 0.0
    assert isinstance(build_optimizer(model, config.override({"optimizer": "adamw_torch"})), torch.optim.AdamW)
    with pytest.raises(ConfigError, match="optimizer must be one of adamw_hf, adamw_torch"):
        config.override({"optimizer": "sgd"})


def test_hf_adamw_state_round_trips():
    p = torch.nn.Parameter(torch.ones(2))
    opt = HFAdamW([p], lr=0.1)
    p.grad = torch.ones(2)
    opt.step()
    again = HFAdamW([torch.nn.Parameter(p.detach().clone())], lr=0.1)
    again.load_state_dict(opt.state_dict())
    assert again.state_dict()["state"][0]["step"] == 1
    assert torch.equal(again.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
