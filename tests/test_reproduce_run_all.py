"""`./run_all.sh --profile smoke` end to end: every artifact of the registry trained, evaluated
and reported with the real code. Runs whose text augmentation needs a model this machine lacks
must fail loudly, naming the model; every other run must succeed."""
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

import ablations
from mocose.runner import load_results

ROOT = Path(__file__).resolve().parents[1]
MODEL_AUGMENTS = ("synonym", "paraphrase", "back_translation", "spelling")


def _unavailable_here(name: str) -> bool:
    from mocose.training.text_augment import check_text_augment_available

    try:
        check_text_augment_available(name)
    except Exception:
        return True
    return False


@pytest.mark.slow
def test_run_all_smoke_end_to_end(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    results, plots = tmp_path / "results", tmp_path / "plots"
    done = subprocess.run(["bash", str(ROOT / "run_all.sh"), "--profile", "smoke", "--seeds", "1",
                           "--devices", "cpu:2",
                           "--results", str(results), "--plots", str(plots)],
                          capture_output=True, text=True, timeout=3000, env=env, cwd=tmp_path)
    check_outputs(results, plots, done.returncode, done.stdout[-3000:] + done.stderr[-3000:])
    check_fig3_priced_by_the_other_runs(results, tmp_path / "without-fig3")


def check_fig3_priced_by_the_other_runs(results: Path, past: Path) -> None:
    """Figure 3's 27 runs (batches of 64 to 256, one to four steps), priced from every other run of
    the sweep (batches of 16, 16 steps), come within 50% of the device time they recorded."""
    from mocose.runner.cost import estimate
    from mocose.runner.plan import plan_runs

    pairs = ablations.get("fig3").configs("smoke", 1)
    fig3 = {c.digest() for _, c in pairs}
    (past / "smoke" / "runs").mkdir(parents=True)
    for path in (results / "smoke" / "runs").glob("*.json"):
        if path.stem not in fig3:
            shutil.copy(path, past / "smoke" / "runs" / path.name)
    cost = estimate(plan_runs(pairs, past, "smoke", "fig3"), past, os.environ["MOCOSE_DATA"], "cpu", 1)
    measured = sum(r["wall_time"] for i, r in load_results(results, "smoke").items() if i in fig3)
    assert cost.source.startswith("mean of") and 0.5 <= cost.device_seconds / measured <= 1.5, (cost, measured)


def check_outputs(results: Path, plots: Path, returncode: int, log: str) -> None:
    """Every run finished but those needing a missing model, which failed naming it; every report drawn."""
    from mocose.evaluation import parse_tasks

    wanted = {c.digest(): c for name in ablations.names() for _, c in ablations.get(name).configs("smoke", 1)}
    asked: dict[str, set[str]] = {}  # a run's identity leaves out eval_tasks: artifacts share runs
    for name in ablations.names():
        for _, c in ablations.get(name).configs("smoke", 1):
            asked.setdefault(c.digest(), set()).update(parse_tasks(c.eval.eval_tasks))
    expected_missing = {d for d, c in wanted.items()
                        if c.augment.text_augment in MODEL_AUGMENTS and _unavailable_here(c.augment.text_augment)}
    finished = load_results(results, "smoke")
    assert set(finished) == set(wanted) - expected_missing, log
    data = Path(os.environ["MOCOSE_DATA"])
    md5 = {name: hashlib.md5((data / name).read_bytes()).hexdigest()
           for name in ("senteval/STS/STSBenchmark/sts-dev.csv", "senteval/STS/STSBenchmark/sts-test.csv")}
    for r in finished.values():
        assert r["status"] in ("ok", "collapsed") and r["profile"] == "smoke"
        env = r["environment"]  # the files the run read, with their md5 computed here
        assert env["versions"]["torch"] == torch.__version__ and env["gpu"] == "none"
        if "STSBenchmark" in r["evaluated_tasks"]:
            assert env["data"]["senteval/STS/STSBenchmark/sts-test.csv"] == md5["senteval/STS/STSBenchmark/sts-test.csv"]
        if r["training"]["steps"]:  # validated on STS-B dev
            assert env["data"]["senteval/STS/STSBenchmark/sts-dev.csv"] == md5["senteval/STS/STSBenchmark/sts-dev.csv"]
        tasks = asked[r["run_id"]]  # every task any artifact asks of it (Table 2 of Table 1's runs)
        assert tasks <= set(r["evaluated_tasks"]), r["run_id"]
        assert all(r["metrics"]["tasks"][t]["score"] is not None for t in tasks), r["run_id"]
    failures = sorted((results / "smoke" / "failed").glob("*.json"))
    assert {p.stem for p in failures} == expected_missing, log
    for path in failures:  # a clear message naming what is missing, never a silent skip
        error = json.loads(path.read_text())["error"]
        assert "nlpaug" in error or "roberta-base" in error or "xlnet" in error or "wmt19" in error, error
    assert (returncode == 0) == (not expected_missing), log

    assert (results / "REPORT.md").is_file()
    for name in ablations.names():
        assert (results / "smoke" / "reports" / f"{name}.md").is_file(), name
        if ablations.get(name).kind == "figure":
            assert (plots / "smoke" / f"{name}.png").is_file(), name
    table3 = (results / "smoke" / "reports" / "table3.md").read_text()
    assert "Not a reproduction" in table3 and "76.49" in table3  # the paper's eta 0.85 beside ours
