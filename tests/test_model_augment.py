"""Embedding-level augmentations: each semantic of docs/model.md's Augmentations against hand-worked truth."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mocose.model.augment import (EmbeddingAugmenter, cut_count, feature_cutoff, shuffle_positions,
                            token_cutoff)
from mocose.config import AugmentConfig


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def nonzero_embeds(b: int, length: int, h: int, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    """Entries bounded away from zero, so any zero in an output was put there by a cutoff."""
    g = gen(seed)
    return (torch.rand(b, length, h, generator=g, dtype=dtype) + 0.5) * torch.where(
        torch.rand(b, length, h, generator=g) < 0.5, -1.0, 1.0).to(dtype)


# -- counts ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prob,n,expected", [
    (0.1, 32, 3),      # 3.2
    (0.01, 768, 8),    # 7.68 (authors' max(1, int()) gives 7)
    (0.1, 768, 77),    # 76.8 (authors: 76)
    (0.25, 10, 3),     # 2.5: halves round up
    (0.05, 8, 0),      # 0.4
    (0.0, 32, 0),
])
def test_cut_count_is_round_half_up(prob, n, expected):
    assert cut_count(prob, n) == expected


# -- position shuffle --------------------------------------------------------------------------------
def test_position_shuffle_permutes_each_row_independently():
    b, length = 64, 12
    out = shuffle_positions(None, b, length, torch.device("cpu"), gen(1))
    assert out.shape == (b, length)
    assert torch.equal(out.sort(dim=1).values, torch.arange(length).expand(b, length))
    # independent draws: 64 rows of 12! permutations are essentially never all equal, and the
    # number of distinct rows is (with overwhelming probability) the number of rows
    assert len({tuple(r.tolist()) for r in out}) == b
    assert not torch.equal(out, torch.arange(length).expand(b, length))


def test_position_shuffle_keeps_each_rows_own_multiset():
    b, length = 5, 7
    ids = torch.arange(length)[None] + 100 * torch.arange(b)[:, None]  # each row its own ids
    out = shuffle_positions(ids, b, length, torch.device("cpu"), gen(2))
    for row_in, row_out in zip(ids, out):
        assert sorted(row_in.tolist()) == sorted(row_out.tolist())


def test_position_shuffle_broadcasts_the_hf_buffer_and_can_share_one_permutation():
    b, length = 6, 10
    buffer = torch.arange(length)[None]  # [1, L], as BertEmbeddings.position_ids
    out = shuffle_positions(buffer, b, length, torch.device("cpu"), gen(3), shared=True)
    assert all(torch.equal(out[0], r) for r in out)  # the authors' one permutation per batch
    assert not torch.equal(out[0], torch.arange(length))


def test_position_shuffle_through_the_augmenter_leaves_embeddings_alone():
    aug = EmbeddingAugmenter(AugmentConfig(position_shuffle=True))
    x = nonzero_embeds(4, 9, 3)
    y, pos = aug(x, None, None, branch="online", generator=gen(4))
    assert torch.equal(y, x)
    assert torch.equal(pos.sort(dim=1).values, torch.arange(9).expand(4, 9))


# -- token cutoff --------------------------------------------------------------------------------------
@pytest.mark.parametrize("length,prob,k", [(32, 0.1, 3), (10, 0.25, 3), (20, 0.5, 10)])
def test_token_cutoff_zeroes_exactly_round_p_l_whole_positions(length, prob, k):
    x = nonzero_embeds(16, length, 5)
    y = token_cutoff(x, prob, gen(5))
    zero_pos = (y == 0).all(dim=2)                 # whole embedding zero
    assert ((y == 0).any(dim=2) == zero_pos).all()  # no position partly zeroed
    assert (zero_pos.sum(dim=1) == k).all()
    assert torch.equal(y[~zero_pos], x[~zero_pos])  # the rest untouched
    assert len({tuple(r.nonzero().flatten().tolist()) for r in zero_pos}) > 1  # rows differ


def test_token_cutoff_draws_positions_uniformly():
    # each of L=10 positions is cut in k/L = 30% of 4000 rows (binomial sd ~0.7 points)
    y = token_cutoff(torch.ones(4000, 10, 1), 0.3, gen(6))
    freq = (y[:, :, 0] == 0).float().mean(dim=0)
    assert torch.allclose(freq, torch.full((10,), 0.3), atol=0.035)


# -- feature cutoff ------------------------------------------------------------------------------------
def test_feature_cutoff_zeroes_same_dimensions_at_every_position():
    b, length, h = 8, 6, 100
    x = nonzero_embeds(b, length, h)
    y = feature_cutoff(x, 0.1, gen(7))
    zero = y == 0
    dims = zero[:, 0, :]                                      # [b, h] dimensions cut per sentence
    assert (zero == dims[:, None, :]).all()                   # same at every position
    assert (dims.sum(dim=1) == 10).all()
    assert torch.equal(y[~zero], x[~zero])
    assert len({tuple(r.nonzero().flatten().tolist()) for r in dims}) == b  # own draw per sentence


# -- FGSM ----------------------------------------------------------------------------------------------
def fgsm(eps: float = 0.25, **kw) -> EmbeddingAugmenter:
    return EmbeddingAugmenter(AugmentConfig(fgsm_epsilon=eps, **kw))


def leaf(shape=(2, 3, 4), seed=0) -> torch.Tensor:
    # dyadic values and eps 0.25 in float64: x + eps*sign is exact, so equality is exact
    g = gen(seed)
    return (torch.randint(-8, 8, shape, generator=g).double() / 4).requires_grad_()


def weights(shape=(2, 3, 4), seed=10) -> torch.Tensor:
    """d loss / d embeds for loss = (embeds * w).sum(): w itself, with some exact zeros."""
    return torch.randint(-2, 3, shape, generator=gen(seed)).double()


def test_fgsm_first_step_adds_nothing_then_moves_by_eps_sign_of_previous_gradient():
    aug = fgsm(0.25)
    w = weights()
    x1 = leaf(seed=1)
    y1, _ = aug(x1, None, branch="online")
    assert torch.equal(y1, x1)                             # nothing on the first step
    (y1 * w).sum().backward()
    x2 = leaf(seed=2)
    y2, _ = aug(x2, None, branch="online")
    assert torch.equal(y2, x2 + 0.25 * torch.sign(w))      # by hand: grad of (x*w).sum() is w
    assert (y2 == x2)[w == 0].all()                        # zero gradient: no move


def test_fgsm_uses_the_latest_backward_only():
    aug = fgsm(0.25)
    w1, w2 = weights(seed=11), weights(seed=12)
    y, _ = aug(leaf(seed=1), None, branch="online")
    (y * w1).sum().backward()
    y, _ = aug(leaf(seed=2), None, branch="online")
    (y * w2).sum().backward()
    x3 = leaf(seed=3)
    y3, _ = aug(x3, None, branch="online")
    assert torch.equal(y3, x3 + 0.25 * torch.sign(w2))
    # a forward whose backward never comes leaves nothing for the next step
    x4 = leaf(seed=4)
    y4, _ = aug(x4, None, branch="online")
    x5 = leaf(seed=5)
    y5, _ = aug(x5, None, branch="online")
    assert torch.equal(y5, x5)


def test_fgsm_adds_nothing_when_the_shape_changed():
    aug = fgsm(0.25)
    y, _ = aug(leaf((2, 3, 4)), None, branch="online")
    (y * weights((2, 3, 4))).sum().backward()
    x = leaf((2, 5, 4))
    y2, _ = aug(x, None, branch="online")
    assert torch.equal(y2, x)
    assert aug.stats()["fgsm_skipped_steps_online"] == 2


def test_fgsm_keeps_each_branchs_gradient_even_through_a_shared_tensor():
    aug = fgsm(0.25)
    w_on, w_tg = weights(seed=21), weights(seed=22)
    shared = leaf(seed=1)
    on, _ = aug(shared, None, branch="online")
    tg, _ = aug(shared, None, branch="target")
    ((on * w_on).sum() + (tg * w_tg).sum()).backward()
    x = leaf(seed=2)
    on2, _ = aug(x, None, branch="online")
    tg2, _ = aug(x, None, branch="target")
    assert torch.equal(on2, x + 0.25 * torch.sign(w_on))
    assert torch.equal(tg2, x + 0.25 * torch.sign(w_tg))


def test_fgsm_target_gets_nothing_when_no_key_gradient_flows():
    aug = fgsm(0.25)
    y_on, _ = aug(leaf(seed=1), None, branch="online")
    y_tg, _ = aug(leaf(seed=2), None, branch="target")
    (y_on * weights()).sum().backward()                    # keys detached: target never reached
    assert y_tg.requires_grad
    x = leaf(seed=3)
    tg2, _ = aug(x, None, branch="target")
    assert torch.equal(tg2, x)
    with torch.no_grad():                                  # a target run under no_grad: no step
        x_ng = leaf(seed=4).detach()
        tg3, _ = aug(x_ng, None, branch="target")
    assert torch.equal(tg3, x_ng)


def test_fgsm_no_grad_forward_adds_nothing_and_keeps_the_stored_sign():
    aug = fgsm(0.25)
    w = weights()
    y, _ = aug(leaf(seed=1), None, branch="online")
    (y * w).sum().backward()
    with torch.no_grad():
        x_eval = leaf(seed=2).detach()
        y_eval, _ = aug(x_eval, None, branch="online")
    assert torch.equal(y_eval, x_eval)
    x = leaf(seed=3)
    y3, _ = aug(x, None, branch="online")
    assert torch.equal(y3, x + 0.25 * torch.sign(w))


def test_augment_online_only_passes_the_target_through_untouched():
    cfg = dict(token_cutoff=0.5, feature_cutoff=0.5, position_shuffle=True, augment_online_only=True)
    aug = fgsm(0.25, **cfg)
    x = nonzero_embeds(3, 4, 6)
    pos = torch.arange(4)[None]
    y, p = aug(x, pos, None, branch="target", generator=gen(0))
    assert y is x and p is pos
    y_on, p_on = aug(x, pos, None, branch="online", generator=gen(0))
    assert (y_on == 0).any() and p_on.shape == (3, 4)
    assert aug.active


def test_fgsm_changed_fraction_counts_entries_fp32_could_not_move():
    # fp32 spacing at 0.5 is 6e-8, so +-5e-9 rounds back to 0.5; at 0.01 the spacing is 9e-10,
    # so the step lands on another float. Half the entries of each kind: changed fraction 1/2.
    eps = 5e-9
    aug = fgsm(eps)
    base = torch.full((4, 6, 8), 0.01)
    base[:, :, :4] = 0.5
    w = torch.where(torch.arange(8) % 3 == 0, -1.0, 1.0).expand(4, 6, 8)  # no zero gradient
    y, _ = aug(base.clone().requires_grad_(), None, branch="online")
    (y * w).sum().backward()
    x = base.clone().requires_grad_()
    y2, _ = aug(x, None, branch="online")
    ref = (x.detach().numpy() + np.float32(eps) * np.sign(w.numpy()).astype(np.float32))
    expected = float(np.mean(ref != x.detach().numpy()))  # numpy's float32 arithmetic, independent
    assert expected == 0.5
    s = aug.stats()
    assert s["fgsm_changed_fraction"] == pytest.approx(expected)
    assert s["fgsm_attempted_fraction"] == 1.0
    assert s["fgsm_applied_steps"] == 1
    assert torch.equal((y2 != x).detach(), torch.from_numpy(ref != x.detach().numpy()))


def test_fgsm_state_survives_a_checkpoint():
    aug = fgsm(0.25)
    w = weights()
    y, _ = aug(leaf(seed=1), None, branch="online")
    (y * w).sum().backward()
    state = aug.state_dict()
    resumed = fgsm(0.25)
    resumed.load_state_dict(state)
    x = leaf(seed=2)
    y2, _ = resumed(x, None, branch="online")
    assert torch.equal(y2, x + 0.25 * torch.sign(w))


def test_order_is_fgsm_then_token_then_feature_cutoff():
    # with cutoff after FGSM, cut entries are exactly 0 (FGSM after would leave +-eps there)
    aug = fgsm(0.25, token_cutoff=0.25, feature_cutoff=0.25)
    shape = (3, 8, 8)
    y, _ = aug(leaf(shape, seed=1), None, branch="online", generator=gen(1))
    w = torch.where(torch.rand(shape, generator=gen(9)) < 0.5, -1.0, 1.0).double()
    (y * w).sum().backward()
    x = leaf(shape, seed=2)
    y2, _ = aug(x, None, branch="online", generator=gen(2))
    # the gradient is taken before the cutoffs (the hook sits on the word-embedding output), so
    # the first step's cut entries got zero gradient: the sign is sign(w) times the first masks
    g1 = gen(1)
    kept = feature_cutoff(token_cutoff(torch.ones(shape, dtype=torch.float64), 0.25, g1), 0.25, g1)
    g = gen(2)  # the same draws in the same order, applied by hand
    expected = feature_cutoff(token_cutoff(x + 0.25 * torch.sign(w) * kept, 0.25, g), 0.25, g)
    assert torch.equal(y2, expected)
    assert ((y2 == 0).all(dim=2).sum(dim=1) == 2).all()


def test_each_branch_draws_its_own_randomness():
    aug = EmbeddingAugmenter(AugmentConfig(token_cutoff=0.25))
    x = nonzero_embeds(8, 16, 2)
    g = gen(3)
    on, _ = aug(x, None, branch="online", generator=g)
    tg, _ = aug(x, None, branch="target", generator=g)
    assert not torch.equal(on == 0, tg == 0)
    again, _ = aug(x, None, branch="online", generator=gen(3))
    assert torch.equal(on, again)  # deterministic under a seed


def test_inactive_config_is_identity_and_bad_branch_is_refused():
    aug = EmbeddingAugmenter(AugmentConfig())
    assert not aug.active
    x = nonzero_embeds(2, 3, 4)
    y, p = aug(x, None, branch="online")
    assert y is x and p is None
    with pytest.raises(ValueError, match="branch"):
        aug(x, None, branch="key")


def test_fgsm_through_a_real_bert_embedding_layer_reaches_only_real_tokens():
    """Hook on the word-embedding output of a tiny BERT: padding gets zero gradient, so next step
    FGSM moves exactly the non-padding entries (attempted fraction = real-token fraction)."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=16, hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0)
    model = BertModel(cfg)
    ids = torch.randint(1, 50, (3, 8))
    mask = torch.ones(3, 8, dtype=torch.long)
    mask[0, 5:] = 0
    mask[1, 3:] = 0
    aug = EmbeddingAugmenter(AugmentConfig(fgsm_epsilon=1e-3, position_shuffle=True))

    def step() -> torch.Tensor:
        emb, pos = aug(model.embeddings.word_embeddings(ids), None, mask, branch="online",
                       generator=gen(0))
        out = model(inputs_embeds=emb, position_ids=pos, attention_mask=mask).last_hidden_state
        loss = out[:, 0].pow(2).sum()
        loss.backward()
        return emb

    step()
    sign = aug._sign["online"]
    assert sign is not None and sign.shape == (3, 8, 16)
    real = mask.bool()[:, :, None].expand_as(sign)
    assert (sign[~real] == 0).all() and (sign[real] != 0).all()
    step()
    s = aug.stats()
    assert s["fgsm_applied_steps"] == 1
    assert s["fgsm_attempted_fraction"] == pytest.approx(mask.float().mean().item())
