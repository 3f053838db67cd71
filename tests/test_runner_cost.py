"""Pricing a plan (:mod:`mocose.runner.cost`): every figure worked by hand from the past results it
reads, the step-time table where there are none, what an unpriced plan says, and the timings a
real training run records for it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from ablations.spec import Cell
from mocose.profiles import load_profile
from mocose.runner.cost import RUN_SECONDS, STEP_SECONDS, estimate, validations
from mocose.runner.plan import Plan, PlannedRun, plan_runs
from mocose.runner.store import atomic_write_json
from mocose.training import validation as validation_mod
from mocose.training.experiment import run_experiment

SMOKE = load_profile("smoke")  # 256 training sentences, batch 16, a validation every 8 steps


def write_result(results: Path, run_id: str, wall: float, batch: int, training: dict, **extra) -> None:
    atomic_write_json(results / "smoke" / "runs" / f"{run_id}.json",
                      {"schema": 1, "run_id": run_id, "profile": "smoke", "status": "ok", "config": {},
                       "metrics": {}, "wall_time": wall, "device": "cpu:0",
                       "flat_config": {"batch_size": batch}, "training": training, **extra})


def timed(steps: int, step_s: float, vals: int, val_s: float) -> dict:
    return {"steps": steps, "timings": {"steps": steps, "step_seconds": step_s, "validations": vals,
                                        "validation_seconds": val_s}}


def plan_of(results: Path, *overrides: dict) -> Plan:
    return plan_runs([(Cell(str(o)), SMOKE.override(o)) for o in overrides], results, "smoke")


def test_validations_count_one_every_eval_steps_and_one_at_the_end():
    assert [validations(n, 8) for n in (0, 1, 4, 8, 9, 16, 17)] == [0, 1, 1, 1, 2, 2, 3]


def test_past_runs_price_examples_validations_and_the_fixed_part(tmp_path):
    results = tmp_path / "results"
    # A: batch 16, 16 steps (256 examples) in 8 s, 2 validations in 3 s, 20 s in all: 9 s the rest.
    write_result(results, "a" * 12, 20.0, 16, timed(16, 8.0, 2, 3.0),
                 evaluations=[{"tasks": ["MR", "CR"], "wall_time": 6.0}])
    # B: batch 32, 8 steps (256 examples) in 4 s, 1 validation in 2 s, 16 s in all: 10 s the rest.
    write_result(results, "b" * 12, 16.0, 32, timed(8, 4.0, 1, 2.0))
    write_result(results, "c" * 12, 5.0, 16, {"steps": 0})  # an untrained encoder's evaluation
    write_result(results, "d" * 12, 999.0, 16, timed(16, 900.0, 2, 9.0), device="cuda:0")  # another kind
    # So: 12 s over 512 examples, 5 s over 3 validations, a fixed 9.5 s, 5 s untrained, 3 s a task.
    per_example, per_validation = 12 / 512, 5 / 3
    plan = plan_of(results, {"batch_size": 64}, {"batch_size": 16}, {"method": "none"})
    cost = estimate(plan, results, None, "cpu", 2)
    b64 = 9.5 + 256 * per_example + 1 * per_validation  # 4 steps of 64: one validation, at the end
    b16 = 9.5 + 256 * per_example + 2 * per_validation  # 16 steps of 16: at 8 and 16
    assert (cost.runs_to_train, cost.runs_to_evaluate, cost.steps) == (2, 1, 4 + 16)
    assert cost.device_seconds == pytest.approx(b64 + b16 + 5.0)
    assert cost.wall_seconds == pytest.approx((b64 + b16 + 5.0) / 2)
    assert cost.source == "mean of 3 past smoke runs on cpu"
    # A finished run to evaluate on three more tasks: 3 s a task.
    more = PlannedRun("e" * 12, SMOKE, ["x"], missing_tasks=["MR", "CR", "SUBJ"])
    only_more = Plan("t", "smoke", [more], [more], [], [], [more])
    assert estimate(only_more, results, None, "cpu", 1).device_seconds == pytest.approx(9.0)


def test_runs_recorded_without_timings_count_their_training_as_steps(tmp_path):
    results = tmp_path / "results"
    # 16 steps of 16 trained in 10 s of a 14 s run, 8 steps of 32 in 6 s of 12 s: 16 s over 512
    # examples, and a fixed (4 + 6) / 2 = 5 s.
    write_result(results, "a" * 12, 14.0, 16, {"steps": 16, "wall_time": 10.0})
    write_result(results, "b" * 12, 12.0, 32, {"steps": 8, "wall_time": 6.0})
    cost = estimate(plan_of(results, {"batch_size": 128}), results, None, "cpu", 1)
    assert cost.device_seconds == pytest.approx(5.0 + 256 * 16 / 512)


def test_without_past_runs_the_step_table_prices_examples_at_the_profile_batch(tmp_path):
    # The smoke table entry was measured at batch 16: a step of 64 is four of its steps.
    plan = plan_of(tmp_path, {"batch_size": 64}, {"method": "none"})
    cost = estimate(plan, tmp_path, None, "cpu", 1)
    table = 4 * 4 * STEP_SECONDS["smoke", "cpu"] + 2 * RUN_SECONDS["smoke", "cpu"]
    assert cost.device_seconds == pytest.approx(table)
    assert cost.source == "step-time table for smoke on cpu"


def test_an_unpriced_plan_says_how_to_price_it(tmp_path):
    paper = load_profile("paper")
    plan = plan_runs([(Cell("x"), paper)], tmp_path, "paper")
    cost = estimate(plan, tmp_path, tmp_path / "no-data", "cpu", 1)
    assert cost.device_seconds is None and cost.steps == 15_625  # wiki1m's million lines in batches of 64
    assert cost.source == ("unknown: no past runs and no table entry for paper on cpu; --devices cuda:0x4 "
                           "prices it with the step-time table measured on an H100")
    assert estimate(plan, tmp_path, tmp_path / "no-data", "cuda", 1).device_seconds is not None


def test_a_run_records_its_timings_and_prices_its_own_recipe_at_its_wall_time(tmp_path, monkeypatch):
    monkeypatch.setattr(validation_mod, "VALIDATION_SAMPLE", 32)
    config = SMOKE.override({"train_sentences": 56, "batch_size": 8, "eval_steps": 3, "max_steps": 7,
                             "queue_size": 16, "eval_tasks": "STSBenchmark"})
    body = run_experiment(config, Path(os.environ["MOCOSE_DATA"]), tmp_path / "work", progress=False)
    training, timings = body["training"], body["training"]["timings"]
    assert timings["steps"] == training["steps"] == 7
    assert timings["validations"] == validations(7, 3) == len(training["curve"]) == 3  # at 3, 6, 7
    parts = [timings[k] for k in ("prepare_seconds", "step_seconds", "validation_seconds", "save_seconds")]
    assert all(p > 0 for p in parts) and sum(parts) <= training["wall_time"]
    results = tmp_path / "results"
    wall = training["wall_time"] + 1.5  # the job's wall time holds the training and the evaluation
    write_result(results, config.digest(), wall, 8, training)
    plan = plan_runs([(Cell("again"), config.override({"seed": 7}))], results, "smoke")
    assert estimate(plan, results, None, "cpu", 1).device_seconds == pytest.approx(wall)
