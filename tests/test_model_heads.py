"""Head initialisation: BERT's (the authors') by default, PyTorch's as a named option."""
import math

import pytest
import torch
from torch import nn

from mocose.model import encoders
from mocose.config import ConfigError, ModelConfig
from mocose.model.heads import MLPHead, Pooler, Predictor, Projection, init_head_
from mocose.model.mocose import MoCoSE
from mocose.model.simcse import SimCSE
from mocose.profiles import load_profile


def _linears(module: nn.Module) -> list[nn.Linear]:
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def _layernorms(module: nn.Module) -> list[nn.LayerNorm]:
    return [m for m in module.modules() if isinstance(m, nn.LayerNorm)]


def assert_bert_init(module: nn.Module, std: float = 0.02) -> None:
    """Weights ~ N(0, std^2): sample std within 6 standard errors (SE of a sample std from n normal
    draws is std / sqrt(2n)), mean within 6 std / sqrt(n); biases exactly 0; LayerNorm 1 and 0."""
    linears = _linears(module)
    assert linears
    for layer in linears:
        w = layer.weight.detach().double().flatten()
        n = w.numel()
        assert abs(w.std().item() - std) < 6 * std / math.sqrt(2 * n), (w.std().item(), n)
        assert abs(w.mean().item()) < 6 * std / math.sqrt(n)
        assert torch.count_nonzero(layer.bias) == 0
    for ln in _layernorms(module):
        assert torch.equal(ln.weight, torch.ones_like(ln.weight))
        assert torch.equal(ln.bias, torch.zeros_like(ln.bias))


@pytest.mark.parametrize("build", [
    lambda init: Projection(256, 128, 2, init=init),
    lambda init: Predictor(128, 2, init=init),
    lambda init: MLPHead(256, init=init),
    lambda init: Pooler(256, None, init=init),
])
def test_heads_start_with_berts_init_and_pytorch_option_differs(build):
    torch.manual_seed(0)
    assert_bert_init(build("bert"))
    torch.manual_seed(0)
    default = build("pytorch")
    # PyTorch's Linear: kaiming_uniform(a=sqrt 5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), std 1/sqrt(3 fan_in)
    for layer in _linears(default):
        fan_in = layer.weight.shape[1]
        expected = 1 / math.sqrt(3 * fan_in)
        assert abs(layer.weight.std().item() - expected) < 0.05 * expected
        assert torch.count_nonzero(layer.bias) > 0
        assert layer.weight.abs().max().item() <= 1 / math.sqrt(fan_in)


def test_custom_initializer_range_and_bad_scheme():
    torch.manual_seed(0)
    assert_bert_init(init_head_(nn.Sequential(nn.Linear(200, 200), nn.LayerNorm(200)), "bert", 0.05), 0.05)
    with pytest.raises(ValueError, match="head_init"):
        init_head_(nn.Linear(2, 2), "xavier")
    with pytest.raises(ConfigError, match="head_init"):
        ModelConfig(head_init="xavier")


def test_mocose_heads_follow_the_config_and_pooler_is_copied():
    torch.manual_seed(0)
    encoder, _ = encoders.load("tiny-random-bert")
    config = load_profile("smoke")
    assert config.model.head_init == "bert"
    model = MoCoSE(encoder, config, torch.Generator().manual_seed(0))
    std = encoder.config.initializer_range
    for head in (model.projection, model.predictor, model.target_projection):
        assert_bert_init(head, std)
    assert torch.equal(model.projection[0].weight, model.target_projection[0].weight)
    # the pooler is copied from the pre-trained encoder, not re-initialised
    assert torch.equal(model.pooler.dense.weight, encoder.pooler.dense.weight)
    torch.manual_seed(0)
    encoder, _ = encoders.load("tiny-random-bert")
    plain = MoCoSE(encoder, config.override({"head_init": "pytorch"}), torch.Generator().manual_seed(0))
    assert torch.count_nonzero(plain.projection[0].bias) > 0
    assert plain.projection[0].weight.std().item() > 2 * std


def test_simcse_mlp_gets_berts_init():
    torch.manual_seed(0)
    encoder, _ = encoders.load("tiny-random-bert")
    model = SimCSE(encoder, load_profile("smoke").override({"method": "simcse"}))
    assert_bert_init(model.mlp, encoder.config.initializer_range)
