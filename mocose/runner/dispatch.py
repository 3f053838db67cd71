"""Running job specs on local device slots or a Dask cluster, each run isolated in a child process.

Locally each slot keeps one job process (``python -m mocose.runner worker``) that takes runs one
after another, so the imports and the start of Python are paid once a slot, not once a run. A run
that fails (an exception, a crash, an out-of-memory kill) ends that process: its failure is recorded
(by the process, or by the launcher when the process died outright) and the slot's next run starts
in a fresh process. A run that succeeds leaves nothing behind that the next one reads: each run
seeds its generators and sets its own precision and determinism flags.

Devices (``--devices``) are parsed into slots by :mod:`mocose.runner.slots`.

On a Dask cluster (``--scheduler tcp://HOST:PORT``) each job is a fresh process on a worker. For
GPUs start one worker per GPU with that GPU visible, one GPU resource and K threads, so that K jobs
share it (each job asks for 1/K of the GPU resource)::

    CUDA_VISIBLE_DEVICES=0 dask worker tcp://HOST:8786 --nthreads 4 --resources GPU=1
    CUDA_VISIBLE_DEVICES=1 dask worker tcp://HOST:8786 --nthreads 4 --resources GPU=1

and pass ``--devices cudax4`` (K as in the worker's --nthreads). With dask-jobqueue on SLURM:
``SLURMCluster(cores=4, processes=1, job_extra_directives=["--gres=gpu:1"], worker_extra_args=
["--resources", "GPU=1"])``; SLURM sets CUDA_VISIBLE_DEVICES to the GPU it granted. The job uses
``cuda:0``, the one GPU its worker sees; ``--scheduler slurm`` builds that cluster itself
(:mod:`mocose.runner.slurm`). The results folder and the data must be on a file system every
worker sees.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from ..config import Config, ConfigError
from . import store
from .job import PARENT_ENV, failure_record
from .slots import Slot, thread_env

LOG_TAIL_CHARS = 4000
SOURCE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class Outcome:
    """What became of one job."""

    run_id: str
    status: str  # "done" | "failed"
    error: str | None = None
    wall_time: float = 0.0
    device: str = ""
    returncode: int = 0  # the job process's exit status (< 0: killed by that signal)


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


def _child_env(slot: Slot) -> dict[str, str]:
    env = dict(os.environ, **slot.env)
    env[PARENT_ENV] = str(os.getpid())
    # The child imports this very mocose, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [SOURCE_ROOT, env.get("PYTHONPATH")]))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _begin(spec: dict[str, Any], slot: Slot) -> tuple[dict[str, Any], Config, Path]:
    """The spec as launched on ``slot`` (device and a fresh attempt id), its config and its log,
    which gets a header line for this attempt."""
    spec = dict(spec, device=slot.device, device_label=slot.label, threads=slot.threads,
                attempt=uuid.uuid4().hex)
    config = Config.from_dict(spec["config"])
    log = store.log_path(Path(spec["results_dir"]), config.profile, spec["run_id"])
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n=== attempt {spec['attempt']} on {slot.label} at {store.now_iso()} ===\n".encode())
    return spec, config, log


def _finish(spec: dict[str, Any], config: Config, log: Path, code: int, wall: float,
            slot: Slot) -> Outcome:
    """The outcome of an attempt that ended with exit status ``code``; records the failure when
    the job process could not."""
    run_id, results = spec["run_id"], Path(spec["results_dir"])
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
    return Outcome(run_id, "failed", error, wall, slot.label, code)


def launch(spec: dict[str, Any], slot: Slot) -> Outcome:
    """Run ``spec`` in a fresh child process on ``slot`` and wait (the Dask path)."""
    spec, config, log = _begin(spec, slot)
    start = time.time()
    with log.open("ab") as out:
        code = subprocess.call([sys.executable, "-m", "mocose.runner", "job", "--config", json.dumps(spec)],
                               stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env=_child_env(slot))
    return _finish(spec, config, log, code, time.time() - start, slot)


class JobProcess:
    """The job process of one slot: started on its first run, reused while runs succeed, and
    replaced after a run that failed (or killed it), so the next run starts clean."""

    def __init__(self, slot: Slot) -> None:
        self.slot = slot
        self.proc: subprocess.Popen | None = None
        self.pids: list[int] = []  # every process this slot started, oldest first

    def run(self, spec: dict[str, Any]) -> Outcome:
        spec, config, log = _begin(spec, self.slot)
        start = time.time()
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, "-m", "mocose.runner", "worker"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, env=_child_env(self.slot),
                                         text=True, bufsize=1)
            self.pids.append(self.proc.pid)
        try:
            self.proc.stdin.write(json.dumps(spec) + "\n")
            self.proc.stdin.flush()
            reply = self.proc.stdout.readline()
        except OSError:  # the process died before it read the spec
            reply = ""
        try:
            code = int(json.loads(reply)["code"]) if reply.strip() else None
        except (ValueError, KeyError, TypeError):
            code = None
        if code is None:  # no answer: the process died during the run (crash, OOM kill)
            code = self.proc.wait()
            code = code if code else 1
        if code != 0:
            self.close()
        return _finish(spec, config, log, code, time.time() - start, self.slot)

    def close(self) -> None:
        """End the process: it exits when its input closes; one that hangs is killed."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class SlotPool:
    """The local slots, each fed by one thread that lives as long as the pool and keeps the slot's
    job process, so consecutive batches of runs (the artifacts of one ``reproduce``) reuse the
    processes that earlier batches started. ``process_per_run``: a fresh process for every run
    instead (nothing of one run can then reach the next).

    A thread only waits; the processes do the work. The thread that starts a process outlives it,
    as Linux's die-with-parent signal (sent when the creating thread ends) wants.
    """

    def __init__(self, slots: list[Slot], process_per_run: bool = False) -> None:
        self.slots = list(slots)
        self.process_per_run = process_per_run
        self._todo: queue.Queue = queue.Queue()
        self._threads: list[threading.Thread] = []

    def _serve(self, slot: Slot) -> None:
        process = JobProcess(slot)
        try:
            while True:
                item = self._todo.get()
                if item is None:  # the pool closes
                    return
                spec, finished = item
                try:
                    finished.put(launch(spec, slot) if self.process_per_run else process.run(spec))
                except BaseException as err:  # noqa: BLE001 - handed to the waiting thread
                    finished.put(err)
        finally:
            process.close()

    def run(self, specs: Iterable[dict[str, Any]], on_outcome: Callable[[Outcome], None]) -> list[Outcome]:
        """Run the jobs, one at a time per slot, calling ``on_outcome`` as each ends."""
        specs = list(specs)
        finished: queue.Queue[Outcome | BaseException] = queue.Queue()
        while len(self._threads) < min(len(specs), len(self.slots)):  # a slot starts when needed
            thread = threading.Thread(target=self._serve, args=(self.slots[len(self._threads)],), daemon=True)
            thread.start()
            self._threads.append(thread)
        for spec in specs:
            self._todo.put((spec, finished))
        outcomes: list[Outcome] = []
        while len(outcomes) < len(specs):
            item = finished.get()
            if isinstance(item, BaseException):
                self._drop_waiting()
                raise item
            on_outcome(item)
            outcomes.append(item)
        return outcomes

    def _drop_waiting(self) -> None:
        """Forget the runs no slot has taken yet."""
        try:
            while True:
                self._todo.get_nowait()
        except queue.Empty:
            pass

    def close(self, wait: bool = True) -> None:
        """End every slot's thread and job process once its current run is over (``wait``); runs
        not yet taken are dropped. Without ``wait`` (an interrupt) the threads are left to die with
        this process, and the job processes with them (die-with-parent)."""
        self._drop_waiting()
        for _ in self._threads:
            self._todo.put(None)
        if wait:
            for thread in self._threads:
                thread.join()
        self._threads = []

    def __enter__(self) -> "SlotPool":
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        self.close(wait=exc_type is None)


def run_local(specs: Iterable[dict[str, Any]], slots: list[Slot],
              on_outcome: Callable[[Outcome], None], process_per_run: bool = False,
              pool: SlotPool | None = None) -> list[Outcome]:
    """Run the jobs on the slots, one at a time per slot, each slot through its job process:
    those of ``pool`` when given (kept for the next call), else a pool of ``slots`` for this call."""
    if pool is not None:
        return pool.run(specs, on_outcome)
    with SlotPool(slots, process_per_run) as own:
        return own.run(specs, on_outcome)


class JobLost(RuntimeError):
    """The job process was killed from outside (its worker's SLURM job cancelled, preempted, out of
    time): raised on the worker so that Dask retries the run, which resumes from its saved state."""


LOST_SIGNALS = (signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGHUP)


def run_on_worker(spec: dict[str, Any], gpu: bool | float, runs_at_once: int = 0) -> Outcome:
    """The task a Dask worker runs: launch the job on the device the worker was started with.
    A job killed by a signal is lost, not failed (:class:`JobLost`); a job that failed for its
    own reasons (an error, a NaN loss) returns its failed outcome and is not retried."""
    if gpu:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0] or "0"
        slot = Slot(f"cuda:{visible}", "cuda:0", None, {})
    else:
        threads = _worker_threads()
        if threads and runs_at_once > 1:
            threads = max(1, threads // runs_at_once)
        slot = Slot("cpu", "cpu", threads, thread_env(threads) if threads else {})
    outcome = launch(spec, slot)
    if outcome.status == "failed" and -outcome.returncode in LOST_SIGNALS:
        raise JobLost(f"{spec['run_id']}: {outcome.error}")
    return outcome


def _worker_threads() -> int | None:
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return None


def run_dask(specs: Iterable[dict[str, Any]], address: str, gpu: float,
             on_outcome: Callable[[Outcome], None], retries: int = 2,
             resources: dict[str, float] | None = None, runs_at_once: int = 0) -> list[Outcome]:
    """Send the jobs to the Dask scheduler at ``address``; a run whose worker or job process is
    lost is retried up to ``retries`` times (resuming from its saved state), then recorded failed.

    ``gpu`` is the part of a worker's GPU resource each job asks for (1/K to run K jobs a GPU;
    0 for CPU jobs); ``resources`` replaces that request (a SLURM worker's run slots);
    ``runs_at_once``: how many runs share a CPU worker's threads."""
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
            future = client.submit(run_on_worker, spec, bool(gpu), runs_at_once,
                                   key=f"mocose-{spec['run_id']}-{uuid.uuid4().hex[:8]}",
                                   resources=resources or ({"GPU": gpu} if gpu else None), pure=False,
                                   retries=retries)
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
