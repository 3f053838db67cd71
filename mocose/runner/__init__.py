"""The job runner, the engine below a reproduction: plans the missing runs of given configs,
runs each in a job process on local devices (a job process per slot, reused until a run fails),
a Dask cluster or SLURM, and keeps one atomically written result file per run.

Public API: :func:`load_results` (the layout in docs/results.md), :func:`execute` (a sweep over
given configs under :class:`SweepOptions`), :func:`plan_runs`, :func:`parse_devices`.
"""
from .slots import parse_devices
from .job import JobFunctions
from .plan import plan_runs
from .store import atomic_write_json, load_failures, load_results
from .sweep import SweepOptions, execute

__all__ = ["load_results", "load_failures", "atomic_write_json", "execute", "SweepOptions", "JobFunctions",
           "plan_runs", "parse_devices"]
