"""Study files and ``reproduce --set`` run, report, test claims and share runs as paper artifacts do.

The fast tests give the command the paper's registry (``REGISTRY``) and this module's fake
experiment (``FUNCTIONS``, called by the job processes as ``test_reproduce_study_runs:fake_experiment``):
each run takes milliseconds and scores a number worked out from its config, so a test knows which
cell wins. The slow ones train the tiny BERT on the smoke profile for real (and on SLURM).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import fake_sweep_env

import ablations
from ablations.spec import Registry
from mocose.cli import main
from mocose.profiles import load_profile
from mocose.runner import store
from mocose.runner.job import JobFunctions

PROFILE = "smoke"
BASE_SEED = load_profile(PROFILE).train.seed
# The paper's Table 3 alone: what the study is compared with (a small registry keeps each report's
# index short).
REGISTRY = Registry((ablations.get("table3"),))
FUNCTIONS = JobFunctions(train="test_reproduce_study_runs:fake_experiment")


def fake_score(config) -> float:
    """Grows with the predictor's depth, the EMA decay and the batch; a seed adds a tenth."""
    return round(50.0 + 2.0 * config.model.pred_layers + 10.0 * config.ema.ema_decay
                 + config.train.batch_size / 100.0 + (config.train.seed - BASE_SEED) / 10.0, 6)


def fake_experiment(config, data_dir, work_dir, device="cpu", resume=True, progress=True):
    """Stands in for the experiment: logs the run it trains and returns a result body."""
    with open(os.environ["MOCOSE_FAKE_LOG"], "a") as f:
        f.write(f"{config.digest()} batch_size={config.train.batch_size}\n")
    best = Path(work_dir) / "best"
    best.mkdir(parents=True, exist_ok=True)
    score = fake_score(config)
    return {"status": "ok",
            "metrics": {"tasks": {"STSBenchmark": {"score": score}}, "avg": {"sts": score}},
            "analysis": {"alignment": 0.2, "uniformity": -2.0, "singular_values": [1.0, 0.5]},
            "training": {"steps": 3, "best_step": 2, "curve": [{"step": 2, "loss": 1.0}], "resumed": False},
            "mtd": None, "best_checkpoint": str(best)}


@pytest.fixture
def env(tmp_path, monkeypatch):
    fake_sweep_env(tmp_path, monkeypatch)
    monkeypatch.setenv("MOCOSE_FAKE_LOG", str(tmp_path / "fake.log"))
    return tmp_path


def mocose(tmp: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``mocose ARGS`` in this process over REGISTRY and the fake experiment (the job processes
    are children), its folders under ``tmp``; its exit status and printed output."""
    import contextlib
    import io

    folders = ["--results", str(tmp / "results")]
    if args[0] in ("reproduce", "sweep"):
        folders += ["--data", str(tmp / "data"), "--plots", str(tmp / "plots"), "--quiet"]
    elif args[0] == "report":
        folders += ["--plots", str(tmp / "plots")]
    stdout, stderr = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main([*args, *folders], registry=REGISTRY, functions=FUNCTIONS)
    finally:
        os.chdir(cwd)
    out = subprocess.CompletedProcess(args, code, stdout.getvalue(), stderr.getvalue())
    if check:
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def trained(tmp: Path) -> list[str]:
    log = tmp / "fake.log"
    return log.read_text().splitlines() if log.exists() else []


def report_json(tmp: Path, name: str) -> dict:
    return json.loads((tmp / "results" / PROFILE / "reports" / f"{name}.json").read_text())


STUDY = """\
name: pred_depth
title: Predictor depth
base: {ema_decay: 0.9}
grid:
  pred_layers: [0, 1, 2]
claims:
  - pred_layers=2 > pred_layers=0
figure: {x: pred_layers, plot: line}
"""


def test_a_study_runs_reports_a_figure_and_verdicts_and_a_second_call_trains_nothing(env):
    study = env / "pred_depth.yaml"
    study.write_text(STUDY)
    mocose(env, "reproduce", str(study), "--profile", PROFILE, "--seeds", "2")
    assert len(trained(env)) == 3 * 2
    rep = report_json(env, "pred_depth")
    assert [c["label"] for c in rep["cells"]] == ["pred_layers=0", "pred_layers=1", "pred_layers=2"]
    for cell in rep["cells"]:  # each cell's mean is the fake's score over its two seeds
        layers = int(cell["label"].split("=")[1])
        want = 50.0 + 2.0 * layers + 9.0 + 0.16 + 0.05
        assert cell["n"] == 2 and cell["mean"] == pytest.approx(want)
    # a 2-point gap against a 0.07 spread: the claim holds
    assert [c["verdict"] for c in rep["claims"]] == ["holds"]
    assert (env / "plots" / PROFILE / "pred_depth.png").is_file()
    assert "pred_depth" in (env / "results" / PROFILE / "reports" / "pred_depth.md").read_text()

    mocose(env, "reproduce", str(study), "--profile", PROFILE, "--seeds", "2")
    assert len(trained(env)) == 6  # nothing trained again
    # a claim added to the file later is tested by `mocose report` on the runs already there
    study.write_text(STUDY.replace("claims:\n", "claims:\n  - pred_layers=1 > pred_layers=2\n"))
    mocose(env, "report", str(study), "--profile", PROFILE)
    assert [c["verdict"] for c in report_json(env, "pred_depth")["claims"]] == ["contradicted", "holds"]
    out = mocose(env, "claims", str(study), "--profile", PROFILE, check=False)
    assert out.returncode == 1 and "[contradicted] pred_layers=1 > pred_layers=2" in out.stdout
    seeds = json.loads(mocose(env, "seeds", str(study), "--profile", PROFILE, "--json").stdout)
    assert [c["seeds_used"] for c in seeds["claims"]] == [{"pred_layers=1": 2, "pred_layers=2": 2},
                                                          {"pred_layers=2": 2, "pred_layers=0": 2}]
    assert len(trained(env)) == 6


def test_a_study_cell_equal_to_a_table3_cell_reuses_its_runs_and_the_report_says_so(env):
    mocose(env, "reproduce", "table3", "--profile", PROFILE, "--seeds", "1", "--no-report")
    table3 = set(trained(env))
    assert len(table3) == len(REGISTRY.get("table3").cells)
    study = env / "share.yaml"
    study.write_text("name: share\ncells:\n  - {label: same, set: {ema_decay: 0.9}}\n"
                     "  - {label: new, set: {ema_decay: 0.9, pred_layers: 1}}\n")
    mocose(env, "reproduce", str(study), "--profile", PROFILE, "--seeds", "1")
    new = trained(env)[len(table3):]
    want = ablations.get("table3").config("eta 0.9", PROFILE).override({"pred_layers": 1}).digest()
    assert [line.split()[0] for line in new] == [want]  # only the cell table3 lacks
    notes = report_json(env, "share")["notes"]
    assert "cell same: runs shared with table3 (cell eta 0.9)" in notes
    assert "cell new" not in notes


def test_reproduce_set_reruns_table3_at_batch_32_reported_apart(env):
    mocose(env, "reproduce", "table3", "--profile", PROFILE, "--seeds", "1")
    mocose(env, "reproduce", "table3", "--set", "batch_size=32", "--profile", PROFILE, "--seeds", "1")
    lines = trained(env)
    cells = len(ablations.get("table3").cells)
    assert len(lines) == 2 * cells
    assert {line.split()[1] for line in lines[cells:]} == {"batch_size=32"}
    assert {line.split()[1] for line in lines[:cells]} == {f"batch_size={load_profile(PROFILE).train.batch_size}"}
    reports = env / "results" / PROFILE / "reports"
    rerun = report_json(env, "table3+batch_size=32")
    assert rerun["title"].endswith("[batch_size=32]") and (reports / "table3.md").is_file()
    assert {r for c in rerun["cells"] for r in c["run_ids"]}.isdisjoint(
        {r for c in report_json(env, "table3")["cells"] for r in c["run_ids"]})
    # the name alone rebuilds the rerun for report, claims and seeds
    mocose(env, "report", "table3+batch_size=32", "--profile", PROFILE)
    assert len(trained(env)) == 2 * cells


def test_until_resolved_runs_rounds_on_a_study_file(env):
    study = env / "pred_depth.yaml"
    study.write_text(STUDY)
    out = mocose(env, "reproduce", str(study), "--profile", PROFILE, "--seeds", "2", "--until-resolved",
                 "--max-seeds", "3")
    assert "pred_depth: round 1" in out.stdout and "claims resolved" in out.stdout
    design = json.loads(store.design_path(env / "results", PROFILE, "pred_depth").read_text())
    assert design["max_seeds"] == 3
    assert report_json(env, "pred_depth")["claims"][0]["verdict"] in ("holds", "unresolved")


# -- the real experiment (slow) ---------------------------------------------------------------------
def real(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "mocose", *args, "--results", str(tmp / "results")]
                         + (["--plots", str(tmp / "plots"), "--quiet"] if args[0] == "reproduce" else []),
                         capture_output=True, text=True, timeout=1800, cwd=tmp)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


SMOKE_STUDY = """\
name: smoke_ema
grid: {ema_decay: [0.8, 0.9]}
claims: [ema_decay=0.9 > ema_decay=0.8]
figure: {x: ema_decay, plot: band}
"""


@pytest.mark.slow
def test_a_real_study_of_2_cells_by_2_seeds_on_the_smoke_profile(tmp_path):
    study = tmp_path / "smoke_ema.yaml"
    study.write_text(SMOKE_STUDY)
    real(tmp_path, "reproduce", str(study), "--profile", PROFILE, "--seeds", "2")
    rep = report_json(tmp_path, "smoke_ema")
    assert [c["n"] for c in rep["cells"]] == [2, 2]
    assert rep["claims"][0]["verdict"] in ("holds", "contradicted", "unresolved", "smaller than the paper")
    assert (tmp_path / "plots" / PROFILE / "smoke_ema.png").is_file()
    runs = sorted((tmp_path / "results" / PROFILE / "runs").glob("*.json"))
    again = real(tmp_path, "reproduce", str(study), "--profile", PROFILE, "--seeds", "2", "--dry-run", "--json")
    assert json.loads(again.stdout.strip().splitlines()[-1])["to_train"] == 0 and len(runs) == 4


@pytest.mark.slow
@pytest.mark.slurm
@pytest.mark.skipif(shutil.which("sbatch") is None, reason="needs SLURM (sbatch)")
def test_a_study_file_runs_on_slurm(tmp_path):
    from test_runner_slurm import SLURM_ARGS, our_jobs

    assert our_jobs() == [], "a mocose job is already queued"
    study = tmp_path / "slurm_study.yaml"
    study.write_text("name: slurm_study\ngrid: {ema_decay: [0.85, 0.95]}\n")
    try:
        real(tmp_path, "reproduce", str(study), "--profile", PROFILE, "--seeds", "1", "--no-report",
             "--devices", "cpu:1", *SLURM_ARGS)
    finally:
        for job in our_jobs():
            subprocess.run(["scancel", job], check=False)
    assert len(list((tmp_path / "results" / PROFILE / "runs").glob("*.json"))) == 2
    assert our_jobs() == []
