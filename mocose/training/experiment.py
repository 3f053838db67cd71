"""One experiment: train (unless method none), evaluate the selected checkpoint, analyse it.

This is what the runner executes for every cell of every study; its return value is the body of
a result file (see the runner for the identity fields it adds).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import Config
from ..device import precision_record, resolve_device, set_matmul_precision
from ..evaluation.run import averages
from ..evaluation.trained import CheckpointEvaluation, evaluate_checkpoint
from ..model import encoders
from ..mtd import mtd
from ..presets import preset_name
from . import trackers
from .loop import train


def run_experiment(config: Config, data_dir: Path, work_dir: Path, device: str = "cpu",
                   resume: bool = True, progress: bool = True, report_to: dict | None = None) -> dict[str, Any]:
    """Train, evaluate and analyse one run; its result body. ``report_to``: a job spec's tracker
    entry (mocose.training.trackers.spec_entry; None: none)."""
    tracker = trackers.open_from_spec(report_to, config)
    try:
        body = _run_experiment(config, data_dir, work_dir, device, resume, progress, tracker)
        tracker.log_final(trackers.final_scores(body["metrics"]))
        return body
    finally:
        tracker.close()


def _run_experiment(config: Config, data_dir: Path, work_dir: Path, device: str, resume: bool, progress: bool,
                    tracker: trackers.Tracker) -> dict[str, Any]:
    work_dir = Path(work_dir)
    device = resolve_device(device)
    set_matmul_precision(config.train.matmul_precision)  # training sets it too; evaluation uses it
    if config.model.method == "none":
        training: dict[str, Any] = {"steps": 0, "selection": None, "collapsed": False, "curve": []}
        evaluated, checkpoint = config.model.encoder, encoders.resolve(config.model.encoder)
    else:
        training = train(config, work_dir, data_dir, device, resume=resume, progress=progress, on_record=tracker.log)
        evaluated = checkpoint = training.pop("best_checkpoint")
    result = evaluate_checkpoint(config, evaluated, config.eval.eval_tasks, data_dir, device, progress,
                                 analyse=True)
    last = last_record(config, training, checkpoint, result, data_dir, device, progress)
    measured = config.model.method == "mocose"
    return {
        "last": last,
        "status": "collapsed" if training.get("collapsed") else "ok",
        "preset": preset_name(config),
        "metrics": result.metrics(),
        "analysis": result.analysis,
        "training": training,
        "precision": precision_record(config),
        "mtd": mtd(config.ema.ema_decay, config.queue.queue_size, config.train.batch_size) if measured else None,
        "best_checkpoint": str(checkpoint),
    }


def last_record(config: Config, training: dict[str, Any], best_checkpoint: str | Path,
                best: CheckpointEvaluation, data_dir: Path, device: str, progress: bool) -> dict[str, Any] | None:
    """The scores of the run's last model (``mocose report --checkpoint last``): evaluated as the
    selected one was, or the selected one's own scores when it is the last step's; None for an
    encoder that trains nothing."""
    last = training.pop("last_checkpoint", None)
    if last is None or not config.eval.eval_last:
        return None
    if Path(last).resolve() == Path(best_checkpoint).resolve():
        return {"step": training["steps"], "same_as_best": True, "metrics": best.metrics()}
    scores = evaluate_checkpoint(config, last, config.eval.eval_tasks, data_dir, device, progress)
    return {"step": training["steps"], "same_as_best": False, "metrics": scores.metrics()}


def evaluate_more(config: Config, result: dict[str, Any], tasks: list[str], data_dir: Path,
                  device: str = "cpu", progress: bool = True) -> dict[str, Any]:
    """A finished run's metrics with ``tasks`` added: its kept best checkpoint (or, for method
    none, the encoder itself) evaluated on them as the run was (``evaluate_checkpoint``), merged
    into the tasks it already has."""
    if config.model.method == "none":
        checkpoint = config.model.encoder
    else:
        checkpoint = result.get("best_checkpoint")
        if not checkpoint or not Path(checkpoint).is_dir():
            raise FileNotFoundError(
                f"run {result.get('run_id')} kept no best checkpoint ({checkpoint}): it cannot be "
                f"evaluated on {', '.join(tasks)}; delete its result file to train it again")
    new = evaluate_checkpoint(config, checkpoint, tasks, data_dir, device, progress)
    old = result.get("metrics") or {}
    merged = {**(old.get("tasks") or {}), **new.tasks}
    return {"tasks": merged, "avg": averages(merged),
            "seconds": {**(old.get("seconds") or {}), **new.seconds}}
