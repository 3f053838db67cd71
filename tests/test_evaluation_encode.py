"""The fast encoder against naive one-sentence-at-a-time encoding and hand-computed poolers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mocose.config import ConfigError
from mocose.evaluation import SentenceEncoder

SENTENCES = ["a cat sat on the mat .", "dogs", "a cat sat on the mat .", "", "the quick brown fox jumps over "
             "the lazy dog again and again", "it 's fine", "dogs", "one two three four five six seven"]


@pytest.fixture(scope="module")
def tiny():
    from mocose.model.encoders import load

    return load("tiny-random-bert")


def naive(model, tokenizer, sentence, pooler):
    """One sentence, no padding, hand-written pooling."""
    x = tokenizer([sentence], return_tensors="pt")
    model.eval()
    with torch.no_grad():
        out = model(**x, output_hidden_states=True, return_dict=True)
    hs = out.hidden_states
    if pooler == "cls_before_pooler":
        return out.last_hidden_state[0, 0].numpy()
    if pooler == "cls":
        return out.pooler_output[0].numpy()
    if pooler == "avg":
        return hs[-1][0].mean(0).numpy()
    if pooler == "avg_first_last":
        return ((hs[1][0] + hs[-1][0]) / 2).mean(0).numpy()
    if pooler == "avg_top2":
        return ((hs[-1][0] + hs[-2][0]) / 2).mean(0).numpy()
    raise AssertionError(pooler)


@pytest.mark.parametrize("pooler", ["cls_before_pooler", "cls", "avg", "avg_first_last", "avg_top2"])
def test_batched_sorted_deduplicated_equals_naive(tiny, pooler):
    model, tokenizer = tiny
    enc = SentenceEncoder(model, tokenizer, pooler=pooler, batch_size=3)
    got = enc.encode(SENTENCES)
    assert got.dtype == np.float32 and got.shape == (len(SENTENCES), model.config.hidden_size)
    assert enc.cache_size == len(set(SENTENCES))
    want = np.stack([naive(model, tokenizer, s, pooler) for s in SENTENCES])
    np.testing.assert_allclose(got, want, atol=2e-5, rtol=1e-4)


def test_pooler_hand_computation_on_padded_batch(tiny):
    """avg over a padded batch counts real tokens only: check against explicit token sums."""
    model, tokenizer = tiny
    short, long = "short one", "a much longer sentence than the other one is"
    enc = SentenceEncoder(model, tokenizer, pooler="avg_first_last", batch_size=2)
    got = enc.encode([short, long])
    for i, s in enumerate([short, long]):
        ids = tokenizer([s], return_tensors="pt")
        with torch.no_grad():
            hs = model(**ids, output_hidden_states=True).hidden_states
        n = ids["input_ids"].shape[1]
        total = sum((hs[1][0, t] + hs[-1][0, t]) / 2 for t in range(n))
        np.testing.assert_allclose(got[i], (total / n).numpy(), atol=2e-5)


def test_restores_train_mode_and_is_deterministic(tiny):
    model, tokenizer = tiny
    enc = SentenceEncoder(model, tokenizer, pooler="cls_before_pooler")
    model.train()
    first = enc.encode(SENTENCES[:3])
    assert model.training
    enc.clear_cache()
    np.testing.assert_array_equal(first, enc.encode(SENTENCES[:3]))  # dropout was off
    model.eval()
    enc.encode(["new sentence"])
    assert not model.training


def test_cache_follows_weight_updates(tiny):
    model, tokenizer = tiny
    enc = SentenceEncoder(model, tokenizer, pooler="avg")
    before = enc.encode(["a cat"])
    state = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        with torch.no_grad():
            model.encoder.layer[-1].output.LayerNorm.bias.add_(1.0)  # an in-place update, like optimizer.step
        after = enc.encode(["a cat"])
        assert not np.allclose(before, after)
        np.testing.assert_allclose(after[0], naive(model, tokenizer, "a cat", "avg"), atol=2e-5)
    finally:
        model.load_state_dict(state)
    np.testing.assert_allclose(enc.encode(["a cat"]), before, atol=1e-6)


def test_bad_options(tiny):
    model, tokenizer = tiny
    with pytest.raises(ConfigError, match="cls_before_pooler, cls, avg"):
        SentenceEncoder(model, tokenizer, pooler="max")
    with pytest.raises(ConfigError, match="CUDA"):
        SentenceEncoder(model, tokenizer, half=True, device="cpu")


def test_long_inputs_truncate_at_model_maximum(tiny):
    model, tokenizer = tiny
    enc = SentenceEncoder(model, tokenizer, pooler="avg")
    assert enc.max_length == model.config.max_position_embeddings  # 64 for the tiny BERT
    assert enc.encode([" ".join(["word"] * 200)]).shape == (1, model.config.hidden_size)


def test_token_id_cache_is_per_tokenizer_definition(tiny):
    """Ids come back as a fresh tokenizer call gives them; a tokenizer that treats text otherwise
    (here: keeps case) has another fingerprint, so it never reads the first one's ids."""
    import copy

    from tokenizers import normalizers

    from mocose.evaluation import encode

    model, tokenizer = tiny
    texts = ["Hello World , it 's Fine", "dogs", "Hello World , it 's Fine", "a b c d e f g h i j k"]

    def direct(tok, max_length):
        return tok(texts, truncation=True, max_length=max_length)["input_ids"]

    cased = copy.deepcopy(tokenizer)
    cased.backend_tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False)
    left = copy.deepcopy(tokenizer)
    left.truncation_side = "left"  # a setting of the Python object, not of the backend
    same = copy.deepcopy(tokenizer)
    fp, fp_cased, fp_left = (encode.tokenizer_fingerprint(t) for t in (tokenizer, cased, left))
    assert fp == encode.tokenizer_fingerprint(same) and len({fp, fp_cased, fp_left}) == 3
    assert direct(tokenizer, 64) != direct(cased, 64)  # they really tokenize differently
    assert direct(tokenizer, 5) != direct(left, 5)
    encode._TOKEN_IDS.clear()
    for tok, key in ((tokenizer, fp), (cased, fp_cased), (left, fp_left), (same, fp)):
        for max_length in (64, 5):
            got = encode.token_ids(tok, texts, max_length, key)
            assert [list(g) for g in got] == direct(tok, max_length), (key, max_length)
    assert len(encode._TOKEN_IDS) <= encode.TOKEN_CACHE_TOKENIZERS
    with pytest.raises(ValueError):  # the cached ids are shared: read-only
        got[0][0] = 7
    # the encoder over warm ids gives the vectors it gave over fresh ones
    encode._TOKEN_IDS.clear()
    cold = SentenceEncoder(model, tokenizer).encode(SENTENCES)
    warm = SentenceEncoder(model, same).encode(SENTENCES)
    np.testing.assert_array_equal(cold, warm)
