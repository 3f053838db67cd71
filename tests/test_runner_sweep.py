"""The job runner: planning, atomic result files, failure isolation, SIGKILL and restart, Dask.

The runs here call a fake experiment function defined in this file (the job processes import it
as ``test_runner_sweep:fake_experiment``, the job functions the sweep is given), over a small registry
of real artifacts also defined here (``REGISTRY``, given to the command by tests/mocose_with.py),
so each test takes seconds.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import fake_sweep_env, mocose_with, sweep

from ablations.spec import Artifact, Cell, Registry
from mocose.config import ConfigError
from mocose.runner.job import JobFunctions
from mocose.profiles import load_profile

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
PROFILE = "smoke"
BASE_SEED = load_profile(PROFILE).train.seed

# Behaviour of the fake experiment chosen by the config's ema_decay.
RAISES, EXITS_137, SEGFAULTS = 0.5, 0.6, 0.7


# -- the fake experiment and registry (imported by the child processes) -------------------------
def fake_score(ema_decay: float, seed: int) -> float:
    return round(50.0 + 30.0 * ema_decay + (seed - BASE_SEED) / 10.0, 6)


def fake_experiment(config, data_dir, work_dir, device="cpu", resume=True, progress=True):
    """Stands in for mocose.training.experiment.run_experiment: logs its start, keeps a 'checkpoint' in the
    work dir, sleeps MOCOSE_FAKE_SLEEP seconds, fails as its ema_decay says, returns a body."""
    run_id = config.digest()
    work_dir = Path(work_dir)
    ckpt = work_dir / "ckpt"
    resumed = ckpt.exists()
    log = os.environ.get("MOCOSE_FAKE_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{run_id} start resumed={int(resumed)} device={device} pid={os.getpid()} "
                    f"t={time.time():.3f}\n")
    ckpt.write_text("step 1")
    time.sleep(float(os.environ.get("MOCOSE_FAKE_SLEEP", "0")))
    eta = config.ema.ema_decay
    if not os.environ.get("MOCOSE_FAKE_HEAL"):
        if eta == RAISES:
            raise ValueError(f"boom at ema_decay={eta}")
        if eta == EXITS_137:
            os._exit(137)
        if eta == SEGFAULTS:
            import ctypes

            ctypes.string_at(0)  # a real segmentation fault
    best = work_dir / "best"
    best.mkdir(exist_ok=True)
    score = fake_score(eta, config.train.seed)
    return {"status": "ok",
            "metrics": {"tasks": {"STSBenchmark": {"score": score}}, "avg": {"sts": score}},
            "analysis": {"alignment": 0.2, "uniformity": -2.0, "singular_values": [1.0, 0.5]},
            "training": {"steps": 3, "best_step": 2, "curve": [{"step": 2, "loss": 1.0}],
                         "resumed": resumed},
            "mtd": None, "best_checkpoint": str(best)}


def fake_artifact(name: str, etas: tuple) -> Artifact:
    """A table whose cells differ only in ema_decay (which the fake experiment reads)."""
    return Artifact(name, "fake", "table", tuple(Cell(f"eta={eta}", {"ema_decay": eta}) for eta in etas))


ETAS = {"sweep": (0.8, 0.85, 0.9, 0.95), "broken": (0.8, RAISES, EXITS_137, SEGFAULTS, 0.9),
        "long": (0.81, 0.82, 0.83, 0.84, 0.86, 0.87)}
REGISTRY = Registry(tuple(fake_artifact(name, etas) for name, etas in sorted(ETAS.items())))
FUNCTIONS = JobFunctions(train="test_runner_sweep:fake_experiment")
names, get = REGISTRY.names, REGISTRY.get


# -- helpers --------------------------------------------------------------------------------------
@pytest.fixture
def env(tmp_path, monkeypatch):
    """Fake experiment and registry for this process and its children; a tiny data folder."""
    fake_sweep_env(tmp_path, monkeypatch)
    monkeypatch.setenv("MOCOSE_FAKE_LOG", str(tmp_path / "fake.log"))
    monkeypatch.delenv("MOCOSE_FAKE_HEAL", raising=False)
    return tmp_path


def reproduce_cmd(tmp: Path, name: str, *extra: str) -> list[str]:
    return [*mocose_with("test_runner_sweep", "reproduce", name), "--profile", PROFILE,
            "--results", str(tmp / "results"), "--data", str(tmp / "data"), "--no-report",
            "--quiet", "--seeds", "1", *extra]


def started(tmp: Path) -> list[tuple[str, bool]]:
    log = tmp / "fake.log"
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        m = re.match(r"(\w+) start resumed=(\d)", line)
        out.append((m.group(1), m.group(2) == "1"))
    return out


def runs_dir(tmp: Path) -> Path:
    return tmp / "results" / PROFILE / "runs"


def ids_of(name: str, seeds: int = 1) -> list[str]:
    return [c.digest() for _, c in get(name).configs(PROFILE, seeds)]


# -- devices --------------------------------------------------------------------------------------
def test_devices_pin_threads_and_gpus():
    from mocose.runner.slots import available_cores, parse_devices

    cores = available_cores()
    two = parse_devices("cpu:2")
    assert [s.label for s in two] == ["cpu:0", "cpu:1"]
    assert all(s.threads == max(1, cores // 2) and s.env["OMP_NUM_THREADS"] == str(max(1, cores // 2))
               for s in two)
    assert parse_devices("cpu")[0].threads == cores
    # local=False: parsed as a Dask sweep would, without this machine's GPUs checked.
    gpus = parse_devices("cuda:0x1,cuda:3x1", local=False)
    assert [s.env["CUDA_VISIBLE_DEVICES"] for s in gpus] == ["0", "3"]
    assert {s.device for s in gpus} == {"cuda:0"}  # each child sees only its GPU, as cuda:0
    for bad in ("gpu", "cpu:0", "cuda:x", "cuda:1,cuda:1", "cuda:0x0", "cuda:0x", "cuda:0x2,cuda:0x2"):
        with pytest.raises(ConfigError, match="devices"):
            parse_devices(bad, local=False)


# -- atomic writes --------------------------------------------------------------------------------
def test_atomic_write_leaves_old_file_or_nothing(tmp_path, monkeypatch):
    from mocose.runner.store import atomic_write_json

    path = tmp_path / "runs" / "abc.json"
    atomic_write_json(path, {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}
    with pytest.raises(TypeError):  # fails halfway through serialising
        atomic_write_json(path, {"a": 2, "b": object()})
    assert json.loads(path.read_text()) == {"a": 1}

    def crash(src, dst):
        raise OSError("killed before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write_json(tmp_path / "runs" / "new.json", {"a": 3})
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["abc.json"]


def sound_result(run_id: str, **extra) -> dict:
    """The fields every result file must carry (store.RESULT_FIELDS), plus ``extra``."""
    return {"schema": 1, "run_id": run_id, "profile": PROFILE, "status": "ok", "config": {},
            "metrics": {}, **extra}


# -- planning and provenance ----------------------------------------------------------------------
def test_plan_skips_done_runs_and_results_say_how_they_were_made(env, capsys):
    from mocose.runner import load_results
    from mocose.runner.store import atomic_write_json

    ids = ids_of("sweep", seeds=2)
    assert len(set(ids)) == 8
    done = ids[0]
    hand_made = sound_result(done, wall_time=12.0, marker=1)
    atomic_write_json(runs_dir(env) / f"{done}.json", hand_made)
    pairs = get("sweep").configs(PROFILE, 2)
    summary = sweep(pairs, profile=PROFILE, results_dir=env / "results", data_dir=env / "data",
                      devices="cpu:2", progress=False)
    assert summary.ok and len(summary.outcomes) == 7
    assert sorted(r for r, _ in started(env)) == sorted(ids[1:])  # the done run was not rerun
    results = load_results(env / "results", PROFILE)
    assert set(results) == set(ids)
    assert results[done] == hand_made  # untouched
    for (cell, config), run_id in zip(pairs[1:], ids[1:]):
        r = results[run_id]
        assert r["run_id"] == config.digest() and r["profile"] == PROFILE and r["schema"] == 1
        assert r["seed"] == config.train.seed and r["config"] == config.to_dict()
        assert r["flat_config"]["ema_decay"] == config.ema.ema_decay
        assert r["metrics"]["avg"]["sts"] == fake_score(config.ema.ema_decay, config.train.seed)
        assert r["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
        assert r["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", r["git_commit"])
        assert r["device"] in ("cpu:0", "cpu:1") and r["host"] and r["wall_time"] >= 0
        assert r["best_checkpoint"] is None  # its folder went with the work dir
    work = env / "results" / PROFILE / "work"
    assert not [p for p in work.iterdir() if p.is_dir()]
    # A second sweep finds everything done and launches nothing.
    before = len(started(env))
    again = sweep(pairs, profile=PROFILE, results_dir=env / "results", data_dir=env / "data",
                    progress=False)
    assert again.outcomes == [] and len(started(env)) == before
    assert "8 runs, 8 done, 0 to run" in capsys.readouterr().out


def test_dry_run_estimates_from_steps_then_from_past_runs(env, capsys):
    from mocose.runner.cost import RUN_SECONDS, STEP_SECONDS, format_duration
    from mocose.runner.store import atomic_write_json

    pairs = get("sweep").configs(PROFILE, 1)
    sweep(pairs, profile=PROFILE, results_dir=env / "results", data_dir=env / "data",
            dry_run=True, progress=False)
    out = capsys.readouterr().out
    # smoke: 256 sentences in batches of 16 = 16 steps a run, 4 runs = 64 steps, priced by the table.
    table = 64 * STEP_SECONDS[PROFILE, "cpu"] + 4 * RUN_SECONDS[PROFILE, "cpu"]
    assert "4 runs, 0 done, 4 to run" in out and "4 runs to train (64 steps)" in out
    assert f"device time {format_duration(table)}, wall time {format_duration(table)}" in out
    assert not runs_dir(env).exists() and not started(env)
    # Two past runs of 16 steps in 10 s and 20 s: (10/16 + 20/16) / 2 s a step, so each of the 3
    # missing 16-step runs costs their mean, 15 s: 45 s in all, and two slots share them: 22.5 s.
    flat = pairs[0][1].flat()
    for run_id, wall in ((ids_of("sweep")[0], 10.0), ("0" * 12, 20.0)):
        atomic_write_json(runs_dir(env) / f"{run_id}.json",
                          sound_result(run_id, wall_time=wall, flat_config=flat, device="cpu:0",
                                       training={"steps": 16}))
    sweep(pairs, profile=PROFILE, results_dir=env / "results", data_dir=env / "data",
            devices="cpu:2", dry_run=True, progress=False)
    out = capsys.readouterr().out
    assert "4 runs, 1 done, 3 to run" in out
    assert "device time ~45s, wall time ~22s (mean of 2 past smoke runs on cpu)" in out


def test_paper_scale_estimate_counts_wiki1m_steps_and_gpu_packing(tmp_path):
    """paper: 1,000,000 wiki1m sentences in batches of 64 = 15,625 steps a run; on 2 GPUs with 4
    jobs each the wall time is the device time over 2 x the packing gain of 4."""
    from mocose.runner.cost import GPU_PACKING, RUN_SECONDS, STEP_SECONDS, estimate
    from mocose.runner.plan import plan_runs

    base = load_profile("paper")
    pairs = [(Cell(f"eta={eta}"), base.override({"ema_decay": eta})) for eta in (0.8, 0.9)]
    pairs.append((Cell("untrained"), base.override({"method": "none"})))
    plan = plan_runs(pairs, tmp_path / "results", "paper")
    cost = estimate(plan, tmp_path / "results", tmp_path / "no-data", "cuda", 2 * GPU_PACKING[4])
    assert (cost.runs_to_train, cost.runs_to_evaluate, cost.steps) == (2, 1, 31_250)
    device = 31_250 * STEP_SECONDS["paper", "cuda"] + 3 * RUN_SECONDS["paper", "cuda"]
    assert cost.device_seconds == pytest.approx(device)
    assert cost.wall_seconds == pytest.approx(device / (2 * GPU_PACKING[4]))
    assert estimate(plan, tmp_path / "results", None, "cpu", 1).device_seconds is None  # no figure


def test_keep_checkpoints_keeps_the_work_dir(env):
    from mocose.runner import load_results

    pairs = get("sweep").configs(PROFILE, 1)[:1]
    sweep(pairs, profile=PROFILE, results_dir=env / "results", data_dir=env / "data",
            keep_checkpoints=True, progress=False)
    (result,) = load_results(env / "results", PROFILE).values()
    assert Path(result["best_checkpoint"]).is_dir()
    assert (env / "results" / PROFILE / "work" / result["run_id"] / "ckpt").exists()


# -- failures -------------------------------------------------------------------------------------
def test_a_failing_job_is_recorded_and_the_others_finish(env):
    ids = dict(zip(ETAS["broken"], ids_of("broken")))
    done = subprocess.run(reproduce_cmd(env, "broken", "--devices", "cpu:2"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert {p.stem for p in runs_dir(env).glob("*.json")} == {ids[0.8], ids[0.9]}
    failed_dir = env / "results" / PROFILE / "failed"
    failed = {p.stem: json.loads(p.read_text()) for p in failed_dir.glob("*.json")}
    assert set(failed) == {ids[RAISES], ids[EXITS_137], ids[SEGFAULTS]}
    raised = failed[ids[RAISES]]
    assert raised["status"] == "failed" and raised["error"] == f"ValueError: boom at ema_decay={RAISES}"
    assert "fake_experiment" in raised["traceback"] and raised["run_id"] == ids[RAISES]
    assert raised["config"]["ema"]["ema_decay"] == RAISES and raised["seed"] == BASE_SEED
    assert "137" in failed[ids[EXITS_137]]["error"]
    assert "SIGSEGV" in failed[ids[SEGFAULTS]]["error"]
    assert "3 failed" in done.stdout
    # The next sweep retries only the failed runs; once they succeed their failure files go.
    first = len(started(env))
    healed = subprocess.run(reproduce_cmd(env, "broken", "--devices", "cpu:2"), capture_output=True,
                            text=True, timeout=120, env=dict(os.environ, MOCOSE_FAKE_HEAL="1"))
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert sorted(r for r, _ in started(env)[first:]) == sorted([ids[RAISES], ids[EXITS_137], ids[SEGFAULTS]])
    assert not list(failed_dir.glob("*.json"))
    assert len(list(runs_dir(env).glob("*.json"))) == 5


def test_sigkill_midway_then_restart_redoes_only_unfinished_runs(env):
    ids = ids_of("long")
    proc = subprocess.Popen(reproduce_cmd(env, "long", "--devices", "cpu:2"),
                            env=dict(os.environ, MOCOSE_FAKE_SLEEP="1.5"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    # Kill once two runs are finished and two more are under way (checkpointed, not finished).
    while time.time() < deadline:
        n_done = len(list(runs_dir(env).glob("*.json"))) if runs_dir(env).exists() else 0
        if n_done >= 2 and len(started(env)) >= 4:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    time.sleep(2.0)  # the killed jobs' processes die with their launcher: no late result appears
    finished = {p.stem for p in runs_dir(env).glob("*.json")}
    assert 2 <= len(finished) < len(ids)
    for path in runs_dir(env).iterdir():  # no partial or temporary file
        assert path.suffix == ".json" and json.loads(path.read_text())["status"] == "ok"
    interrupted = {r for r, _ in started(env)} - finished
    assert interrupted
    first = len(started(env))

    again = subprocess.run(reproduce_cmd(env, "long", "--devices", "cpu:2"), capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    second = started(env)[first:]
    assert sorted(r for r, _ in second) == sorted(set(ids) - finished)
    assert all(resumed for r, resumed in second if r in interrupted)  # from their checkpoints
    assert not any(resumed for r, resumed in second if r not in interrupted)
    assert {p.stem for p in runs_dir(env).glob("*.json")} == set(ids)


# -- job processes ---------------------------------------------------------------------------------
def pids(tmp: Path) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"(\w+) start .* pid=(\d+)",
                                                            (tmp / "fake.log").read_text())}


def test_a_slot_reuses_its_job_process_until_a_run_fails(env):
    """Runs on one slot share one process; a failed run (an exception, exit 137, a segfault) ends
    its process and the slot's next run starts in a fresh one; every outcome is recorded."""
    summary = sweep(get("broken").configs(PROFILE, 1), profile=PROFILE, results_dir=env / "results",
                      data_dir=env / "data", devices="cpu", progress=False)
    ids = dict(zip(ETAS["broken"], ids_of("broken")))
    by_run = pids(env)
    assert [o.run_id for o in summary.outcomes] == ids_of("broken")  # one slot: in plan order
    assert [o.status for o in summary.outcomes] == ["done", "failed", "failed", "failed", "done"]
    assert by_run[ids[0.8]] == by_run[ids[RAISES]]  # the second run reused the first one's process
    later = [by_run[ids[e]] for e in (RAISES, EXITS_137, SEGFAULTS, 0.9)]
    assert len(set(later)) == 4  # after each failure, a fresh process
    assert by_run[ids[0.8]] != os.getpid()
    failed = env / "results" / PROFILE / "failed"
    assert "SIGSEGV" in json.loads((failed / f"{ids[SEGFAULTS]}.json").read_text())["error"]


def test_one_reproduce_of_several_artifacts_keeps_its_job_processes(env):
    """`reproduce sweep long` runs both artifacts' runs through the same two slot processes (the
    second artifact starts none), and an unknown name is refused before anything runs."""
    def both(second: str) -> list[str]:
        cmd = reproduce_cmd(env, "sweep", "--devices", "cpu:2")
        return cmd[:6] + [second] + cmd[6:]

    for second in ("nosuch", "all"):  # an unknown name; 'all' beside a name
        bad = subprocess.run(both(second), capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2 and second in bad.stderr and not started(env), bad.stderr
    done = subprocess.run(both("long"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    by_run = pids(env)
    assert set(by_run) == set(ids_of("sweep") + ids_of("long"))
    first, second = {by_run[i] for i in ids_of("sweep")}, {by_run[i] for i in ids_of("long")}
    assert len(first | second) <= 2 and second <= first
    assert "=== sweep (1/2," in done.stdout and "=== long (2/2," in done.stdout


def test_an_artifact_that_raises_does_not_stop_the_next(env, monkeypatch, capsys):
    """Not a failed run but an exception (here: in planning) in one of several artifacts: it is
    named, the others still run, the exit status is 1."""
    from mocose.cli import main
    from mocose.reproduce import pipeline
    from mocose.runner.plan import plan_runs
    from mocose.runner.sweep import SweepSummary

    seen = []

    def execute(pairs, options, slots, *, artifact, **kw):
        seen.append(artifact)
        if artifact == "long":
            raise RuntimeError("planning went wrong")
        return SweepSummary(plan_runs(pairs, options.results_dir, options.profile, artifact))

    monkeypatch.setattr(pipeline, "execute", execute)
    cmd = reproduce_cmd(env, "sweep")
    code = main(cmd[4:6] + ["long", "broken"] + cmd[6:], registry=REGISTRY, functions=FUNCTIONS)
    err = capsys.readouterr().err
    assert code == 1 and seen == ["sweep", "long", "broken"]
    assert "mocose: long: RuntimeError: planning went wrong" in err
    assert "artifacts with failed runs or reports: long (see" in err


def test_reused_and_fresh_processes_give_the_same_results(env):
    from mocose.runner import load_results

    pairs = get("sweep").configs(PROFILE, 1)
    for folder, fresh in (("fresh", True), ("reused", False)):
        assert sweep(pairs, profile=PROFILE, results_dir=env / folder, data_dir=env / "data",
                       devices="cpu", progress=False, process_per_run=fresh).ok
    log = pids(env)
    assert len(set(log.values())) == 1  # the later (reused) sweep ran all four in one process
    a, b = load_results(env / "fresh", PROFILE), load_results(env / "reused", PROFILE)
    strip = lambda r: {k: v for k, v in r.items() if k not in PROVENANCE}  # noqa: E731
    assert set(a) == set(b) and all(strip(a[k]) == strip(b[k]) for k in a)


# -- Dask -----------------------------------------------------------------------------------------
PROVENANCE = ("wall_time", "created", "host", "device")


def test_dask_local_cluster_gives_the_joblib_result_files(env):
    distributed = pytest.importorskip("distributed")
    from mocose.runner import load_results

    pairs = get("sweep").configs(PROFILE, 1)
    local = sweep(pairs, profile=PROFILE, results_dir=env / "joblib", data_dir=env / "data",
                    devices="cpu:2", progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        remote = sweep(pairs, profile=PROFILE, results_dir=env / "dask", data_dir=env / "data",
                         scheduler=cluster.scheduler_address, progress=False)
    assert local.ok and remote.ok
    a, b = load_results(env / "joblib", PROFILE), load_results(env / "dask", PROFILE)
    assert set(a) == set(b) == set(ids_of("sweep"))
    strip = lambda r: {k: v for k, v in r.items() if k not in PROVENANCE}  # noqa: E731
    assert all(strip(a[k]) == strip(b[k]) for k in a)


def test_dask_gpu_jobs_share_a_worker_gpu_by_fractional_resources(env, monkeypatch):
    """--devices cudax2 on a worker with GPU=1 and 2 threads: each job asks for half the GPU, so
    two run at once on it (the fake experiment needs no real GPU; it logs its device)."""
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv("MOCOSE_FAKE_SLEEP", "1.5")
    pairs = get("sweep").configs(PROFILE, 1)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, resources={"GPU": 1},
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        summary = sweep(pairs, profile=PROFILE, results_dir=env / "results", data_dir=env / "data",
                          devices="cudax2", scheduler=cluster.scheduler_address, progress=False)
    assert summary.ok and len(summary.outcomes) == 4
    assert {o.device for o in summary.outcomes} == {"cuda:0"}
    assert "device=cuda:0" in (env / "fake.log").read_text()
    starts = sorted(float(t) for t in re.findall(r"t=([\d.]+)", (env / "fake.log").read_text()))
    assert len(starts) == 4 and starts[1] - starts[0] < 1.0  # two jobs ran side by side


# -- run_all.sh -----------------------------------------------------------------------------------
def run_all_logged(env: Path, devices: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """run_all.sh through a mocose command that logs each call (its report a no-op): the result
    and the calls made."""
    calls = env / "calls.log"
    wrapper = env / "mocose_cmd"
    wrapper.write_text("#!/bin/sh\n"
                       f'echo "$@" >> {calls}\n'
                       'if [ "$1" = report ]; then exit 0; fi\n'
                       f'exec {" ".join(mocose_with("test_runner_sweep"))} "$@"\n')
    wrapper.chmod(0o755)
    done = subprocess.run([str(ROOT / "run_all.sh"), "--profile", PROFILE, "--devices", devices,
                           "--seeds", "1", "--data", str(env / "data"), "--results", str(env / "results")],
                          env=dict(os.environ, MOCOSE=str(wrapper)), capture_output=True, text=True,
                          timeout=300)
    return done, calls.read_text().splitlines() if calls.exists() else []


def test_run_all_continues_past_a_failed_artifact_and_exits_non_zero(env):
    done, lines = run_all_logged(env, "cpu:2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "artifacts with failed runs or reports: broken (see" in done.stderr
    reproduce = [line.split() for line in lines if line.startswith("reproduce")]
    assert len(reproduce) == 1 and reproduce[0][1:1 + len(names())] == names()  # one call, all of them
    assert all(f"=== {n} ({i}/{len(names())}," in done.stdout for i, n in enumerate(names(), 1))
    assert lines[-1] == f"report --profile {PROFILE} --results {env / 'results'}"
    all_ids = {i for n in names() for i in ids_of(n)}
    good = all_ids - set(ids_of("broken")[1:4])
    assert {p.stem for p in runs_dir(env).glob("*.json")} == good


def test_run_all_stops_when_reproduce_refuses_its_arguments(env):
    """A bad --devices: reproduce exits 2 before any run, and run_all.sh exits 2 with no report."""
    done, lines = run_all_logged(env, "banana")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "banana" in done.stderr and "nothing ran" in done.stderr and not started(env)
    assert any(line.startswith("reproduce") for line in lines)
    assert not any(line.startswith("report") for line in lines)


def test_run_all_dry_run_counts_distinct_runs_and_runs_nothing(env):
    """sweep (4 runs), broken (5, two shared with sweep) and long (6): 13 distinct runs of 16
    smoke steps each, priced by the table; nothing is launched."""
    from mocose.runner.cost import RUN_SECONDS, STEP_SECONDS, format_duration

    done = subprocess.run([str(ROOT / "run_all.sh"), "--profile", PROFILE, "--devices", "cpu:2", "--dry-run",
                           "--seeds", "1", "--data", str(env / "data"), "--results", str(env / "results")],
                          env=dict(os.environ, MOCOSE=" ".join(mocose_with("test_runner_sweep"))),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    device = 13 * 16 * STEP_SECONDS[PROFILE, "cpu"] + 13 * RUN_SECONDS[PROFILE, "cpu"]
    assert "all 3 artifacts [smoke]: 13 runs, 0 done, 13 to run" in done.stdout
    assert (f"13 runs to train (208 steps), 0 to evaluate only; estimated device time "
            f"{format_duration(device)}") in done.stdout
    assert not started(env) and not (env / "results").exists()


# -- the real experiment and registry --------------------------------------------------------------
@pytest.mark.slow
def test_a_reused_job_process_repeats_a_fresh_process_on_the_real_experiment(tmp_path, monkeypatch):
    """The real experiment (tiny BERT, 6 steps, STS-B only): run B after run A in one job process
    gives the result B gets in a process of its own; nothing of A (random state, precision,
    determinism, caches) leaks into B."""
    from mocose.runner import load_results

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    small = {"train_sentences": 48, "batch_size": 8, "eval_steps": 3, "max_steps": 6, "queue_size": 16,
             "eval_tasks": "STSBenchmark"}
    base = load_profile(PROFILE).override(small)
    a = base.override({"matmul_precision": "high", "ema_decay": 0.5, "seed": 7})
    b = base.override({"ema_decay": 0.9})
    data = os.environ["MOCOSE_DATA"]
    reused = sweep([(Cell("a"), a), (Cell("b"), b)], profile=PROFILE, results_dir=tmp_path / "reused",
                   data_dir=data, devices="cpu", progress=False, functions=JobFunctions())
    alone = sweep([(Cell("b"), b)], profile=PROFILE, results_dir=tmp_path / "alone", data_dir=data,
                  devices="cpu", progress=False, process_per_run=True, functions=JobFunctions())
    assert reused.ok and alone.ok
    one = load_results(tmp_path / "reused", PROFILE)[b.digest()]
    two = load_results(tmp_path / "alone", PROFILE)[b.digest()]
    timeless = lambda metrics: {k: v for k, v in metrics.items() if k != "seconds"}  # noqa: E731
    assert timeless(one["metrics"]) == timeless(two["metrics"])
    assert one["analysis"] == two["analysis"] and one["precision"] == two["precision"]
    assert one["training"]["curve"] == two["training"]["curve"]
