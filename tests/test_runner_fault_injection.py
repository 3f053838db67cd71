"""SIGKILL at seeded random moments (issue 10): ``mocose reproduce`` (the sweep process or one of
its job processes) and ``mocose train`` are killed again and again on the smoke profile, rerun
after each kill, and must end exactly where an uninterrupted run ends.

After every rerun: every finished result parses and carries its fields, no run has two result
files, nothing partial is visible as a result. At the end: the same result bodies (metrics,
analysis, training curve: all a report is built from, so the report is equal too) as an
uninterrupted sweep, no temporary file, no work dir, nothing set aside.

The runs are the smallest real ones (the tiny random BERT, 48 sentences, 6 steps, STS-B only), in
a two-run artifact of a registry defined here (given to the command by tests/mocose_with.py), on a data folder
of the first 64 wiki1m sentences and 64 STS-B pairs a split (declared by its MANIFEST.md5), so
that a kill costs seconds, not minutes.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ablations.spec import Artifact, Cell, Registry
from conftest import mocose_with

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
DATA = Path(os.environ.get("MOCOSE_DATA") or ROOT.parent / "shared" / "data")
SMALL = {"train_sentences": 48, "batch_size": 8, "eval_steps": 3, "max_steps": 6, "queue_size": 16,
         "eval_tasks": "STSBenchmark"}
KILLS_REPRODUCE = 6  # half of them hit the sweep process, half a job process
KILLS_TRAIN = 6
SEED = 20221
# Fields that say when and where a run was made, not what it found.
PROVENANCE = {"wall_time", "created", "host", "device", "versions", "git_commit", "seconds", "wall_time_s", "timings"}

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (DATA / "senteval").is_dir(), reason="needs the SentEval data folder")]


# -- the registry the sweeps run (given to the command by tests/mocose_with.py) ---------------------------
REGISTRY = Registry((Artifact(
    "tiny", "two tiny MoCoSE runs", "table",
    tuple(Cell(f"eta={eta}", {"ema_decay": eta}) for eta in (0.85, 0.95)),
    base={k: v for k, v in SMALL.items() if k != "eval_tasks"},
    evaluation=SMALL["eval_tasks"], metric=SMALL["eval_tasks"]),))
get = REGISTRY.get


# -- helpers -------------------------------------------------------------------------------------------
@pytest.fixture
def small_data(tmp_path, monkeypatch) -> Path:
    """The first 64 training sentences and the first 64 STS-B pairs of each split, declared."""
    from mocose.data import write_manifest

    folder = tmp_path / "data"
    (folder / "wiki").mkdir(parents=True)
    head = (DATA / "wiki" / "wiki1m_for_simcse.head.txt").read_text(encoding="utf8").splitlines(keepends=True)
    (folder / "wiki" / "wiki1m_for_simcse.head.txt").write_text("".join(head[:64]), encoding="utf8")
    stsb = folder / "senteval" / "STS" / "STSBenchmark"
    stsb.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        rows = (DATA / "senteval" / "STS" / "STSBenchmark" / f"sts-{split}.csv").read_text(encoding="utf8")
        (stsb / f"sts-{split}.csv").write_text("".join(rows.splitlines(keepends=True)[:64]), encoding="utf8")
    write_manifest(folder / "senteval")
    monkeypatch.setenv("MOCOSE_DATA", str(folder))
    return folder


def env() -> dict[str, str]:
    return dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=os.pathsep.join([str(ROOT), str(TESTS)]))


def reproduce(results: Path) -> list[str]:
    return [*mocose_with("test_runner_fault_injection", "reproduce", "tiny", functions="-"), "--profile", "smoke", "--seeds", "1",
            "--results", str(results), "--no-report", "--quiet"]


def train_cmd(folder: Path, *extra: str) -> list[str]:
    sets = [x for k, v in SMALL.items() if k != "eval_tasks" for x in ("--set", f"{k}={v}")]
    return [sys.executable, "-m", "mocose", "train", "--profile", "smoke", "--out", str(folder), "--quiet",
            *sets, *extra]


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def kill_at(cmd: list[str], after: float, target: str = "parent") -> int | None:
    """Start ``cmd``, SIGKILL it (or its first child process) ``after`` seconds on; its exit code
    when it ended before."""
    proc = subprocess.Popen(cmd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + after
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return proc.returncode
        time.sleep(0.02)
    victim = proc.pid
    if target == "child":
        kids = children(proc.pid)
        victim = kids[0] if kids else proc.pid
    try:
        os.kill(victim, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if victim != proc.pid:
        proc.wait(timeout=120)  # the sweep records the lost job and goes on, or ends
    else:
        proc.wait()
    return None


def timed(cmd: list[str]) -> float:
    start = time.monotonic()
    done = subprocess.run(cmd, env=env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return time.monotonic() - start


def check_results(results: Path) -> dict[str, dict]:
    """Every file under runs/ is a sound result, one per run; nothing partial shows as a result."""
    from mocose.runner.store import result_problem

    folder = results / "smoke" / "runs"
    out = {}
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.name.startswith("."):
            assert path.name.endswith(".tmp"), path  # a killed writer's temporary, never read
            continue
        data, problem = result_problem(path)
        assert problem is None, f"{path}: {problem}"
        assert data["run_id"] not in out
        out[data["run_id"]] = data
    assert not (results / "smoke" / "invalid").exists()
    return out


def findings(result):
    """``result`` without the fields that say when and where, at any depth (timings included)."""
    if isinstance(result, dict):
        return {k: findings(v) for k, v in result.items() if k not in PROVENANCE}
    if isinstance(result, list):
        return [findings(v) for v in result]
    return result


# -- the tests -------------------------------------------------------------------------------------------
def test_reproduce_killed_at_random_moments_ends_as_an_uninterrupted_sweep(tmp_path, small_data):
    whole = tmp_path / "whole"
    duration = timed(reproduce(whole))
    expected = check_results(whole)
    assert len(expected) == 2

    cut = tmp_path / "cut"
    rng = random.Random(SEED)
    for i in range(KILLS_REPRODUCE):
        target = "parent" if i % 2 == 0 else "child"
        kill_at(reproduce(cut), rng.uniform(0.1, 1.0) * duration, target)
        found = check_results(cut)
        for run_id, result in found.items():  # a finished result never changes afterwards
            assert findings(result) == findings(expected[run_id])
    timed(reproduce(cut))
    final = check_results(cut)
    assert {k: findings(v) for k, v in final.items()} == {k: findings(v) for k, v in expected.items()}
    runs = cut / "smoke" / "runs"
    assert not list(runs.glob(".*.tmp")) or all(time.time() - p.stat().st_mtime < 300
                                                for p in runs.glob(".*.tmp"))
    work = cut / "smoke" / "work"
    assert not work.exists() or not [p for p in work.iterdir() if p.is_dir()]


def test_train_killed_at_random_moments_ends_as_an_uninterrupted_run(tmp_path, small_data):
    whole = tmp_path / "whole"
    duration = timed(train_cmd(whole))
    expected = json.loads((whole / "train.json").read_text())

    cut = tmp_path / "cut"
    rng = random.Random(SEED + 1)
    for _ in range(KILLS_TRAIN):
        if (cut / "state").is_dir():
            extra = ("--resume",)
        elif cut.exists() and any((cut / n).exists() for n in ("metrics.jsonl", "best", "train.json")):
            extra = ("--overwrite",)  # killed before its first save: --resume is refused, so restart
        else:
            extra = ()
        kill_at(train_cmd(cut, *extra), rng.uniform(0.1, 1.0) * duration)
        for line in (cut / "metrics.jsonl").read_text().splitlines() if (cut / "metrics.jsonl").exists() else []:
            json.loads(line)
    timed(train_cmd(cut, "--resume") if (cut / "state").is_dir() else train_cmd(cut, "--overwrite"))
    got = json.loads((cut / "train.json").read_text())
    for key in ("steps", "best_step", "best_score", "curve", "collapsed"):
        assert got[key] == expected[key], key
    assert (cut / "metrics.jsonl").read_text() == (whole / "metrics.jsonl").read_text()
    assert not list(cut.glob(".*"))  # no half-built or moved-aside folder left
