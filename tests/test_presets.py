"""The authors' code's habits as config fields and ``--preset authors``: each habit acting."""
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import ablations
from mocose import evaluation
from mocose.model import encoders
from mocose.training import validation as validation_mod
from mocose.model.augment import EmbeddingAugmenter
from mocose.config import AugmentConfig, Config, ConfigError, QueueConfig
from mocose.evaluation import SentenceEncoder
from mocose.evaluation.trained import evaluate_checkpoint
from mocose.model.eval_augment import evaluation_augmentation
from mocose.model.mocose import MoCoSE
from mocose.presets import HABITS, apply_preset, preset_configs, preset_name, preset_values
from mocose.profiles import load_profile
from mocose.training.batches import Batches, total_steps
from mocose.training.commands import resolve_config
from mocose.training.loop import train

SMALL = {"train_sentences": 44, "batch_size": 8, "eval_steps": 5, "queue_size": 16}


# -- the preset as data ------------------------------------------------------------------------
def test_names_clean_authors_and_custom():
    clean = load_profile("smoke")
    assert preset_name(clean) == "clean"
    authors = apply_preset(clean, "authors")
    assert preset_name(authors) == "authors"
    assert authors.queue.queue_compat == "authors" and authors.queue.queue_init_fraction == 0.25
    assert authors.train.selection == "sts_test_avg" and authors.train.drop_last
    assert authors.augment.augment_at_eval and authors.augment.shuffle_per_batch
    assert authors.augment.fgsm_shared_sign and authors.model.head_init == "bert"
    assert preset_name(clean.override({"drop_last": True})) == "custom: drop_last=True"
    assert preset_name(authors.override({"head_init": "pytorch"})).startswith("custom: augment_at_eval=True")
    assert apply_preset(authors, "clean").flat() == clean.flat()
    with pytest.raises(ConfigError, match="preset"):
        preset_values("paper")


def test_cli_resolution_puts_sets_over_the_preset():
    config = resolve_config("smoke", None, ["drop_last=false"], "authors")
    assert config.augment.augment_at_eval and not config.train.drop_last
    assert preset_name(config) == "custom: augment_at_eval=True, shuffle_per_batch=True, " \
        "selection=sts_test_avg, queue_compat=authors, fgsm_shared_sign=True"


def test_every_registry_run_takes_the_preset_under_its_own_study_fields():
    for art in ablations.all_artifacts():
        for cell, config in preset_configs(art, "cpu", 1, "authors"):
            for field, value in {**art.base, **cell.overrides}.items():  # the study's own fields win
                assert config.get(field) == value, (art.name, cell.label, field)
            if config.queue.queue_slice != "all":  # Table 8's age slices need the suite's queue
                assert config.queue.queue_compat == "suite" and config.queue.queue_init_fraction == QueueConfig.queue_init_fraction
                assert preset_name(config).startswith("custom: augment_at_eval=True")
            else:
                assert preset_name(config) == "authors", (art.name, cell.label)
    table7 = dict((c.label, cfg) for c, cfg in preset_configs(ablations.get("table7"), "cpu", 1, "authors"))
    assert table7["K 512, begin 1"].queue.init_size == 1  # Table 7's own start size wins
    assert table7["K 512, begin 1"].queue.queue_compat == "authors"
    same = preset_configs(ablations.get("table7"), "cpu", 1, "clean")
    assert [c.digest() for _, c in same] == [c.digest() for _, c in ablations.get("table7").configs("cpu", 1)]


# -- one permutation per batch -------------------------------------------------------------------
def test_shuffle_per_batch_gives_every_row_the_same_permutation():
    x = torch.randn(16, 12, 4)
    g = torch.Generator().manual_seed(0)
    _, shared = EmbeddingAugmenter(AugmentConfig(position_shuffle=True, shuffle_per_batch=True))(x, None, generator=g)
    assert (shared == shared[0]).all() and not torch.equal(shared[0], torch.arange(12))
    assert sorted(shared[0].tolist()) == list(range(12))
    _, own = EmbeddingAugmenter(AugmentConfig(position_shuffle=True))(x, None, generator=g)
    assert len({tuple(r.tolist()) for r in own}) > 1  # 16 draws of 12! permutations


# -- one FGSM sign for both branches -----------------------------------------------------------------
def _two_branch_step(aug: EmbeddingAugmenter, w_on: torch.Tensor, w_tg: torch.Tensor):
    x = torch.zeros(2, 3, 4, dtype=torch.float64, requires_grad=True)
    on, _ = aug(x, None, branch="online")
    tg, _ = aug(x, None, branch="target")
    ((on * w_on).sum() + (tg * w_tg).sum()).backward()
    return on.detach(), tg.detach()


def test_fgsm_shared_sign_adds_the_last_gradient_to_both_branches():
    w_on = torch.ones(2, 3, 4, dtype=torch.float64)
    w_tg = -w_on  # opposite signs: the branch whose gradient came last decides for both
    aug = EmbeddingAugmenter(AugmentConfig(fgsm_epsilon=0.25, fgsm_shared_sign=True))
    _two_branch_step(aug, w_on, w_tg)
    on, tg = _two_branch_step(aug, w_on, w_tg)
    assert torch.equal(on, tg) and on.abs().eq(0.25).all()
    assert torch.equal(on, 0.25 * torch.sign(w_on)) or torch.equal(on, 0.25 * torch.sign(w_tg))
    own = EmbeddingAugmenter(AugmentConfig(fgsm_epsilon=0.25))
    _two_branch_step(own, w_on, w_tg)
    on, tg = _two_branch_step(own, w_on, w_tg)
    assert torch.equal(on, 0.25 * torch.sign(w_on)) and torch.equal(tg, 0.25 * torch.sign(w_tg))
    state = aug.state_dict()
    assert state["fgsm_sign"]["shared"] is not None
    resumed = EmbeddingAugmenter(AugmentConfig(fgsm_epsilon=0.25, fgsm_shared_sign=True))
    resumed.load_state_dict(state)
    assert torch.equal(resumed.state_dict()["fgsm_sign"]["shared"], state["fgsm_sign"]["shared"])


def test_fgsm_max_relative_change_by_hand():
    # +5e-9 on x = 1e-6 is exact to fp32's spacing there (1.1e-13): relative change 5e-3;
    # on 0.05 (spacing 3.7e-9) at most one step or two, relative < 2e-7; on 0 it is not counted.
    eps = 5e-9
    base = torch.tensor([[[1e-6, -1e-6, 0.05, 0.0]]]).expand(2, 3, 4).contiguous()
    aug = EmbeddingAugmenter(AugmentConfig(fgsm_epsilon=eps))
    y, _ = aug(base.clone().requires_grad_(), None, branch="online")
    y.sum().backward()  # gradient +1 everywhere
    x = base.clone().requires_grad_()
    aug(x, None, branch="online")
    s = aug.stats()
    xs = base.numpy()
    moved = (xs + np.float32(eps)) - xs  # numpy's float32 arithmetic
    expected = max(abs(float(d)) / abs(float(v)) for d, v in zip(moved.flat, xs.flat) if v != 0)
    assert expected == pytest.approx(5e-3, rel=1e-4)
    assert s["fgsm_max_relative_change"] == pytest.approx(expected, rel=1e-6)
    assert s["fgsm_max_relative_change_online"] == s["fgsm_max_relative_change"]
    assert math.isnan(s["fgsm_max_relative_change_target"])


# -- augmentations at evaluation ------------------------------------------------------------------
SENTENCES = ["a cat sat on the mat", "dogs bark loudly at night", "the sun is hot today", "rain falls"]


def _embed(encoder, tokenizer, cfg: AugmentConfig) -> np.ndarray:
    enc = SentenceEncoder(encoder, tokenizer)
    with evaluation_augmentation(encoder, cfg, seed=1):
        return enc.encode(SENTENCES)


@pytest.mark.parametrize("habit", [{"token_cutoff": 0.2}, {"feature_cutoff": 0.2}, {"position_shuffle": True}])
def test_augment_at_eval_changes_evaluation_embeddings(habit):
    encoder, tokenizer = encoders.load("tiny-random-bert")
    plain = SentenceEncoder(encoder, tokenizer).encode(SENTENCES)
    off = _embed(encoder, tokenizer, AugmentConfig(**habit))
    assert np.array_equal(off, plain)  # the clean default: evaluation untouched
    on = _embed(encoder, tokenizer, AugmentConfig(augment_at_eval=True, **habit))
    assert not np.allclose(on, plain, atol=1e-4)
    assert np.array_equal(on, _embed(encoder, tokenizer, AugmentConfig(augment_at_eval=True, **habit)))
    assert np.array_equal(SentenceEncoder(encoder, tokenizer).encode(SENTENCES), plain)  # hook removed


def test_fgsm_never_acts_at_evaluation():
    encoder, tokenizer = encoders.load("tiny-random-bert")
    plain = SentenceEncoder(encoder, tokenizer).encode(SENTENCES)
    cfg = AugmentConfig(fgsm_epsilon=1.0, augment_at_eval=True)
    assert np.array_equal(_embed(encoder, tokenizer, cfg), plain)


# -- a short training run with the preset -------------------------------------------------------------
def _data_dir():
    """MOCOSE_DATA, else the folder beside the project (conftest's rule: a module fixture runs first)."""
    return os.environ.get("MOCOSE_DATA") or str(Path(__file__).resolve().parents[2] / "shared" / "data")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained with token cutoff 0.1 under the preset (44 sentences of 8: 5 steps)."""
    folder = tmp_path_factory.mktemp("preset")
    config = apply_preset(load_profile("smoke"), "authors").override(
        {**SMALL, "token_cutoff": 0.1, "fgsm_epsilon": 5e-9})
    # the seven STS test sets take minutes on a shared machine: a stand-in selection score that
    # differs from dev (the real average is tested in the evaluation tests; here the wiring is)
    old = validation_mod.VALIDATION_SAMPLE, evaluation.sts_test_average
    validation_mod.VALIDATION_SAMPLE = 32
    evaluation.sts_test_average = lambda enc, data_dir: evaluation.stsb_dev_spearman(enc, data_dir) - 1.0
    try:
        summary = train(config, folder / "run", data_dir=_data_dir(), progress=False)
    finally:
        validation_mod.VALIDATION_SAMPLE, evaluation.sts_test_average = old
    return config, summary, folder / "run"


def test_preset_run_drops_the_last_batch_selects_on_sts_test_and_names_itself(trained):
    config, summary, folder = trained
    assert summary["steps"] == 44 // 8 == 5  # clean: ceil(44 / 8) = 6
    assert total_steps(config.override({"drop_last": False}), 44) == 6
    assert summary["selection"] == "sts_test_avg" and "sts_test_avg" in summary["curve"][-1]
    assert summary["best_score"] == max(r["sts_test_avg"] for r in summary["curve"])
    assert summary["best_score"] == pytest.approx(summary["curve"][-1]["dev_spearman"] - 1.0)
    assert json.loads((folder / "train.json").read_text())["preset"] == "authors"
    d = summary["diagnostics"]
    assert 0 < d["fgsm_changed_fraction"] <= 1 and d["fgsm_max_relative_change"] > 0


def test_drop_last_batches_never_come_short(tmp_path):
    encoder, tokenizer = encoders.load("tiny-random-bert")
    config = load_profile("smoke").override({**SMALL, "drop_last": True})
    batches = Batches(["word %d" % i for i in range(44)], tokenizer, config, pad_to_max=False)
    assert batches.per_epoch == 5
    assert {batches.batch(s).input_ids.shape[0] for s in range(1, 11)} == {8}
    with pytest.raises(ConfigError, match="drop_last"):
        train(config.override({"train_sentences": 4}), tmp_path / "run", progress=False)


def test_preset_evaluation_of_a_token_cutoff_model_changes_with_the_cutoff(trained):
    config, summary, _ = trained
    ckpt = summary["best_checkpoint"]
    scores = {p: evaluate_checkpoint(config.override({"token_cutoff": p}), ckpt, "STSBenchmark",
                                     progress=False).tasks["STSBenchmark"]["score"] for p in (0.1, 0.3)}
    assert scores[0.1] != scores[0.3]  # clean evaluation ignores the cutoff: see the tests above


def test_preset_model_uses_the_authors_queue_and_one_permutation():
    encoder, _ = encoders.load("tiny-random-bert")
    config = apply_preset(load_profile("smoke"), "authors").override({"position_shuffle": True})
    model = MoCoSE(encoder, config, torch.Generator().manual_seed(0))
    assert model.queue.compat == "authors" and model.queue.start == round(0.25 * config.queue.queue_size)
    assert model.augment.shared_permutation
    assert set(HABITS) <= set(Config().flat())


# -- the flag on the commands ---------------------------------------------------------------------
def test_train_and_reproduce_take_the_preset_flag(monkeypatch, tmp_path):
    from mocose.cli import build_parser
    from mocose.reproduce import pipeline

    args = build_parser().parse_args(["train", "--preset", "authors", "--out", "x"])
    assert preset_name(resolve_config(args.profile, args.method, args.set, args.preset)) == "authors"
    from mocose.runner.plan import plan_runs
    from mocose.runner.sweep import SweepSummary

    seen = {}

    def execute(pairs, options, slots, **kw):
        seen["pairs"] = list(pairs)
        return SweepSummary(plan_runs(seen["pairs"], tmp_path, "smoke", "kmeans"))

    monkeypatch.setattr(pipeline, "execute", execute)
    args = build_parser().parse_args(["reproduce", "kmeans", "--profile", "smoke", "--preset", "authors",
                                      "--dry-run", "--results", str(tmp_path)])
    assert args.func(args) == 0
    assert {preset_name(c) for _, c in seen["pairs"]} == {"authors"}


def test_run_all_passes_the_preset_to_every_reproduce(tmp_path):
    import subprocess

    log = tmp_path / "calls"
    fake = tmp_path / "fake_mocose.sh"
    fake.write_text(f'#!/bin/bash\necho "$@" >> {log}\n[[ "$1" == list ]] && echo table1 table7\nexit 0\n')
    fake.chmod(0o755)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(["bash", str(root / "run_all.sh"), "--preset", "authors", "--profile", "smoke"],
                          env=dict(os.environ, MOCOSE=str(fake)), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    reproduce = [c for c in calls if c.startswith("reproduce")]
    assert len(reproduce) == 1 and reproduce[0].startswith("reproduce table1 table7 ")  # one call, both
    assert "--preset authors" in reproduce[0]
