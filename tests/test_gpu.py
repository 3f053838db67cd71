"""The GPU tier (``pytest -m gpu``): training, resuming, sharing a GPU and evaluating on CUDA.

Skipped where CUDA is absent. Each test drives the command line a GPU user types (no device flag
where the default should do), on the smoke and cpu profiles, so the tier takes a few minutes on
one GPU.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from conftest import run_cut_at
import torch

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

ROOT = Path(__file__).resolve().parents[1]


def mocose(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-m", "mocose", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_train_on_the_default_gpu_with_validation_and_evaluate(tmp_path, profile):
    """`mocose train --profile P --evaluate` with no --device: the model, its validations and the
    final STS evaluation all run on the current GPU."""
    out = tmp_path / "run"
    mocose("train", "--profile", profile, "--out", str(out), "--evaluate", "--quiet")
    summary = json.loads((out / "train.json").read_text())
    assert summary["device"] == f"cuda:{torch.cuda.current_device()}"
    assert summary["curve"] and all(r["dev_spearman"] == r["dev_spearman"] for r in summary["curve"])
    assert summary["precision"] == {"matmul_precision": "highest", "autocast": "none"}
    result = json.loads((out / "eval.json").read_text())
    assert result["device"].startswith("cuda:") and len(result["tasks"]) == 7
    assert result["avg"]["sts"] is not None


def test_resume_of_a_killed_gpu_run_repeats_the_straight_run(tmp_path, monkeypatch):
    """Under --deterministic a run cut after its saved state and resumed gives the same losses and
    validations as one never cut: the CUDA random state (dropout masks) is restored too."""
    from mocose.training import loop as train_mod
    from mocose.profiles import load_profile

    config = load_profile("smoke").override({"train_sentences": 96, "eval_steps": 2, "max_steps": 6})
    whole = train_mod.train(config, tmp_path / "whole", device="cuda", progress=False, deterministic=True)
    run_cut_at(monkeypatch, 5, lambda: train_mod.train(  # dies after the state saved at step 4
        config, tmp_path / "cut", device="cuda", progress=False, deterministic=True))
    torch.manual_seed(1234)  # a new process would not carry on the old random state
    resumed = train_mod.train(config, tmp_path / "cut", device="cuda", progress=False, resume=True,
                              deterministic=True)
    assert [r["step"] for r in resumed["curve"]] == [2, 4, 6]
    assert resumed["curve"] == whole["curve"]
    assert resumed["best_score"] == whole["best_score"]


def test_several_jobs_share_one_gpu(tmp_path):
    """`reproduce --devices cuda:0x3`: three jobs at a time on one GPU, every run finished there."""
    results = tmp_path / "results"
    mocose("reproduce", "table3", "--profile", "smoke", "--seeds", "1", "--devices", "cuda:0x3",
           "--results", str(results), "--no-report", "--quiet")
    runs = [json.loads(p.read_text()) for p in (results / "smoke" / "runs").glob("*.json")]
    assert len(runs) == 6 and all(r["device"] == "cuda:0" for r in runs)
    assert all(r["training"]["device"] == "cuda:0" for r in runs)  # the GPU its slot sees
    spans = [(datetime.fromisoformat(r["created"]).timestamp() - r["wall_time"],
              datetime.fromisoformat(r["created"]).timestamp()) for r in runs]
    overlap = max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans)
    assert overlap >= 2, spans  # runs did proceed side by side


def test_eval_on_cuda_equals_cpu(tmp_path):
    """`mocose eval --device cuda` gives the CPU's STS scores to 1e-4 as correlations (the scores
    are Spearman x 100, so 0.01 points), float32 matmuls on both: the two devices sum in other
    orders, so embeddings differ in the last bits and a near tie may swap ranks."""
    cpu, gpu = tmp_path / "cpu.json", tmp_path / "gpu.json"
    mocose("eval", "all-MiniLM-L6-v2", "--device", "cpu", "--out", str(cpu), "--no-progress")
    mocose("eval", "all-MiniLM-L6-v2", "--device", "cuda", "--out", str(gpu), "--no-progress")
    a, b = json.loads(cpu.read_text()), json.loads(gpu.read_text())
    assert b["device"].startswith("cuda:") and set(a["tasks"]) == set(b["tasks"])
    for task in a["tasks"]:
        assert abs(a["tasks"][task]["score"] - b["tasks"][task]["score"]) / 100 <= 1e-4, task
    assert abs(a["avg"]["sts"] - b["avg"]["sts"]) / 100 <= 1e-4
