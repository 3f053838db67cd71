"""Running a sweep's jobs on the SLURM cluster of this machine, through dask-jobqueue.

``--scheduler slurm`` starts a Dask scheduler in the ``reproduce`` process and a
``dask_jobqueue.SLURMCluster`` whose SLURM jobs are Dask workers; the sweep then goes through the
same Dask path as ``--scheduler tcp://`` (one task a run, :func:`mocose.runner.dispatch.run_dask`).
Why dask-jobqueue rather than submitit: the suite already sends runs to Dask workers, so a worker
that is a SLURM job changes nothing downstream; a worker serves run after run (one SLURM job, one
Python and CUDA start, for many runs, as local slots do), several runs share one GPU job through
the worker's threads and its GPU resource, as ``--devices cuda:0xK`` packs them locally; and a
worker lost to ``scancel``, preemption, a node failure or its time limit is replaced by
``adapt`` while the scheduler reschedules its runs (up to ``--retries`` times), each resuming
from its saved state. Closing the cluster (the end of the sweep, an error or Ctrl-C) cancels every
SLURM job it submitted.
"""
from __future__ import annotations

import contextlib
import math
import re
import shutil
import signal
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from ..config import ConfigError
from .slots import Slot, wants_gpu

SLURM_TIME = re.compile(r"^(\d+-)?\d{1,3}(:\d{2}){0,2}$")
MEMORY = re.compile(r"^\d+(\.\d+)?\s*[KMGT]i?B$", re.I)
MIN_JOB_SECONDS = 3600.0
TIME_MARGIN = 2.0


@dataclass(frozen=True)
class SlurmOptions:
    """The ``--slurm-*`` options; ``time`` None: from the cost estimate (see :func:`job_time`)."""

    partition: str | None = None
    time: str | None = None
    gpus_per_job: int | None = None  # None: 1 when the devices name CUDA, else 0
    cpus_per_job: int = 2
    mem: str = "8GB"
    max_jobs: int = 4
    extra: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.time is not None and not SLURM_TIME.match(self.time):
            raise ConfigError(f"--slurm-time {self.time!r} is not allowed: give SLURM's time format, "
                              f"e.g. 04:00:00, 90 (minutes) or 1-12:00:00")
        if not MEMORY.match(self.mem):
            raise ConfigError(f"--slurm-mem {self.mem!r} is not allowed: give a size such as 8GB or 16GiB")
        for name, value, low in (("--slurm-cpus-per-job", self.cpus_per_job, 1),
                                 ("--slurm-max-jobs", self.max_jobs, 1),
                                 ("--slurm-gpus-per-job", self.gpus_per_job or 0, 0)):
            if value < low:
                raise ConfigError(f"{name} {value} is not allowed: it must be >= {low}")


def check_slurm() -> None:
    """Refuse ``--scheduler slurm`` in one line where SLURM or dask-jobqueue is missing."""
    missing = [c for c in ("sbatch", "squeue", "scancel") if shutil.which(c) is None]
    if missing:
        raise ConfigError(f"--scheduler slurm: {', '.join(missing)} not found on PATH; run on a SLURM "
                          f"login node (or start one here: scripts/slurm-local.sh start)")
    before = signal.getsignal(signal.SIGINT)
    try:
        import dask_jobqueue  # noqa: F401
    except ImportError:
        raise ConfigError("--scheduler slurm needs dask-jobqueue: pip install 'mocose[cluster]'") from None
    finally:
        # dask_jobqueue.runner, imported with the package, makes Ctrl-C a silent sys.exit() (status
        # 0): give Ctrl-C back its KeyboardInterrupt, so an interrupted sweep says so (status 130)
        signal.signal(signal.SIGINT, before)


def job_time(run_seconds: float | None, runs: int, jobs: int, runs_per_job: int) -> str:
    """A worker job's time limit: its share of the sweep's estimated device time, doubled, at least
    an hour (an underestimate costs a retry, not the run: a run resumes from its saved state)."""
    if run_seconds is None or runs == 0:
        seconds = 4 * MIN_JOB_SECONDS
    else:
        rounds = math.ceil(runs / max(jobs * runs_per_job, 1))
        seconds = max(MIN_JOB_SECONDS, TIME_MARGIN * rounds * run_seconds)
    minutes = math.ceil(seconds / 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def cluster_kwargs(opts: SlurmOptions, runs_per_job: int, gpu: bool, walltime: str,
                   log_directory: str | None = None) -> dict[str, Any]:
    """SLURMCluster's arguments: one worker a job with one resource (GPU on GPU jobs, with
    ``--gres=gpu:N``; else SLOT) that ``runs_per_job`` runs at once share; the jobs' own output
    in ``log_directory`` (the results folder's logs/slurm/, not the folder sbatch was run in)."""
    gpus = opts.gpus_per_job if opts.gpus_per_job is not None else (1 if gpu else 0)
    extra = [f"--gres=gpu:{gpus}"] if gpus else []
    extra += [line if line.startswith("--") else f"--{line}" for line in opts.extra]
    return {"cores": max(opts.cpus_per_job, runs_per_job), "processes": 1, "memory": opts.mem,
            "queue": opts.partition, "walltime": walltime, "job_extra_directives": extra,
            "worker_extra_args": ["--resources", "GPU=1" if gpus else "SLOT=1"],
            "job_name": "mocose", "silence_logs": "error", "log_directory": log_directory}


def open_cluster(kwargs: dict[str, Any], max_jobs: int, retries: int):
    """A started SLURMCluster (jobs submitted as work arrives, up to ``max_jobs``; a lost job
    replaced), with the scheduler allowing ``retries`` + 1 worker losses per run."""
    import dask
    from dask_jobqueue import SLURMCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": retries,
                          "distributed.scheduler.worker-ttl": "60s"}):
        cluster = SLURMCluster(**{k: v for k, v in kwargs.items() if v is not None})
    cluster.adapt(minimum_jobs=0, maximum_jobs=max_jobs)
    return cluster


def job_script(kwargs: dict[str, Any]) -> str:
    """The sbatch script a worker job would be submitted with (for ``--dry-run``)."""
    from dask_jobqueue import SLURMCluster

    with SLURMCluster(**{k: v for k, v in kwargs.items() if v is not None}) as cluster:
        return cluster.job_script()


def runs_per_job(slots: Sequence[Slot]) -> int:
    """Runs a worker job holds at once: K of ``--devices cuda:0xK`` (as local slots pack a GPU);
    one on CPU jobs, which gives each run all the job's CPUs."""
    if not wants_gpu(slots):
        return 1
    return max(1, len(slots) // len({s.label for s in slots}))


@contextlib.contextmanager
def scheduler(opts: SlurmOptions, slots: Sequence[Slot], retries: int, run_seconds: float | None,
              runs: int, log_directory: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """While open, a SLURMCluster for the sweep: yields (its scheduler's address, the options
    :func:`~mocose.runner.dispatch.run_dask` takes); on leaving (done, an error, Ctrl-C) every
    SLURM job it submitted is cancelled."""
    kwargs, per_job = _cluster_for(opts, slots, run_seconds, runs, log_directory)
    cluster = open_cluster(kwargs, opts.max_jobs, retries)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a terminated sweep cancels its jobs too
    try:
        resource = "GPU" if kwargs["worker_extra_args"][1].startswith("GPU") else "SLOT"
        yield cluster.scheduler_address, {"retries": retries, "runs_at_once": per_job,
                                          "resources": {resource: 1.0 / per_job}}
    finally:
        try:
            cluster.close()  # scancel of every worker job still queued or running
        finally:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def dry_run_script(opts: SlurmOptions, slots: Sequence[Slot], run_seconds: float | None, runs: int,
                   log_directory: str | None = None) -> str:
    """The job script ``--scheduler slurm`` would submit, for ``--dry-run``."""
    return job_script(_cluster_for(opts, slots, run_seconds, runs, log_directory)[0])


def _cluster_for(opts: SlurmOptions, slots: Sequence[Slot], run_seconds: float | None, runs: int,
                 log_directory: str | None = None) -> tuple[dict[str, Any], int]:
    """SLURMCluster's arguments for the sweep's options and slots, and the runs a job holds at once."""
    per_job = runs_per_job(slots)
    walltime = opts.time or job_time(run_seconds, runs, opts.max_jobs, per_job)
    return cluster_kwargs(opts, per_job, wants_gpu(slots), walltime, log_directory), per_job
