"""Where jobs run: the device slots of a ``--devices`` value, one job at a time on each.

Devices (``--devices``):
  ``cpu``                     one job at a time, all cores
  ``cpu:N``                   N jobs at a time, the cores split between them (torch threads)
  ``cuda:I`` / ``cuda:IxK``   K jobs at a time on GPU I (K defaults to DEFAULT_GPU_SLOTS), each
                              child seeing only its GPU (CUDA_VISIBLE_DEVICES); a comma-separated
                              list for several GPUs: ``cuda:0x4,cuda:1x4``. ``cuda`` alone is the
                              current GPU. One job a GPU: ``cuda:0x1``.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Sequence

from ..config import ConfigError


@dataclass(frozen=True)
class Slot:
    """A place a job runs: the device label recorded, the device the child uses, its environment."""

    label: str
    device: str = "cpu"
    threads: int | None = None
    env: dict[str, str] = field(default_factory=dict)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# Jobs sharing one GPU by default: on one H100, 4 at a time gave 1.76x the throughput of one,
# 8 gave 2.12x (docs/gpus.md, "Devices, several jobs per GPU, precision").
DEFAULT_GPU_SLOTS = 4
DEVICES_HELP = ("'cpu', 'cpu:N' (N parallel CPU jobs) or a comma-separated list of 'cuda:I' or "
                f"'cuda:IxK' (K jobs at a time on GPU I; default K={DEFAULT_GPU_SLOTS})")


def parse_devices(text: str, local: bool = True) -> list[Slot]:
    """The device slots of a ``--devices`` value; one job runs on each slot at a time.

    With ``local`` (jobs run on this machine) a cuda device is checked against the GPUs this
    machine has, so a missing GPU is refused before any job starts; a Dask sweep leaves that to
    the workers.
    """
    text = (text or "cpu").strip()
    cores = available_cores()
    if text == "cpu":
        return [Slot("cpu", "cpu", cores, thread_env(cores))]
    m = re.fullmatch(r"cpu:(\d+)", text)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise ConfigError(f"--devices {text!r}: N must be at least 1; --devices must be {DEVICES_HELP}")
        threads = max(1, cores // n)
        return [Slot(f"cpu:{i}", "cpu", threads, thread_env(threads)) for i in range(n)]
    gpus: list[tuple[int | None, int]] = []
    for item in text.split(","):
        m = re.fullmatch(r"cuda(?::(\d+))?(?:x(\d+))?", item.strip())
        if not m or (m.group(2) is not None and int(m.group(2)) < 1):
            raise ConfigError(f"--devices {text!r}: {item.strip()!r} is not a device; --devices must be "
                              f"{DEVICES_HELP}")
        gpus.append((None if m.group(1) is None else int(m.group(1)),
                     int(m.group(2) or DEFAULT_GPU_SLOTS)))
    if local:
        from ..device import resolve_device

        gpus = [(int(resolve_device("cuda" if i is None else f"cuda:{i}").split(":")[1]), k)
                for i, k in gpus]
    gpus = [(0 if i is None else i, k) for i, k in gpus]  # unchecked 'cuda': a worker's only GPU
    if len({i for i, _ in gpus}) != len(gpus):
        raise ConfigError(f"--devices {text!r} lists a GPU twice; to run several jobs on one GPU "
                          f"write cuda:IxK")
    total = sum(k for _, k in gpus)
    threads = max(1, cores // total)
    visible = [v for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    return [Slot(f"cuda:{i}", "cuda:0", threads,
                 {"CUDA_VISIBLE_DEVICES": visible[i] if i < len(visible) else str(i),
                  "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})
            for i, k in gpus for _ in range(k)]


def thread_env(threads: int) -> dict[str, str]:
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
            "CUDA_VISIBLE_DEVICES": ""}


def wants_gpu(slots: Sequence[Slot]) -> bool:
    return any(s.label.startswith("cuda") for s in slots)


def gpu_share(slots: Sequence[Slot]) -> float:
    """The part of a GPU one job takes (1/K for K slots a GPU; 0 for CPU slots)."""
    if not wants_gpu(slots):
        return 0.0
    per_gpu = max(sum(1 for s in slots if s.label == label) for label in {s.label for s in slots})
    return 1.0 / per_gpu
