"""The small heads over the encoder's [CLS] vector (docs/model.md, The model), as in SimCSE's models.py.

Every head layer not copied from the pre-trained encoder starts as BERT initialises its own layers
(``head_init="bert"``, the default): Linear weights normal(0, ``initializer_range``), biases 0,
LayerNorm weight 1 and bias 0. That is what the authors' code does: ``MoCoSEModel.__init__`` calls
``self.init_weights()`` (``BertPreTrainedModel._init_weights``) over the whole model, then loads
only the embeddings, encoder and pooler dense from bert-base, so the projection and the predictor
keep BERT's init (xbdxwyh/mocose, mocose.py and mocose_demo.ipynb); SimCSE's MLP head is left the
same way by ``from_pretrained``. ``head_init="pytorch"`` keeps PyTorch's default init (Kaiming-
uniform weights, uniform biases), the suite's behaviour before this was the default.
"""
from __future__ import annotations

import torch
from torch import nn

from ..config import HEAD_INITS

DEFAULT_INITIALIZER_RANGE = 0.02  # BertConfig's initializer_range


@torch.no_grad()
def init_head_(module: nn.Module, scheme: str = "bert", std: float = DEFAULT_INITIALIZER_RANGE) -> nn.Module:
    """Initialise every Linear and LayerNorm of ``module`` in place by ``scheme``; returns it.

    ``bert``: as ``BertPreTrainedModel._init_weights``; ``pytorch``: leave the layers as built.
    Draws from the global torch RNG (seeded by the trainer), as the layers' own init does.
    """
    if scheme not in HEAD_INITS:
        raise ValueError(f"head_init={scheme!r} is not allowed: head_init must be one of {', '.join(HEAD_INITS)}")
    if scheme == "pytorch":
        return module
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            layer.weight.normal_(0.0, std)
            if layer.bias is not None:
                layer.bias.zero_()
        elif isinstance(layer, nn.LayerNorm):
            if layer.weight is not None:
                layer.weight.fill_(1.0)
            if layer.bias is not None:
                layer.bias.zero_()
    return module


class Pooler(nn.Module):
    """Linear on the [CLS] vector with no activation, initialised from BERT's pooler dense.

    An encoder without a pooler gives nothing to copy: the layer then gets ``init``.
    """

    def __init__(self, hidden: int, pretrained: nn.Linear | None = None, init: str = "bert",
                 std: float = DEFAULT_INITIALIZER_RANGE):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        if pretrained is not None:
            self.dense.load_state_dict(pretrained.state_dict())
        else:
            init_head_(self, init, std)

    def forward(self, cls: torch.Tensor) -> torch.Tensor:
        return self.dense(cls)


def _blocks(width: int, count: int, dropout: float, eps: float) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for _ in range(count):
        layers += [nn.Linear(width, width), nn.LayerNorm(width, eps=eps), nn.Dropout(dropout)]
    return layers


class Projection(nn.Sequential):
    """``p-1`` blocks of [Linear(h,h), LayerNorm, Dropout], then Linear(h,d), LayerNorm, Dropout.

    ``p = 0`` is the identity (then d must equal h). No activation, as in the authors' code.
    """

    def __init__(self, hidden: int, dim: int, layers: int, dropout: float = 0.1, eps: float = 1e-12,
                 init: str = "bert", std: float = DEFAULT_INITIALIZER_RANGE):
        if layers == 0:
            if dim != hidden:
                raise ValueError(f"proj_layers=0 keeps the hidden size {hidden}; embed_dim={dim} needs proj_layers >= 1")
            super().__init__()
            return
        super().__init__(*_blocks(hidden, layers - 1, dropout, eps),
                         nn.Linear(hidden, dim), nn.LayerNorm(dim, eps=eps), nn.Dropout(dropout))
        init_head_(self, init, std)


class Predictor(nn.Sequential):
    """``q-1`` blocks of [Linear(d,d), LayerNorm, Dropout], then Linear(d,d), Tanh; ``q = 0``: none."""

    def __init__(self, dim: int, layers: int, dropout: float = 0.1, eps: float = 1e-12,
                 init: str = "bert", std: float = DEFAULT_INITIALIZER_RANGE):
        if layers == 0:
            super().__init__()
            return
        super().__init__(*_blocks(dim, layers - 1, dropout, eps), nn.Linear(dim, dim), nn.Tanh())
        init_head_(self, init, std)


class MLPHead(nn.Sequential):
    """SimCSE's training head: Linear(h,h) then Tanh over [CLS]."""

    def __init__(self, hidden: int, init: str = "bert", std: float = DEFAULT_INITIALIZER_RANGE):
        super().__init__(nn.Linear(hidden, hidden), nn.Tanh())
        init_head_(self, init, std)
