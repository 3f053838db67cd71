"""Runs, executed in a job process: ``python -m mocose.runner job --config SPEC_JSON`` runs one;
``python -m mocose.runner worker`` runs the specs it reads from its input, one a line, until a run
fails (see :func:`serve`).

The job process calls the experiment function, then writes the result file (or, on an exception,
the failure record) itself. A crash that kills the process outright (a segfault, the out-of-memory
killer) leaves nothing; the launcher in :mod:`mocose.runner.dispatch` records that one.

The spec is a JSON object built by :func:`make_spec`; everything the job needs is in it, so a job
runs the same in a local job process or on a Dask worker elsewhere.
"""
from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import json
import os
import shutil
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from ..config import Config
from ..data import files_read, forget_reads
from ..provenance import versions
from . import store
from .environment import environment


@dataclass(frozen=True)
class JobFunctions:
    """What a job process calls, as ``module:function`` names (a spec crosses processes and
    machines as JSON): ``train`` trains and evaluates a run, ``evaluate`` evaluates a finished
    run's kept checkpoint on more tasks. The reproduce layer sets them; the defaults are the
    suite's own."""

    train: str = "mocose.training.experiment:run_experiment"
    evaluate: str = "mocose.training.experiment:evaluate_more"

    def __post_init__(self) -> None:
        for name in (self.train, self.evaluate):
            module, _, attr = name.partition(":")
            if not module or not attr:
                raise ValueError(f"job function {name!r} must be written module:function")


PARENT_ENV = "MOCOSE_JOB_PARENT"


def make_spec(config: Config, *, results_dir: Path, data_dir: Path, keep_checkpoints: bool = False,
              git_commit: str | None = None, progress: bool = False,
              functions: JobFunctions = JobFunctions()) -> dict[str, Any]:
    """The job description sent to a job process (device and attempt are added at launch)."""
    return {
        "run_id": config.digest(),
        "config": config.to_dict(),
        "results_dir": str(Path(results_dir).expanduser().resolve()),
        "data_dir": str(Path(data_dir).expanduser().resolve()),
        "keep_checkpoints": bool(keep_checkpoints),
        "git_commit": git_commit,
        "progress": bool(progress),
        "experiment": functions.train,
        "evaluator": functions.evaluate,
    }


def experiment_function(name: str) -> Callable[..., dict]:
    """Import ``module:function``."""
    module, _, attr = name.partition(":")
    if not module or not attr:
        raise ValueError(f"experiment function {name!r} must be written module:function")
    return getattr(importlib.import_module(module), attr)


@contextlib.contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """Exclusive lock on a run: two sweeps that share a run never train it twice at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def die_with_parent() -> None:
    """Ask Linux to kill this process when its launcher dies (a SIGKILLed sweep leaves no orphan
    still writing into the work dir that the restarted sweep resumes from)."""
    parent = os.environ.get(PARENT_ENV)
    if not parent or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # the launcher died before prctl took effect
        os._exit(1)


def _pin_threads(threads: int | None) -> None:
    if threads and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def failure_record(config: Config, spec: dict[str, Any], error: str, trace: str,
                   wall_time: float, **extra: Any) -> dict[str, Any]:
    """What results/<profile>/failed/<run_id>.json holds."""
    return {
        **store.identity(config),
        "status": "failed",
        "error": error,
        "traceback": trace,
        "attempt": spec.get("attempt"),
        "device": spec.get("device_label"),
        "host": store.host(),
        "wall_time": wall_time,
        "created": store.now_iso(),
        "versions": versions(),
        "git_commit": spec.get("git_commit"),
        **extra,
    }


def run_job(spec: dict[str, Any]) -> int:
    """Run one job spec in this process; 0 when its result file exists afterwards."""
    config = Config.from_dict(spec["config"])
    run_id = config.digest()
    if run_id != spec["run_id"]:
        raise ValueError(f"spec run_id {spec['run_id']} does not match its config's digest {run_id}")
    results = Path(spec["results_dir"])
    profile = config.profile
    result_file = store.result_path(results, profile, run_id)
    failed_file = store.failure_path(results, profile, run_id)
    work_dir = store.work_path(results, profile, run_id)

    lock = work_dir.with_name(f"{run_id}.lock")
    if spec.get("evaluate"):
        with run_lock(lock):
            return evaluate_job(spec, config, result_file, failed_file)
    with run_lock(lock):
        if result_file.exists():  # finished meanwhile by another sweep
            return 0
        work_dir.mkdir(parents=True, exist_ok=True)
        start = time.time()
        forget_reads()  # the files this run reads are its own provenance
        try:
            run = experiment_function(spec["experiment"])
            _pin_threads(spec.get("threads"))
            body = run(config, Path(spec["data_dir"]), work_dir, device=spec.get("device", "cpu"),
                       resume=True, progress=bool(spec.get("progress", False)),
                       **({"report_to": spec["report_to"]} if spec.get("report_to") else {}))
            if not isinstance(body, dict) or "status" not in body:
                raise TypeError(f"the experiment function returned {type(body).__name__}, "
                                "not a result body with a 'status'")
        except BaseException as err:  # noqa: BLE001 - every failure of a run is recorded
            store.atomic_write_json(failed_file, failure_record(
                config, spec, f"{type(err).__name__}: {err}", traceback.format_exc(),
                time.time() - start))
            return 130 if isinstance(err, KeyboardInterrupt) else 1
        wall = time.time() - start
        removed = not spec.get("keep_checkpoints") and work_dir.exists()
        result = dict(body)
        # A run another artifact evaluates later on more tasks keeps its best checkpoint.
        keep_best = removed and bool(spec.get("keep_best")) and _inside(result.get("best_checkpoint"), work_dir)
        if removed and not keep_best and result.get("best_checkpoint"):
            result["best_checkpoint"] = None  # the folder goes with the work dir
        from ..evaluation.tasks import parse_tasks

        result["evaluated_tasks"] = parse_tasks(config.eval.eval_tasks)
        result.update(store.identity(config))
        result.update({
            "wall_time": wall,
            "device": spec.get("device_label") or spec.get("device", "cpu"),
            "versions": versions(),
            "git_commit": spec.get("git_commit"),
            "environment": environment(versions(), spec.get("git_commit"), files_read(), spec["data_dir"]),
            "created": store.now_iso(),
            "host": store.host(),
        })
        store.atomic_write_json(result_file, result)
        failed_file.unlink(missing_ok=True)
        if removed:
            _clear_work(work_dir, keep=Path(result["best_checkpoint"]) if keep_best else None)
        # Safe to unlink while held: a waiter that then gets the lock finds the result and stops.
        lock.unlink(missing_ok=True)
    return 0


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors 1 and 2, so child processes and C
    libraries too) to the end of ``path`` for the block, then to /dev/null."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
        os.close(fd)


def release_memory() -> None:
    """Give back what a finished run held (its model, its GPU cache) before the next run."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def serve() -> int:
    """Run job specs read from stdin, one JSON object a line, answering ``{"code": N}`` a line on
    the original stdout; each run's output goes to its log file. The process ends at the end of
    its input, or after a run that failed (its exit status is that run's), so that the launcher
    starts a fresh one for the next run."""
    control = os.fdopen(os.dup(1), "w", buffering=1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    while True:
        line = sys.stdin.readline()
        if not line.strip():
            return 0
        spec = json.loads(line)
        config = Config.from_dict(spec["config"])
        with output_to(store.log_path(Path(spec["results_dir"]), config.profile, spec["run_id"])):
            code = run_job(spec)
        control.write(json.dumps({"code": code}) + "\n")
        if code:
            return code
        release_memory()


def release_kept(results_dir: str | os.PathLike, profile: str, run_id: str, needed: set[str]) -> bool:
    """Remove the best checkpoint a finished run kept for a later evaluation (its work dir holds
    ``best/`` only) once its result holds every task in ``needed``; the result then names no
    checkpoint. A work dir kept whole (``--keep-checkpoints``) is left alone. True if removed."""
    results = Path(results_dir)
    result_file = store.result_path(results, profile, run_id)
    work_dir = store.work_path(results, profile, run_id)

    def kept_best_only() -> bool:
        try:
            return result_file.exists() and [p.name for p in work_dir.iterdir()] == ["best"]
        except (FileNotFoundError, NotADirectoryError):  # none, or released meanwhile by another sweep
            return False

    if not kept_best_only():
        return False
    lock = work_dir.with_name(f"{run_id}.lock")
    with run_lock(lock):
        if not kept_best_only():  # checked again under the lock: another sweep may have been first
            return False
        result = store.read_json(result_file)
        if not needed <= set(result.get("evaluated_tasks") or ()):
            return False
        result["best_checkpoint"] = None
        store.atomic_write_json(result_file, result)
        shutil.rmtree(work_dir, ignore_errors=True)
        lock.unlink(missing_ok=True)
    return True


def _inside(path: str | None, folder: Path) -> bool:
    return bool(path) and Path(path).resolve().is_relative_to(folder.resolve())


def _clear_work(work_dir: Path, keep: Path | None = None) -> None:
    """Remove a finished run's work dir, or everything in it but the ``keep`` folder."""
    if keep is None:
        shutil.rmtree(work_dir, ignore_errors=True)
        return
    for child in work_dir.iterdir():
        if child.resolve() == keep.resolve():
            continue
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def evaluate_job(spec: dict[str, Any], config: Config, result_file: Path, failed_file: Path) -> int:
    """Evaluate a finished run on the tasks ``spec["evaluate"]`` names (its kept best checkpoint,
    or the encoder itself for method none) and merge the scores into its result file."""
    start = time.time()
    try:
        result = store.read_json(result_file)
        tasks = [t for t in spec["evaluate"] if t not in result.get("evaluated_tasks", ())]
        if tasks:
            evaluate = experiment_function(spec["evaluator"])
            _pin_threads(spec.get("threads"))
            forget_reads()
            metrics = evaluate(config, result, tasks, Path(spec["data_dir"]),
                               device=spec.get("device", "cpu"), progress=bool(spec.get("progress")))
            result["metrics"] = metrics
            result["evaluated_tasks"] = list(dict.fromkeys(list(result.get("evaluated_tasks", ())) + tasks))
            result.setdefault("evaluations", []).append({
                "tasks": tasks, "wall_time": time.time() - start, "created": store.now_iso(),
                "device": spec.get("device_label") or spec.get("device", "cpu"), "host": store.host(),
                "git_commit": spec.get("git_commit"),
                "environment": environment(versions(), spec.get("git_commit"), files_read(),
                                           spec["data_dir"])})
            store.atomic_write_json(result_file, result)
    except BaseException as err:  # noqa: BLE001 - recorded like a failed run; the result stays
        store.atomic_write_json(failed_file, failure_record(
            config, spec, f"evaluating on {spec.get('evaluate')}: {type(err).__name__}: {err}",
            traceback.format_exc(), time.time() - start))
        return 130 if isinstance(err, KeyboardInterrupt) else 1
    failed_file.unlink(missing_ok=True)
    return 0
