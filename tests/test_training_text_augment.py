"""Text-level augmentations: offline typos, and the clear refusal when a model is missing."""
from __future__ import annotations

import random

import pytest

from mocose.model.encoders import EncoderUnavailable
from mocose.training.text_augment import (KEYBOARD, MODELS, KeyboardTypos, TextAugmentUnavailable,
                                 build_text_augmenter, check_text_augment_available,
                                 missing_models)

SENTENCES = [
    "A man is playing a guitar on the street.",
    "The quick brown fox jumps over the lazy dog.",
    "Two dogs run through a field.",
    "It is.",
    "Wikipedia is a free online encyclopedia written collaboratively by volunteers.",
]


def edits(a: str, b: str) -> list[int]:
    return [i for i, (x, y) in enumerate(zip(a, b)) if x != y]


def test_typos_change_every_sentence_and_keep_its_length():
    aug = build_text_augmenter("typos", seed=1)
    out = aug(SENTENCES)
    assert len(out) == len(SENTENCES)
    for before, after in zip(SENTENCES, out):
        assert after and after != before
        assert len(after) == len(before)          # substitutions and swaps only
        assert after.split() and len(after.split()) == len(before.split())


def test_typos_edits_are_keyboard_neighbours_or_adjacent_swaps():
    kinds = {"swap": 0, "key": 0}
    for seed in range(10):
        aug = KeyboardTypos(seed=seed)
        for src in SENTENCES:
            out = aug.augment(src)
            diff = edits(src, out)
            i = 0
            while i < len(diff):
                p = diff[i]
                if (i + 1 < len(diff) and diff[i + 1] == p + 1
                        and src[p] == out[p + 1] and src[p + 1] == out[p]):
                    kinds["swap"] += 1                            # two neighbouring letters swapped
                    i += 2
                    continue
                assert out[p].lower() in KEYBOARD[src[p].lower()]  # a neighbouring key
                assert out[p].isupper() == src[p].isupper()
                kinds["key"] += 1
                i += 1
    assert kinds["swap"] > 0 and kinds["key"] > 0


def test_keyboard_neighbours_by_hand():
    assert sorted(KEYBOARD["g"]) == sorted("fhtyvb")
    assert sorted(KEYBOARD["q"]) == sorted("w12a")
    assert sorted(KEYBOARD["m"]) == sorted("njk")


def test_typos_are_deterministic_under_a_seed_and_differ_across_seeds():
    a = build_text_augmenter("typos", seed=7)(SENTENCES)
    b = build_text_augmenter("typos", seed=7)(SENTENCES)
    c = build_text_augmenter("typos", seed=8)(SENTENCES)
    assert a == b
    assert a != c
    # a sentence's typos do not depend on the rest of the batch
    assert build_text_augmenter("typos", seed=7)(SENTENCES[2:3]) == a[2:3]


def test_typos_edit_about_30_percent_of_long_words():
    # nlpaug's defaults: 30% of the words of >= 4 letters, at least 1, at most 10, one edit each
    words = [f"w{c}ord{c}" for c in "abcdefghijklmnopqrst"]  # 20 words with distinct letters
    sentence = " ".join(words)
    out = KeyboardTypos(seed=0).augment(sentence)
    changed = sum(a != b for a, b in zip(sentence.split(), out.split()))
    assert changed == 6


def test_typos_leave_letterless_text_alone_and_empty_input_empty():
    aug = build_text_augmenter("typos", seed=0)
    assert aug(["", "... !!! ,,,"]) == ["", "... !!! ,,,"]
    assert aug([]) == []


def test_none_builds_nothing_and_unknown_names_are_refused():
    assert build_text_augmenter("none", seed=0) is None
    with pytest.raises(ValueError, match="text_augment must be one of"):
        check_text_augment_available("word_salad")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_based_augmentations_refuse_clearly_when_the_model_is_missing(name, tmp_path):
    with pytest.raises(TextAugmentUnavailable) as err:
        check_text_augment_available(name, cache_dir=tmp_path)
    message = str(err.value)
    for model in MODELS[name]:
        assert model in message
        assert f"hf download {model}" in message
    assert "will not fall back" in message
    assert isinstance(err.value, EncoderUnavailable)
    with pytest.raises(TextAugmentUnavailable):
        build_text_augmenter(name, seed=0, cache_dir=tmp_path)


def _fake_cache(root, model: str, files: list[str]) -> None:
    """The hub cache layout try_to_load_from_cache reads: refs/main -> snapshots/<commit>/file."""
    repo = root / ("models--" + model.replace("/", "--"))
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    for f in files:
        (snap / f).write_text("{}")


def test_model_check_reads_the_hub_cache(tmp_path):
    assert missing_models("synonym", tmp_path) == ["roberta-base"]
    _fake_cache(tmp_path, "roberta-base", ["config.json", "vocab.json"])   # no weights yet
    assert missing_models("synonym", tmp_path) == ["roberta-base"]
    (next((tmp_path / "models--roberta-base" / "snapshots").iterdir()) / "model.safetensors").write_text("x")
    assert missing_models("synonym", tmp_path) == []
    _fake_cache(tmp_path, "facebook/wmt19-en-de", ["config.json", "pytorch_model.bin", "vocab-src.json"])
    assert missing_models("back_translation", tmp_path) == ["facebook/wmt19-de-en"]


def test_missing_nlpaug_is_named_with_the_pip_extra(tmp_path, monkeypatch):
    import mocose.training.text_augment as ta

    monkeypatch.setattr(ta, "nlpaug_installed", lambda: False)
    with pytest.raises(TextAugmentUnavailable, match=r"nlpaug.*text-aug"):
        check_text_augment_available("spelling", cache_dir=tmp_path)


class _GlobalRandomAugmenter:
    """Stands in for an nlpaug augmenter: draws from the global random, numpy and torch states."""

    def __init__(self, drop_one: bool = False) -> None:
        self.drop_one = drop_one

    def augment(self, texts: list[str]) -> list[str]:
        import numpy as np
        import torch

        out = [f"{t} {random.random():.6f} {np.random.rand():.6f} {float(torch.rand(1)):.6f}"
               for t in texts]
        return out[:-1] if self.drop_one else out


def test_nlpaug_wrapper_runs_on_its_own_seeded_randomness():
    import numpy as np
    import torch

    from mocose.training.text_augment import NlpaugAugmenter

    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    saved = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())
    a = NlpaugAugmenter("fake", _GlobalRandomAugmenter(), seed=1)
    b = NlpaugAugmenter("fake", _GlobalRandomAugmenter(), seed=1)
    first = a(SENTENCES[:2])
    assert first == b(SENTENCES[:2])                  # same seed, same output
    assert a(SENTENCES[:2]) != first                  # its stream advances between calls
    assert NlpaugAugmenter("fake", _GlobalRandomAugmenter(), seed=2)(SENTENCES[:2]) != first
    assert random.getstate() == saved[0]              # training's generators untouched
    assert (np.random.get_state()[1] == saved[1]).all()
    assert torch.equal(torch.get_rng_state(), saved[2])
    with pytest.raises(RuntimeError, match="returned 1 sentences for 2"):
        NlpaugAugmenter("fake", _GlobalRandomAugmenter(drop_one=True), seed=1)(SENTENCES[:2])
