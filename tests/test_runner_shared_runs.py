"""Runs shared between artifacts: a run is what was trained, not what it is evaluated on.

Two artifacts with one recipe, one evaluated on STS and one on the transfer tasks (Tables 1 and 2
in small): the second trains nothing, it evaluates the first's kept best checkpoint. The fast test
uses stand-ins for training and evaluation (this module's ``FUNCTIONS``, with its ``REGISTRY``,
given to the command by tests/mocose_with.py); the slow one the real code on the smoke profile.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from ablations.spec import Artifact, Cell, Registry
from conftest import mocose_with
from mocose.evaluation.tasks import STS_TASKS, TRANSFER_TASKS
from mocose.runner.job import JobFunctions

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
PROFILE = "smoke"

# The stand-in registry: one trained recipe (plus an untrained encoder), asked for by two tables.
_CELLS = (Cell("MoCoSE", {"fgsm_epsilon": 5e-9}), Cell("BERT", {"method": "none"}))
REGISTRY = Registry((
    Artifact("sts_table", "STS", "table", _CELLS, evaluation="sts"),
    Artifact("transfer_table", "transfer", "table", _CELLS, evaluation="transfer", metric="transfer"),
    # the real-code case in small: one trained cell, STS-B then TREC (a quick transfer task)
    Artifact("stsb_one", "STS-B", "table", _CELLS[:1], evaluation="STSBenchmark", metric="STSBenchmark"),
    Artifact("trec_one", "TREC", "table", _CELLS[:1], evaluation="TREC", metric="TREC"),
))
FUNCTIONS = JobFunctions(train="test_runner_shared_runs:fake_experiment", evaluate="test_runner_shared_runs:fake_evaluate")
get = REGISTRY.get


def _log(event: str, config) -> None:
    with open(os.environ["MOCOSE_FAKE_LOG"], "a") as f:
        f.write(f"{event} {config.digest()} {config.eval.eval_tasks}\n")


def fake_experiment(config, data_dir, work_dir, device="cpu", resume=True, progress=True):
    """Trains nothing: keeps a 'best' folder (the encoder itself for method none, as the real
    experiment) and scores each asked task 50."""
    _log("train", config)
    best = Path(work_dir) / "best"
    (Path(work_dir) / "state").mkdir(parents=True, exist_ok=True)
    if config.model.method == "none":
        best = Path(config.model.encoder)
    else:
        best.mkdir()
    from mocose.evaluation.tasks import parse_tasks

    tasks = {t: {"score": 50.0} for t in parse_tasks(config.eval.eval_tasks)}
    return {"status": "ok", "metrics": {"tasks": tasks, "avg": {}}, "analysis": {},
            "training": {"steps": 1, "curve": []}, "mtd": None, "best_checkpoint": str(best)}


def fake_evaluate(config, result, tasks, data_dir, device="cpu", progress=True):
    """Evaluates the kept checkpoint (which must exist for a trained run) on more tasks: 60 each."""
    _log("evaluate", config)
    if config.model.method != "none":
        assert Path(result["best_checkpoint"]).is_dir(), "the best checkpoint was not kept"
    merged = {**result["metrics"]["tasks"], **{t: {"score": 60.0} for t in tasks}}
    return {"tasks": merged, "avg": {}}


@pytest.fixture
def env(tmp_path, monkeypatch):
    (tmp_path / "data" / "senteval").mkdir(parents=True)
    monkeypatch.setenv("MOCOSE_FAKE_LOG", str(tmp_path / "fake.log"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(TESTS)]))
    return tmp_path


def reproduce(tmp: Path, name: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*mocose_with("test_runner_shared_runs", "reproduce", name), "--profile",
                           PROFILE, "--results", str(tmp / "results"), "--data", str(tmp / "data"),
                           "--no-report", "--quiet", "--seeds", "2", *extra],
                          capture_output=True, text=True, timeout=300)


def dry_json(tmp: Path, name: str) -> dict:
    done = reproduce(tmp, name, "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def events(tmp: Path) -> list[str]:
    log = tmp / "fake.log"
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


def test_eval_tasks_are_not_part_of_a_run():
    sts, transfer = (get(n).configs(PROFILE, 2) for n in ("sts_table", "transfer_table"))
    assert [c.digest() for _, c in sts] == [c.digest() for _, c in transfer]
    assert sts[0][1].eval.eval_tasks != transfer[0][1].eval.eval_tasks
    assert sts[0][1].digest() != sts[0][1].override({"fgsm_epsilon": 0.0}).digest()


def test_second_table_evaluates_the_first_tables_runs(env):
    # two seeds of the trained cell; the untrained encoder (method none) once, its score does not
    # depend on the seed: nothing of it trains
    assert dry_json(env, "transfer_table") == {"to_train": 2, "to_evaluate_only": 1, "to_evaluate_more": 0, "done": 0}
    first = reproduce(env, "sts_table")
    assert first.returncode == 0, first.stdout + first.stderr
    assert events(env) == ["train"] * 3
    work = env / "results" / PROFILE / "work"
    assert sorted(p.name for p in work.glob("*/*")) == ["best", "best"]  # kept for transfer_table
    assert dry_json(env, "transfer_table") == {"to_train": 0, "to_evaluate_only": 0, "to_evaluate_more": 3, "done": 0}
    second = reproduce(env, "transfer_table")
    assert second.returncode == 0, second.stdout + second.stderr
    assert events(env) == ["train"] * 3 + ["evaluate"] * 3  # nothing trained again
    assert dry_json(env, "transfer_table") == {"to_train": 0, "to_evaluate_only": 0, "to_evaluate_more": 0, "done": 3}
    assert dry_json(env, "sts_table") == {"to_train": 0, "to_evaluate_only": 0, "to_evaluate_more": 0, "done": 3}
    runs = [json.loads(p.read_text()) for p in (env / "results" / PROFILE / "runs").glob("*.json")]
    assert len(runs) == 3
    for r in runs:
        assert r["evaluated_tasks"] == list(STS_TASKS) + list(TRANSFER_TASKS)
        assert {t: v["score"] for t, v in r["metrics"]["tasks"].items()} == {
            **{t: 50.0 for t in STS_TASKS}, **{t: 60.0 for t in TRANSFER_TASKS}}
        assert r["evaluations"][0]["tasks"] == list(TRANSFER_TASKS)
    # every task any artifact asks of the trained runs is in their results: the kept checkpoints go
    assert not list(work.glob("*/*")) and all(r["best_checkpoint"] is None for r in runs)


def test_kept_checkpoints_stay_while_a_task_is_missing_or_when_asked_to_keep(env):
    """A run evaluated on all but one asked task keeps its checkpoint; --keep-checkpoints keeps
    every work dir whole, and a later reproduce does not remove what was kept that way."""
    assert reproduce(env, "sts_table", "--keep-checkpoints").returncode == 0
    assert reproduce(env, "stsb_one").returncode == 0  # done already: nothing to run, nothing removed
    work = env / "results" / PROFILE / "work"
    assert sorted({p.name for p in work.glob("*/*")}) == ["best", "state"]
    assert reproduce(env, "transfer_table", "--keep-checkpoints").returncode == 0
    assert reproduce(env, "trec_one").returncode == 0
    assert sorted({p.name for p in work.glob("*/*")}) == ["best", "state"]  # still whole


def test_dry_run_json_needs_dry_run(env):
    done = reproduce(env, "sts_table", "--json")
    assert done.returncode == 2 and "--json is only allowed with --dry-run" in done.stderr


@pytest.mark.slow
def test_smoke_transfer_after_sts_trains_nothing(tmp_path):
    """The real experiment on the smoke profile, one seed, in small: a MoCoSE run trained for
    STS-B is then only evaluated on TREC from its kept best checkpoint."""
    data = os.environ.get("MOCOSE_DATA")
    if not data or not Path(data, "senteval").is_dir():
        pytest.skip("needs MOCOSE_DATA with SentEval's data")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(TESTS)]))

    def run(name: str, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*mocose_with("test_runner_shared_runs", "reproduce", name, functions="-"), "--profile",
                               PROFILE, "--results", str(tmp_path / "results"), "--data", data,
                               "--no-report", "--quiet", "--seeds", "1", *extra],
                              capture_output=True, text=True, timeout=900, env=env)

    first = run("stsb_one")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    plan = run("trec_one", "--dry-run", "--json")
    assert json.loads(plan.stdout) == {"to_train": 0, "to_evaluate_only": 0, "to_evaluate_more": 1, "done": 0}, plan.stderr
    done = run("trec_one")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (path,) = (tmp_path / "results" / PROFILE / "runs").glob("*.json")
    r = json.loads(path.read_text())
    assert r["evaluated_tasks"] == ["STSBenchmark", "TREC"] and len(r["evaluations"]) == 1
    assert r["metrics"]["tasks"]["TREC"]["score"] > 0 and r["metrics"]["tasks"]["STSBenchmark"]
    assert r["training"]["steps"] == 16  # trained once, by the first artifact
    assert json.loads(run("trec_one", "--dry-run", "--json").stdout) == {
        "to_train": 0, "to_evaluate_only": 0, "to_evaluate_more": 0, "done": 1}


def test_dry_run_counts_mean_one_thing_in_text_and_json():
    """An untrained encoder's run trains nothing: counted as to_evaluate_only, never to_train;
    a finished run asked for more tasks is to_evaluate_more; the text uses the same numbers."""
    from mocose.runner.cost import Estimate, describe
    from mocose.runner.plan import Plan, PlannedRun, counts
    from mocose.profiles import load_profile

    base = load_profile("smoke")
    bert, trained = base.override({"method": "none"}), base
    todo = [PlannedRun(f"r{i}", c, ["cell"]) for i, c in enumerate((bert, trained, trained))]
    done = [PlannedRun("d0", trained, ["cell"], ["MR"]), PlannedRun("d1", trained, ["cell"])]
    plan = Plan("table2", "smoke", todo + done, done, todo, [], [done[0]])
    assert counts(plan) == {"to_train": 2, "to_evaluate_only": 1, "to_evaluate_more": 1, "done": 1}
    text = describe(plan, Estimate(2, 1, 10, 1.0, 1.0, "table"), "cpu:1", list_runs=False)
    assert "5 runs, 1 done, 3 to run (2 to train, 1 to evaluate only), 1 done but to evaluate on more tasks" in text
    assert "2 runs to train (10 steps), 1 to evaluate only" in text
