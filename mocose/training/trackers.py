"""Experiment trackers (``--report-to``, Hugging Face Trainer's convention): TensorBoard, Weights &
Biases and MLflow, one class each behind one interface, fed the records the training loop writes
to metrics.jsonl (loss, gradient norm, learning rate, EMA decay, queue length, dev score, ...)
and, at the end, the run's final scores.

A run is named ``<artifact>/<cell>/seed<N>`` and grouped by artifact (wandb's group, MLflow's
experiment, TensorBoard's folder). Each tracker reads its own usual settings from the environment
(``WANDB_MODE``, ``WANDB_DIR``, ``WANDB_PROJECT``; ``MLFLOW_TRACKING_URI``); TensorBoard writes its
event files under ``logging_dir`` (for ``mocose train``: ``<out>/runs``, as the Trainer's logging
dir sits under its output dir). Each tracker is an optional extra (``pip install 'mocose[wandb]'``);
its package is imported only when the tracker is opened.
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fields import ConfigError

TRACKERS = ("none", "tensorboard", "wandb", "mlflow")
# tracker -> the module it needs (the extra of the same name installs it)
PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"}
PROJECT = "mocose"  # wandb's project when WANDB_PROJECT is not set


class TrackerUnavailable(ConfigError):
    """The tracker's package is not installed."""


def check_available(name: str) -> None:
    """Refuse a tracker whose package is missing, naming the extra that installs it."""
    package = PACKAGES.get(name)
    if package and importlib.util.find_spec(package) is None:
        raise TrackerUnavailable(f"--report-to {name} needs the {package} package: "
                                 f"pip install 'mocose[{name}]'")


class ReportTo(argparse.Action):
    """``--report-to``: a missing tracker package ends the command at parse time with one line
    naming the extra (exit 2), before any work."""

    def __call__(self, parser, namespace, value, option_string=None):
        try:
            check_available(value)
        except TrackerUnavailable as err:
            parser.exit(2, f"mocose: error: {err}\n")
        setattr(namespace, self.dest, value)


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report-to", default="none", choices=TRACKERS, action=ReportTo,
                        help="log metrics.jsonl's records and the final scores to tensorboard, wandb or "
                             "mlflow (default: none); each is an extra: pip install 'mocose[wandb]'")


@dataclass(frozen=True)
class RunName:
    """Who a tracked run is: its artifact (the group), cell and seed; TensorBoard's folder."""

    artifact: str
    cell: str
    seed: int
    logging_dir: Path
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.artifact}/{self.cell}/seed{self.seed}"


def scalars(record: dict[str, Any]) -> dict[str, float]:
    """The finite numbers of a record (booleans as 0/1), ``step`` left out."""
    out = {}
    for key, value in record.items():
        if key == "step" or not isinstance(value, (int, float)):
            continue
        if math.isfinite(float(value)):
            out[key] = float(value)
    return out


def final_scores(metrics: dict[str, Any]) -> dict[str, float]:
    """An evaluation's scores (``evaluate``'s result) as flat numbers: each task and each average."""
    out = {task: res["score"] for task, res in (metrics.get("tasks") or {}).items()}
    out.update({f"avg_{group}": value for group, value in (metrics.get("avg") or {}).items()})
    return scalars(out)


class Tracker:
    """The interface: ``log`` a metrics.jsonl record, ``log_final`` the final scores, ``close``."""

    def log(self, record: dict[str, Any]) -> None:
        pass

    def log_final(self, scores: dict[str, float]) -> None:
        pass

    def close(self) -> None:
        pass


class TensorBoardTracker(Tracker):
    """Event files under ``logging_dir/<artifact>/<cell>/seed<N>``: tags ``train/<key>`` per
    step and ``final/<score>``."""

    def __init__(self, run: RunName) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.folder = Path(run.logging_dir) / run.name
        self.writer = SummaryWriter(log_dir=str(self.folder))
        self.step = 0

    def log(self, record: dict[str, Any]) -> None:
        self.step = int(record["step"])
        for key, value in scalars(record).items():
            self.writer.add_scalar(f"train/{key}", value, self.step)

    def log_final(self, scores: dict[str, float]) -> None:
        for key, value in scores.items():
            self.writer.add_scalar(f"final/{key}", value, self.step)

    def close(self) -> None:
        self.writer.close()


class WandbTracker(Tracker):
    """A wandb run (project ``$WANDB_PROJECT`` or mocose, group = artifact); records are logged
    at their step, final scores go to the run's summary (``final/<score>``)."""

    def __init__(self, run: RunName) -> None:
        import wandb

        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT") or PROJECT, group=run.artifact,
                              name=run.name, config=run.config, reinit="create_new")

    def log(self, record: dict[str, Any]) -> None:
        self.run.log({f"train/{k}": v for k, v in scalars(record).items()}, step=int(record["step"]))

    def log_final(self, scores: dict[str, float]) -> None:
        self.run.summary.update({f"final/{k}": v for k, v in scores.items()})

    def close(self) -> None:
        self.run.finish()


class MlflowTracker(Tracker):
    """An MLflow run in the experiment named after the artifact, at ``$MLFLOW_TRACKING_URI``
    (MLflow's default store otherwise); the config's fields as parameters."""

    def __init__(self, run: RunName) -> None:
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient()
        found = self.client.get_experiment_by_name(run.artifact)
        experiment = found.experiment_id if found else self.client.create_experiment(run.artifact)
        self.run_id = self.client.create_run(experiment, run_name=run.name).info.run_id
        params = [Param(k, str(v)[:500]) for k, v in sorted(run.config.items())]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 parameters a batch
            self.client.log_batch(self.run_id, params=params[i:i + 100])
        self.step = 0

    def _metrics(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        if values:
            self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, step) for k, v in values.items()])

    def log(self, record: dict[str, Any]) -> None:
        self.step = int(record["step"])
        self._metrics({f"train/{k}": v for k, v in scalars(record).items()}, self.step)

    def log_final(self, scores: dict[str, float]) -> None:
        self._metrics({f"final/{k}": v for k, v in scores.items()}, self.step)

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


CLASSES = {"none": Tracker, "tensorboard": TensorBoardTracker, "wandb": WandbTracker, "mlflow": MlflowTracker}


class Deferred(Tracker):
    """A tracker started at its first record: a run refused before training (a folder holding
    another run, a bad setting) leaves no empty run in the tracker and no event file."""

    def __init__(self, cls: type[Tracker], run: RunName) -> None:
        self.cls, self.run, self.tracker = cls, run, None

    def _started(self) -> Tracker:
        if self.tracker is None:
            self.tracker = self.cls(self.run)
        return self.tracker

    def log(self, record: dict[str, Any]) -> None:
        self._started().log(record)

    def log_final(self, scores: dict[str, float]) -> None:
        self._started().log_final(scores)

    def close(self) -> None:
        if self.tracker is not None:
            self.tracker.close()


def open_tracker(name: str, run: RunName) -> Tracker:
    """The tracker ``name`` (one of TRACKERS) for ``run``, started at its first record."""
    if name not in CLASSES:
        raise ConfigError(f"report_to={name!r} is not allowed: report_to must be one of {', '.join(TRACKERS)}")
    check_available(name)
    return Deferred(CLASSES[name], run) if name != "none" else Tracker()


def spec_entry(name: str, artifact: str, cells: list[str], profile_dir: Path) -> dict[str, Any] | None:
    """A job spec's ``report_to``: the tracker and the run's names (None for none). TensorBoard's
    files go under ``<results>/<profile>/tensorboard``: a run's work folder is removed when it ends."""
    if name == "none":
        return None
    return {"tracker": name, "artifact": artifact or "sweep", "cell": "+".join(cells) or "run",
            "logging_dir": str(Path(profile_dir) / "tensorboard")}


def open_from_spec(entry: dict[str, Any] | None, config) -> Tracker:
    """The tracker a job spec's ``report_to`` names, for ``config``'s run (none: does nothing)."""
    if not entry:
        return Tracker()
    return open_tracker(entry["tracker"], RunName(entry["artifact"], entry["cell"], config.train.seed,
                                                  Path(entry["logging_dir"]), config.flat()))

