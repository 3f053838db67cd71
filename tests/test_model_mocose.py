"""MoCoSE's structure and gradient paths on a tiny random BERT."""
import pytest
import torch

from mocose.model import encoders
from mocose.model.batch import Batch
from mocose.model.mocose import MoCoSE
from mocose.model.simcse import SimCSE
from mocose.profiles import load_profile


def make(**overrides):
    torch.manual_seed(0)
    encoder, tokenizer = encoders.load("tiny-random-bert")
    config = load_profile("smoke").override({"queue_size": 32, **overrides})
    cls = SimCSE if config.model.method == "simcse" else MoCoSE
    model = cls(encoder, config, torch.Generator().manual_seed(0)) if cls is MoCoSE else cls(encoder, config)
    enc = tokenizer(["a cat sat on the mat", "dogs bark loudly at night", "the sun is hot", "rain falls"],
                    padding=True, return_tensors="pt")
    return model.train(), Batch(enc["input_ids"], enc["attention_mask"])


def test_target_shares_embedding_layer_by_default():
    model, _ = make()
    emb = model.encoder.get_input_embeddings().weight
    assert model.target_encoder.get_input_embeddings().weight is emb
    own, _ = make(ema_embeddings=True)
    assert own.target_encoder.get_input_embeddings().weight.data_ptr() != own.encoder.get_input_embeddings().weight.data_ptr()


def test_averaged_weights_frozen_target_projection_trainable():
    model, _ = make()
    assert not any(p.requires_grad for p in model.target_encoder.encoder.parameters())
    assert not any(p.requires_grad for p in model.target_pooler.parameters())
    assert all(p.requires_grad for p in model.target_projection.parameters())
    assert all(p.requires_grad for p in model.encoder.embeddings.parameters())


def _embedding_grad_from_keys_only(model, batch):
    """Backward through the keys alone (queries cut from the graph)."""
    model.predictor.register_forward_hook(lambda m, i, o: o.detach())
    out = model(batch)
    out.loss.backward()
    return model.encoder.get_input_embeddings().weight.grad, model.target_projection[0].weight.grad


def test_key_gradient_reaches_shared_embeddings_through_target():
    model, batch = make(key_gradient=True)
    emb_grad, proj_grad = _embedding_grad_from_keys_only(model, batch)
    assert emb_grad is not None and emb_grad.abs().sum() > 0
    assert proj_grad is not None and proj_grad.abs().sum() > 0


def test_stop_gradient_keys_carry_none():
    model, batch = make(key_gradient=False)
    out = model(batch)
    assert not out.keys.requires_grad
    out.loss.backward()
    assert model.target_projection[0].weight.grad is None
    cut, _ = make(key_gradient=False)
    cut.predictor.register_forward_hook(lambda m, i, o: o.detach())
    assert not cut(batch).loss.requires_grad  # with the queries cut nothing is left to train


def test_forward_enqueues_keys_and_uses_queue():
    model, batch = make(queue_init_fraction=0.0)
    first = model(batch)
    assert first.num_negatives == 0 and model.queue.length == 4
    second = model(batch)
    assert second.num_negatives == 4
    assert torch.allclose(model.queue.newest_first()[:4].flip(0), second.keys)
    second.loss.backward()  # enqueueing after the loss leaves the graph intact


def test_ema_zero_makes_target_a_copy():
    model, _ = make(ema_decay=0.0)
    with torch.no_grad():
        model.encoder.encoder.layer[0].output.dense.weight.add_(1.0)
    assert model.update_target(0, 100) == 0.0
    assert torch.equal(model.target_encoder.encoder.layer[0].output.dense.weight,
                       model.encoder.encoder.layer[0].output.dense.weight)


def test_no_predictor_and_embed_dim():
    model, batch = make(pred_layers=0, embed_dim=24)
    out = model(batch)
    assert out.keys.shape == (4, 24) and len(model.predictor) == 0
    with pytest.raises(ValueError, match="embed_dim"):
        make(proj_layers=0, embed_dim=24)


def test_simcse_two_views_differ_by_dropout():
    model, batch = make(method="simcse")
    out = model(batch)
    assert out.loss.item() > 0 and out.num_negatives == 0


def test_given_head_weights_load_into_both_branches():
    model, batch = make()
    heads = {f"{h}.{k}": torch.full_like(v, 0.5 + i) for i, h in enumerate(MoCoSE.HEADS)
             for k, v in getattr(model, h).state_dict().items()}
    model.load_heads(heads)
    assert torch.equal(model.projection[0].weight, torch.full_like(model.projection[0].weight, 1.5))
    assert torch.equal(model.predictor[0].bias, torch.full_like(model.predictor[0].bias, 2.5))
    for online, target in ((model.pooler, model.target_pooler), (model.projection, model.target_projection)):
        for (n, a), (_, b) in zip(online.state_dict().items(), target.state_dict().items()):
            assert torch.equal(a, b), n
    assert model.projection[0].weight.requires_grad  # still the model's parameters, trained


def test_head_weights_that_do_not_fit_are_refused():
    model, _ = make()
    heads = {f"{h}.{k}": v.clone() for h in MoCoSE.HEADS for k, v in getattr(model, h).state_dict().items()}
    with pytest.raises(ValueError, match=r"missing \['pooler.dense.bias'\], unknown \['pooler.extra'\]"):
        model.load_heads({**{k: v for k, v in heads.items() if k != "pooler.dense.bias"}, "pooler.extra": 0})
    heads["projection.0.weight"] = heads["projection.0.weight"][:1]
    with pytest.raises(ValueError, match="head weight projection.0.weight: shape"):
        model.load_heads(heads)
