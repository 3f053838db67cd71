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


def test_build_optimizer_follows_the_config():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    config = load_profile("smoke")
    opt = build_optimizer(model, config)
    assert isinstance(opt, HFAdamW)
    decay, no_decay = opt.param_groups
    assert [p.shape for p in decay["params"]] == [torch.Size([3, 3])]  # biases, LayerNorm: no decay
    assert decay["weight_decay"] == config.train.weight_decay and no_decay["weight_decay"] == 0.0
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
