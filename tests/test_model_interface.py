"""Both models implement ContrastiveModel: one training step through the interface alone, on a
tiny random BERT, checked against the hand formulas of what each method does."""
import math

import pytest
import torch

from mocose.model import encoders
from mocose.model.batch import Batch
from mocose.model.factory import build_model
from mocose.model.interface import ContrastiveModel
from mocose.model.passes import encoder_cls
from mocose.profiles import load_profile
from mocose.training.optimizer import build_optimizer
from mocose.training.step import TrainStep

SENTENCES = ["a cat sat on the mat", "dogs bark loudly at night", "the sun is hot", "rain falls"]


def make(method: str) -> tuple[ContrastiveModel, Batch]:
    torch.manual_seed(0)
    encoder, tokenizer = encoders.load("tiny-random-bert")
    config = load_profile("smoke").override({"method": method, "queue_size": 32, "queue_init_fraction": 0.25,
                                              "batch_size": 4, "ema_decay": 0.9, "ema_total_steps": 100})
    enc = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    return build_model(encoder, config, torch.Generator().manual_seed(0)).train(), \
        Batch(enc["input_ids"], enc["attention_mask"])


@pytest.mark.parametrize("method", ["mocose", "simcse"])
def test_one_step_through_the_interface(method):
    model, batch = make(method)
    assert isinstance(model, ContrastiveModel)
    before = {k: v.clone() for k, v in model.embedding_encoder().state_dict().items()}
    out = TrainStep(model, build_optimizer(model, model.config), model.config, 10, "cpu")(1, batch)
    assert math.isfinite(float(out.loss)) and out.keys.shape[0] == len(SENTENCES)
    after = model.embedding_encoder().state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the step trained the encoder
    if method == "mocose":
        # m_1 = 1 - (1 - eta) (cos(pi / S) + 1) / 2; the queue starts with round(K / 4) = 8 and gains 4
        assert out.ema_decay == pytest.approx(1 - 0.1 * (math.cos(math.pi / 100) + 1) / 2, abs=1e-12)
        assert out.num_negatives == 8 and model.queue_length() == 12
        assert model.queued_negatives().shape == (12, out.keys.shape[1])
    else:
        assert math.isnan(out.ema_decay) and out.num_negatives == 0 and model.queue_length() == 0
        assert model.queued_negatives() is None


@pytest.mark.parametrize("method", ["mocose", "simcse"])
def test_checkpoint_state_saves_each_tensor_once_and_loads_back(method):
    model, batch = make(method)
    model(batch)  # move the queue (MoCoSE): its entries and pointers are not a fresh model's
    state = model.checkpoint_state()
    full = model.state_dict()
    pointers = [v.data_ptr() for v in state.values() if torch.is_tensor(v) and v.numel()]
    assert len(pointers) == len(set(pointers))  # no tensor twice
    left_out = set(full) - set(state)
    if method == "mocose":  # the target's embedding layer is the online one
        assert left_out and all(k.startswith("target_encoder.embeddings.") for k in left_out)
        assert all(full[k].data_ptr() == full["encoder." + k[len("target_encoder."):]].data_ptr() for k in left_out)
    else:
        assert not left_out
    fresh, _ = make(method)
    fresh.load_checkpoint_state(state)
    loaded = fresh.state_dict()
    assert all(torch.equal(v, loaded[k]) if torch.is_tensor(v) else v == loaded[k] for k, v in full.items())
    if method == "mocose":
        assert fresh.queue_length() == model.queue_length()
    with pytest.raises(RuntimeError, match="does not fit"):
        fresh.load_checkpoint_state({k: v for k, v in state.items() if not k.startswith("encoder.")})


def test_heads_and_compile_switch():
    mocose, _ = make("mocose")
    simcse, _ = make("simcse")
    assert {k.split(".")[0] for k in mocose.heads_state()} == {"pooler", "projection", "predictor"}
    assert {k.split(".")[0] for k in simcse.heads_state()} == {"mlp"}
    names = list(simcse.state_dict())
    assert simcse.run_cls is encoder_cls
    simcse.compile_encoder_passes()  # compiles lazily, at the first step
    assert simcse.run_cls is not encoder_cls and list(simcse.state_dict()) == names


def test_a_model_without_a_forward_cannot_be_built():
    class Incomplete(ContrastiveModel):
        def embedding_encoder(self):
            return torch.nn.Identity()

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()
