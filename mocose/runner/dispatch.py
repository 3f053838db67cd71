"""Running job specs: one child process per job, on local device slots (joblib) or a Dask cluster.

Each job runs in a fresh ``python -m mocose.runner job`` process pinned to its device, so a crash,
a segfault or an out-of-memory kill ends that job only; the launcher then records the failure if
the job could not record it itself.

Devices (``--devices``):
  ``cpu``                 one job at a time, all cores
  ``cpu:N``               N jobs at a time, the cores split between them (torch threads)
  ``cuda:0,cuda:1,...``   one job per listed GPU, each child seeing only its GPU (CUDA_VISIBLE_DEVICES)

On a Dask cluster (``--scheduler tcp://HOST:PORT``) each worker runs one job at a time. For GPUs
start one worker per GPU with that GPU visible and a GPU resource, for example::

    CUDA_VISIBLE_DEVICES=0 dask worker tcp://HOST:8786 --nthreads 1 --resources GPU=1
    CUDA_VISIBLE_DEVICES=1 dask worker tcp://HOST:8786 --nthreads 1 --resources GPU=1

(with dask-jobqueue on SLURM: ``SLURMCluster(cores=1, processes=1, job_extra_directives=
["--gres=gpu:1"], worker_extra_args=["--resources", "GPU=1"])``: SLURM sets CUDA_VISIBLE_DEVICES to
the GPU it granted). When ``--devices`` asks for cuda, jobs are submitted with
``resources={"GPU": 1}`` so no two share a worker's GPU; the job uses ``cuda:0``, the one GPU its
worker sees. The results folder and the data must be on a file system every worker sees.
"""
from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..config import Config, ConfigError
from . import store
from .job import PARENT_ENV, failure_record

LOG_TAIL_CHARS = 4000
SOURCE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class Slot:
    """A place a job runs: the device label recorded, the device the child uses, its environment."""

    label: str
    device: str = "cpu"
    threads: int | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What became of one job."""

    run_id: str
    status: str  # "done" | "failed"
    error: str | None = None
    wall_time: float = 0.0
    device: str = ""


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


DEVICES_HELP = "'cpu', 'cpu:N' (N parallel CPU jobs) or a comma-separated list of 'cuda:I'"


def parse_devices(text: str) -> list[Slot]:
    """The device slots of a ``--devices`` value; one job runs on each slot at a time."""
    text = (text or "cpu").strip()
    cores = available_cores()
    if text == "cpu":
        return [Slot("cpu", "cpu", cores, _thread_env(cores))]
    m = re.fullmatch(r"cpu:(\d+)", text)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise ConfigError(f"--devices {text!r}: N must be at least 1; --devices must be {DEVICES_HELP}")
        threads = max(1, cores // n)
        return [Slot(f"cpu:{i}", "cpu", threads, _thread_env(threads)) for i in range(n)]
    slots = []
    for item in text.split(","):
        item = item.strip()
        m = re.fullmatch(r"cuda(?::(\d+))?", item)
        if not m:
            raise ConfigError(f"--devices {text!r}: {item!r} is not a device; --devices must be {DEVICES_HELP}")
        index = m.group(1) or "0"
        slots.append(Slot(f"cuda:{index}", "cuda:0", None, {"CUDA_VISIBLE_DEVICES": index}))
    if len({s.label for s in slots}) != len(slots):
        raise ConfigError(f"--devices {text!r} lists a GPU twice")
    return slots


def _thread_env(threads: int) -> dict[str, str]:
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
            "CUDA_VISIBLE_DEVICES": ""}


def wants_gpu(slots: list[Slot]) -> bool:
    return any(s.label.startswith("cuda") for s in slots)


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory? the kernel's OOM killer sends SIGKILL)" if -code == signal.SIGKILL else ""
        return f"job process killed by {name}{hint}"
    if code == 137:
        return "job process exited with code 137 (killed: out of memory?)"
    return f"job process exited with code {code}"


def _tail(path: Path, chars: int = LOG_TAIL_CHARS) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - chars))
            return f.read().decode("utf8", "replace")
    except OSError:
        return ""


def launch(spec: dict[str, Any], slot: Slot) -> Outcome:
    """Run ``spec`` in a child process on ``slot`` and wait; record a failure it could not record."""
    spec = dict(spec, device=slot.device, device_label=slot.label, threads=slot.threads,
                attempt=uuid.uuid4().hex)
    config = Config.from_dict(spec["config"])
    run_id = spec["run_id"]
    results = Path(spec["results_dir"])
    log = store.log_path(results, config.profile, run_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **slot.env)
    env[PARENT_ENV] = str(os.getpid())
    # The child imports this very mocose, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [SOURCE_ROOT, env.get("PYTHONPATH")]))
    env.setdefault("PYTHONUNBUFFERED", "1")
    start = time.time()
    with log.open("ab") as out:
        out.write(f"\n=== attempt {spec['attempt']} on {slot.label} at {store.now_iso()} ===\n".encode())
        out.flush()
        code = subprocess.call([sys.executable, "-m", "mocose.runner", "job", "--config", json.dumps(spec)],
                               stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    wall = time.time() - start
    if code == 0 and store.result_path(results, config.profile, run_id).exists():
        return Outcome(run_id, "done", None, wall, slot.label)
    failed = store.failure_path(results, config.profile, run_id)
    try:
        record = store.read_json(failed)
    except (OSError, ValueError):
        record = {}
    if record.get("attempt") == spec["attempt"]:
        return Outcome(run_id, "failed", record.get("error"), wall, slot.label)
    error = _describe_exit(code) if code else "job process exited without writing its result"
    store.atomic_write_json(failed, failure_record(config, spec, error, _tail(log), wall,
                                                   returncode=code, log=str(log)))
    return Outcome(run_id, "failed", error, wall, slot.label)


def run_local(specs: Iterable[dict[str, Any]], slots: list[Slot],
              on_outcome: Callable[[Outcome], None]) -> list[Outcome]:
    """Run the jobs with joblib, one at a time per slot, each in its own process."""
    from joblib import Parallel, delayed

    specs = list(specs)
    free: queue.Queue[Slot] = queue.Queue()
    for slot in slots:
        free.put(slot)

    def task(spec: dict[str, Any]) -> Outcome:
        slot = free.get()
        try:
            return launch(spec, slot)
        finally:
            free.put(slot)

    outcomes = []
    if not specs:
        return outcomes
    # Threads only wait on the child processes, so the threading backend is enough.
    parallel = Parallel(n_jobs=min(len(slots), len(specs)), backend="threading",
                        return_as="generator_unordered")
    for outcome in parallel(delayed(task)(spec) for spec in specs):
        on_outcome(outcome)
        outcomes.append(outcome)
    return outcomes


def run_on_worker(spec: dict[str, Any], gpu: bool) -> Outcome:
    """The task a Dask worker runs: launch the job on the device the worker was started with."""
    if gpu:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0] or "0"
        slot = Slot(f"cuda:{visible}", "cuda:0", None, {})
    else:
        threads = _worker_threads()
        slot = Slot("cpu", "cpu", threads, _thread_env(threads) if threads else {})
    return launch(spec, slot)


def _worker_threads() -> int | None:
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return None


def run_dask(specs: Iterable[dict[str, Any]], address: str, gpu: bool,
             on_outcome: Callable[[Outcome], None]) -> list[Outcome]:
    """Send the jobs to the Dask scheduler at ``address``; a lost worker fails its job only."""
    try:
        from distributed import Client, as_completed
    except ImportError as err:  # pragma: no cover - dask is in the dev and cluster extras
        raise ConfigError("--scheduler needs dask.distributed: pip install 'mocose[cluster]'") from err
    specs = list(specs)
    outcomes: list[Outcome] = []
    if not specs:
        return outcomes
    with Client(address, timeout="30s") as client:
        futures, by_key = [], {}
        for spec in specs:
            future = client.submit(run_on_worker, spec, gpu,
                                   key=f"mocose-{spec['run_id']}-{uuid.uuid4().hex[:8]}",
                                   resources={"GPU": 1} if gpu else None, pure=False, retries=0)
            futures.append(future)
            by_key[future.key] = spec
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as err:  # noqa: BLE001 - the worker itself died or the task failed
                outcome = _record_lost(by_key[future.key], f"{type(err).__name__}: {err}")
            on_outcome(outcome)
            outcomes.append(outcome)
    return outcomes


def _record_lost(spec: dict[str, Any], error: str) -> Outcome:
    config = Config.from_dict(spec["config"])
    path = store.failure_path(spec["results_dir"], config.profile, spec["run_id"])
    store.atomic_write_json(path, failure_record(config, spec, error, "", 0.0))
    return Outcome(spec["run_id"], "failed", error, 0.0, "dask")
