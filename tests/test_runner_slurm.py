"""``reproduce --scheduler slurm`` against a real SLURM (the one-node cluster of
scripts/slurm-local.sh, which .ci/run starts): a sweep of a smoke artifact survives a cancelled job, leaves no job
behind, scores as a local sweep does; Ctrl-C cancels the sweep's jobs. Skipped only where
``sbatch`` is absent."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

needs_slurm = pytest.mark.skipif(shutil.which("sbatch") is None,
                                 reason="needs SLURM (sbatch); scripts/slurm-local.sh start runs one here")

# table6b: 4 short smoke runs on 2 worker jobs (table3's 6 runs pass the same test, in twice the time)
ARTIFACT = "table6b"
SLURM_ARGS = ["--scheduler", "slurm", "--slurm-cpus-per-job", "1", "--slurm-mem", "3GB",
              "--slurm-max-jobs", "2", "--slurm-time", "00:20:00"]


def reproduce(tmp: Path, name: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mocose", "reproduce", ARTIFACT, "--profile", "smoke", "--seeds", "1",
            "--results", str(tmp / name / "results"), "--plots", str(tmp / name / "plots"), "--quiet",
            "--no-report", *extra]


def our_jobs(state: str | None = None) -> list[str]:
    cmd = ["squeue", "-h", "-n", "mocose", "-o", "%i"] + (["-t", state] if state else [])
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()


def scores(results: Path) -> dict[str, float]:
    out = {}
    for path in sorted((results / "smoke" / "runs").glob("*.json")):
        data = json.loads(path.read_text())
        assert data["status"] in ("ok", "collapsed")
        out[data["run_id"]] = data["metrics"]["avg"]["sts"]
    return out


def wait_for(predicate, timeout: float, what: str) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def no_jobs_before_or_after():
    assert our_jobs() == [], "a mocose job is already queued"
    yield
    for job in our_jobs():
        subprocess.run(["scancel", job], check=False)


@pytest.mark.slow
@pytest.mark.slurm
@needs_slurm
def test_a_sweep_survives_a_cancelled_job_and_scores_as_a_local_one(tmp_path, no_jobs_before_or_after):
    env = dict(os.environ)
    local = subprocess.run(reproduce(tmp_path, "local", "--devices", "cpu:1"), env=env, capture_output=True,
                           text=True, timeout=900)
    assert local.returncode == 0, local.stderr[-3000:]
    want = scores(tmp_path / "local" / "results")
    assert len(want) == 4

    sweep = subprocess.Popen(reproduce(tmp_path, "slurm", *SLURM_ARGS), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    logs = tmp_path / "slurm" / "results" / "smoke" / "logs"
    runs = tmp_path / "slurm" / "results" / "smoke" / "runs"

    def running_run() -> list[str]:  # a run started on a worker and not finished yet
        started = {p.stem for p in logs.glob("*.log")} if logs.is_dir() else set()
        done = {p.stem for p in runs.glob("*.json")} if runs.is_dir() else set()
        return sorted(started - done)

    wait_for(lambda: running_run() and our_jobs("R"), 600, "a run in progress on a SLURM job")
    interrupted = running_run()
    for job in our_jobs("R"):
        subprocess.run(["scancel", job], check=True)
    out, _ = sweep.communicate(timeout=900)
    assert sweep.returncode == 0, out[-3000:]
    got = scores(tmp_path / "slurm" / "results")
    assert set(got) == set(want)
    assert all(abs(got[r] - want[r]) <= 0.01 for r in want), (got, want)
    retried = [r for r in interrupted if (logs / f"{r}.log").read_text().count("=== attempt") >= 2]
    assert retried, f"no interrupted run was started again: {interrupted}"
    assert not list((tmp_path / "slurm" / "results" / "smoke").glob("failed/*.json"))
    wait_for(lambda: our_jobs() == [], 60, "the sweep's jobs to leave the queue")
    assert list((tmp_path / "slurm" / "results" / "smoke" / "logs" / "slurm").glob("*.out"))  # the jobs' output
    assert not list(Path.cwd().glob("slurm-*.out"))  # and none in the folder reproduce ran in


@pytest.mark.slow
@pytest.mark.slurm
@needs_slurm
def test_ctrl_c_cancels_the_sweeps_jobs(tmp_path, no_jobs_before_or_after):
    # a Ctrl-C reaches the process even where this one was started with SIGINT ignored
    sweep = subprocess.Popen(reproduce(tmp_path, "cut", *SLURM_ARGS), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for(lambda: our_jobs("R"), 300, "a SLURM job of the sweep running")
    sweep.send_signal(signal.SIGINT)
    out, _ = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, out[-3000:]
    wait_for(lambda: our_jobs() == [], 60, "no job of the sweep left in squeue")


@pytest.mark.slow
@pytest.mark.slurm
@needs_slurm
def test_a_terminated_sweep_cancels_its_jobs_too(tmp_path, no_jobs_before_or_after):
    """SIGTERM (a login node's session ending, a batch system stopping reproduce) cleans up too."""
    sweep = subprocess.Popen(reproduce(tmp_path, "term", *SLURM_ARGS), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: our_jobs("R"), 300, "a SLURM job of the sweep running")
    sweep.terminate()
    out, _ = sweep.communicate(timeout=120)
    assert sweep.returncode != 0, out[-3000:]
    wait_for(lambda: our_jobs() == [], 60, "no job of the sweep left in squeue")


def test_no_sbatch_is_refused_before_any_work(tmp_path):
    env = dict(os.environ, PATH="/nonexistent")
    done = subprocess.run(reproduce(tmp_path, "none", "--scheduler", "slurm"), env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "sbatch, squeue, scancel not found on PATH" in done.stderr, done.stderr
    assert not (tmp_path / "none").exists()


def test_run_all_passes_the_cluster_options_to_reproduce(tmp_path):
    """run_all.sh --scheduler slurm --retries N --slurm-X V --slurm-Y=V: reproduce gets them as given,
    and a --slurm-X=V form never swallows the option after it."""
    log = tmp_path / "calls"
    fake = tmp_path / "fake_mocose.sh"
    fake.write_text(f'#!/bin/bash\necho "$@" >> {log}\n[[ "$1" == list ]] && echo table1\nexit 0\n')
    fake.chmod(0o755)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(["bash", str(root / "run_all.sh"), "--profile", "smoke", "--scheduler", "slurm",
                           "--retries", "3", "--slurm-mem", "3GB", "--slurm-cpus-per-job=1", "--seeds", "1"],
                          env=dict(os.environ, MOCOSE=str(fake)), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (call,) = [c for c in log.read_text().splitlines() if c.startswith("reproduce")]
    assert "--scheduler slurm" in call and "--retries 3" in call and "--slurm-mem 3GB" in call
    assert "--slurm-cpus-per-job=1" in call and "--seeds 1" in call
