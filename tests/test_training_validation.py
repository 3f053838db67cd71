"""Validation during training, read and tokenized once per run, against the suite's evaluation
of the same model (the path that matches SentEval): the same scores to 1e-4."""
import pytest
import torch
import torch.nn.functional as F

from mocose import evaluation
from mocose.data import resolve_data_dir
from mocose.model import encoders
from mocose.model.eval_augment import evaluation_augmentation
from mocose.model.factory import build_model
from mocose.profiles import load_profile
from mocose.training.validation import ValidationSet, validate

SAMPLE = ["a man is playing a guitar.", "the cat sat on the mat.", "a man is playing a guitar.",
          "stocks fell sharply on monday."] * 8


def reference(encoder, tokenizer, augment, seed: int = 42) -> dict:
    """What validation computed through the cached SentenceEncoder: dev, alignment/uniformity, spread."""
    data = resolve_data_dir(None)
    enc = evaluation.SentenceEncoder(encoder, tokenizer, pooler="cls_before_pooler", batch_size=128)
    with evaluation_augmentation(encoder, augment, seed):
        dev = evaluation.stsb_dev_spearman(enc, data)
        diag = evaluation.alignment_uniformity(enc, data, splits=("dev",))
        emb = F.normalize(torch.as_tensor(enc.encode(SAMPLE)), dim=-1)
    return {"dev_spearman": dev, "alignment": diag["alignment"], "uniformity": diag["uniformity"],
            "embedding_std": float(emb.std(dim=0).mean())}


def prepared_scores(encoder, tokenizer, augment, seed: int = 42) -> dict:
    prepared = ValidationSet(encoder, tokenizer, resolve_data_dir(None), SAMPLE, "cpu", 128)
    with evaluation_augmentation(encoder, augment, seed):
        return prepared.scores(prepared.encode(encoder))


@pytest.mark.parametrize("augment", [{}, {"token_cutoff": 0.1, "augment_at_eval": True}])
def test_prepared_validation_gives_the_encoders_scores(augment):
    config = load_profile("smoke").override(augment)
    torch.manual_seed(0)
    encoder, tokenizer = encoders.load("tiny-random-bert")
    want, got = reference(encoder, tokenizer, config.augment), prepared_scores(encoder, tokenizer, config.augment)
    assert set(got) == set(want)
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-4), key
    assert abs(want["dev_spearman"]) > 0.5  # a real score, not a degenerate 0


def test_validate_builds_and_reuses_a_prepared_set():
    config = load_profile("smoke")
    torch.manual_seed(0)
    encoder, tokenizer = encoders.load("tiny-random-bert")
    model = build_model(encoder, config, torch.Generator().manual_seed(0))
    data = resolve_data_dir(None)
    fresh = validate(model, tokenizer, config, SAMPLE, data, "cpu", None)
    prepared = ValidationSet(encoder, tokenizer, data, SAMPLE, "cpu", 128)
    again = validate(model, tokenizer, config, SAMPLE, data, "cpu", None, prepared)
    assert fresh == again
    assert fresh["score"] == fresh["dev_spearman"] and fresh["collapsed"] is False


@pytest.mark.slow
def test_prepared_validation_on_minilm_equals_the_evaluation():
    encoder, tokenizer = encoders.load("all-MiniLM-L6-v2")
    augment = load_profile("cpu").augment
    want, got = reference(encoder, tokenizer, augment), prepared_scores(encoder, tokenizer, augment)
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-4), key
