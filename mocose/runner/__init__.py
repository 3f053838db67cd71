"""The job runner: plans the missing runs of an artifact, runs each in its own process on local
devices (a job process per slot, reused until a run fails) or a Dask cluster, and keeps one
atomically written result file per run.

Public API: :func:`load_results` (the layout in docs/results.md), :func:`execute` (a sweep over given configs),
``register`` (the ``list`` and ``reproduce`` commands).
"""
from .commands import main, register, run_report
from .dispatch import parse_devices
from .plan import plan_runs
from .store import atomic_write_json, load_failures, load_results
from .sweep import execute

__all__ = ["load_results", "load_failures", "atomic_write_json", "execute", "plan_runs",
           "parse_devices", "register", "run_report", "main"]
