"""Each training run evaluates its last model as well as its selected one: the ``last`` record
holds the scores the saved last folder gets when evaluated on its own."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from mocose.evaluation.run import evaluate_model
from mocose.profiles import load_profile
from mocose.training import validation as validation_mod
from mocose.training.experiment import run_experiment

SMALL = {"encoder": "tiny-random-bert", "train_sentences": 56, "batch_size": 8, "eval_steps": 3,
         "max_steps": 7, "queue_size": 16, "eval_tasks": "STSBenchmark", "eval_last": True}


@pytest.fixture(autouse=True)
def cheap_validation(monkeypatch):
    monkeypatch.setattr(validation_mod, "VALIDATION_SAMPLE", 32)


def test_the_last_model_is_evaluated_apart_from_the_selected_one(tmp_path):
    data = Path(os.environ["MOCOSE_DATA"])
    config = load_profile("smoke").override(SMALL)
    body = run_experiment(config, data, tmp_path / "work", progress=False)
    last = body["last"]
    assert last["step"] == body["training"]["steps"] == 7
    assert body["training"]["best_step"] in (3, 6) and last["same_as_best"] is False  # no validation at 7
    folder = tmp_path / "work" / "last"
    alone = evaluate_model(str(folder), pooler=config.eval.eval_pooler, tasks="STSBenchmark", data_dir=data,
                           progress=False)
    assert last["metrics"]["tasks"]["STSBenchmark"]["score"] == pytest.approx(alone["tasks"]["STSBenchmark"]["score"], abs=1e-9)
    best = evaluate_model(body["best_checkpoint"], pooler=config.eval.eval_pooler, tasks="STSBenchmark",
                          data_dir=data, progress=False)
    assert body["metrics"]["tasks"]["STSBenchmark"]["score"] == pytest.approx(best["tasks"]["STSBenchmark"]["score"], abs=1e-9)


def test_without_eval_last_the_last_model_is_not_recorded(tmp_path):
    data = Path(os.environ["MOCOSE_DATA"])
    config = load_profile("smoke").override({**SMALL, "max_steps": 3, "eval_steps": 3, "eval_last": False})
    assert config.digest() == config.override({"eval_last": True}).digest()  # the same run either way
    assert run_experiment(config, data, tmp_path / "work", progress=False)["last"] is None


def test_a_run_whose_last_step_was_selected_reuses_its_scores(tmp_path):
    data = Path(os.environ["MOCOSE_DATA"])
    config = load_profile("smoke").override({**SMALL, "max_steps": 6, "eval_steps": 6})
    body = run_experiment(config, data, tmp_path / "work", progress=False)
    assert body["training"]["best_step"] == 6 and body["last"]["same_as_best"] is True
    assert body["last"]["metrics"] == body["metrics"] and not (tmp_path / "work" / "last").exists()
