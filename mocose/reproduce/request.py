"""What a reproduction is asked to do: one frozen request, built and validated once from the
command line (or by a caller of the Python API), then passed down and never changed."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..config import ConfigError
from ..presets import PRESETS
from ..report.seeds import DEFAULT_MAX_SEEDS
from ..runner.slots import Slot, parse_devices
from ..runner.job import JobFunctions
from ..runner.plan import results_root
from ..runner.slurm import SlurmOptions, check_slurm
from ..runner.sweep import SweepOptions

# Runs per cell unless --seeds says otherwise: with one seed no claim can be tested at all.
DEFAULT_SEEDS = 3
SPENDINGS = ("obrien-fleming", "pocock")
SCHEDULER_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ReproduceRequest:
    """Everything ``mocose reproduce`` was asked, validated.

    ``max_seeds`` is set exactly when ``until_resolved`` is; ``slots`` are ``devices`` parsed once
    (checked against this machine's GPUs when the jobs run here); ``data_dir`` is resolved
    (``None`` only for a dry run without a data folder)."""

    names: tuple[str, ...]
    profile: str = "cpu"
    seeds: int = DEFAULT_SEEDS
    preset: str = "clean"
    results_dir: Path = Path("results")
    plots_dir: Path = Path("plots")
    data_dir: Path | None = None
    devices: str = "cpu"
    slots: tuple[Slot, ...] = ()
    scheduler: str | None = None
    slurm: SlurmOptions = field(default_factory=SlurmOptions)
    retries: int = 2
    until_resolved: bool = False
    max_seeds: int | None = None
    spending: str = "obrien-fleming"
    keep_checkpoints: bool = False
    dry_run: bool = False
    json: bool = False
    quiet: bool = False
    report: bool = True
    process_per_run: bool = False
    functions: JobFunctions = field(default_factory=JobFunctions)
    report_to: str = "none"

    def __post_init__(self) -> None:
        if not self.names:
            raise ConfigError("reproduce: name at least one artifact (see: mocose list), or all")
        if self.preset not in PRESETS:
            raise ConfigError(f"--preset {self.preset!r} is not allowed: one of {', '.join(PRESETS)}")
        if self.seeds < 1:
            raise ConfigError(f"--seeds {self.seeds} is not allowed: --seeds must be at least 1")
        if self.retries < 0:
            raise ConfigError(f"--retries {self.retries} is not allowed: --retries must be >= 0")
        if self.json and not self.dry_run:
            raise ConfigError("--json is only allowed with --dry-run")
        if self.spending not in SPENDINGS:
            raise ConfigError(f"--spending {self.spending!r} is not allowed: one of {', '.join(SPENDINGS)}")
        if self.until_resolved:
            if self.max_seeds is None or self.max_seeds < max(2, self.seeds):
                raise ConfigError(f"--max-seeds {self.max_seeds} is not allowed: it must be at least 2 "
                                  f"and at least --seeds ({self.seeds})")
        elif self.max_seeds is not None:
            raise ConfigError("--max-seeds is only allowed with --until-resolved")
        if not self.slots:
            raise ConfigError("reproduce: no device slots; build the request with ReproduceRequest.make")

    @classmethod
    def make(cls, names: tuple[str, ...] | list[str], *, devices: str = "cpu",
             results_dir: str | Path | None = None, data_dir: str | Path | None = None,
             until_resolved: bool = False, max_seeds: int | None = None, scheduler: str | None = None,
             dry_run: bool = False, **options: Any) -> "ReproduceRequest":
        """A request with its derived values filled in: the slots of ``devices`` (checked against
        this machine when the jobs run here), the results folder (default $MOCOSE_RESULTS or
        ./results), the data folder (default $MOCOSE_DATA; a dry run may go without one), the
        default --max-seeds under ``until_resolved``. A bad value raises ConfigError (DataError for
        the data folder) before anything is written."""
        from ..data import DataError, resolve_data_dir

        if scheduler == "slurm":
            check_slurm()
        elif scheduler:
            check_scheduler(scheduler)
        if until_resolved and max_seeds is None:
            max_seeds = DEFAULT_MAX_SEEDS
        slots = tuple(parse_devices(devices, local=not scheduler and not dry_run))
        try:
            data = resolve_data_dir(data_dir)
        except DataError:
            if not dry_run:
                raise
            data = None
        return cls(tuple(dict.fromkeys(names)), devices=devices, slots=slots,
                   results_dir=results_root(results_dir), data_dir=data, until_resolved=until_resolved,
                   max_seeds=max_seeds, scheduler=scheduler, dry_run=dry_run, **options)

    @property
    def most_seeds(self) -> int:
        """The most seeds a cell may get in this reproduction."""
        return self.max_seeds if self.until_resolved and self.max_seeds else self.seeds

    def sweep_options(self, scheduler: str | None = None,
                      dask: Mapping[str, Any] | None = None) -> SweepOptions:
        """The runner's options for this request (``scheduler``/``dask``: a cluster's own,
        where this process started one)."""
        return SweepOptions(profile=self.profile, results_dir=self.results_dir,
                            data_dir=self.data_dir or Path("."),
                            scheduler=scheduler if scheduler is not None else
                            (None if self.scheduler == "slurm" else self.scheduler),
                            dask=dict(dask) if dask is not None else {"retries": self.retries},
                            keep_checkpoints=self.keep_checkpoints, dry_run=self.dry_run,
                            progress=not self.quiet, process_per_run=self.process_per_run,
                            functions=self.functions, report_to=self.report_to)

    def replace(self, **changes: Any) -> "ReproduceRequest":
        return dataclasses.replace(self, **changes)


def check_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT_S) -> None:
    """Refuse, in one line and before any work, a --scheduler that is not tcp://HOST:PORT or that
    accepts no connection (Dask's own client would retry for 30 s, then raise a traceback)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None:
        raise ConfigError(f"--scheduler {address!r} is not allowed: give the Dask scheduler's "
                          f"address as tcp://HOST:PORT")
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as err:
        raise ConfigError(f"--scheduler {address}: no Dask scheduler answers there "
                          f"({err.strerror or err}); start one (dask scheduler) or fix the address") from None
