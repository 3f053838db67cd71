"""One experiment: train (unless method none), evaluate the selected checkpoint, analyse it.

This is what the runner executes for every cell of every study; its return value is the body of
a result file (see the runner for the identity fields it adds).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import Config
from ..device import precision_record, resolve_device, set_matmul_precision
from ..evaluation import SentenceEncoder, alignment_uniformity, evaluate, singular_spectrum
from ..evaluation.run import averages
from ..model import encoders
from ..model.builder import evaluation_augmentation
from ..mtd import mtd
from ..presets import preset_name
from . import trackers
from .loop import train


def run_experiment(config: Config, data_dir: Path, work_dir: Path, device: str = "cpu",
                   resume: bool = True, progress: bool = True, report_to: dict | None = None) -> dict[str, Any]:
    """``report_to``: a job spec's tracker entry (mocose.training.trackers.spec_entry; None: none)."""
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
        model, tokenizer = encoders.load(config.model.encoder)
        training: dict[str, Any] = {"steps": 0, "selection": None, "collapsed": False, "curve": []}
        checkpoint = encoders.resolve(config.model.encoder)
    else:
        training = train(config, work_dir, data_dir, device, resume=resume, progress=progress, on_record=tracker.log)
        checkpoint = training.pop("best_checkpoint")
        model, tokenizer = encoders.load(checkpoint)
    enc = SentenceEncoder(model.to(device), tokenizer, pooler=config.eval.eval_pooler,
                          batch_size=config.eval.eval_batch_size, device=device)
    with evaluation_augmentation(model, config.augment, config.train.seed):  # authors' habit, if on
        metrics = evaluate(enc, config.eval.eval_tasks, data_dir, progress=progress)
        analysis = dict(alignment_uniformity(enc, data_dir))
        # raw, as Figure 7 plots them (sv_auc, the claims' summary, divides by the largest itself)
        analysis["singular_values"] = singular_spectrum(enc, data_dir, normalise=False)
    measured = config.model.method == "mocose"
    return {
        "status": "collapsed" if training.get("collapsed") else "ok",
        "preset": preset_name(config),
        "metrics": metrics,
        "analysis": analysis,
        "training": training,
        "precision": precision_record(config),
        "mtd": mtd(config.ema.ema_decay, config.queue.queue_size, config.train.batch_size) if measured else None,
        "best_checkpoint": str(checkpoint),
    }


def evaluate_more(config: Config, result: dict[str, Any], tasks: list[str], data_dir: Path,
                  device: str = "cpu", progress: bool = True) -> dict[str, Any]:
    """A finished run's metrics with ``tasks`` added: its kept best checkpoint (or, for method
    none, the encoder itself) evaluated on them as the run was (``evaluate_trained``), merged into
    the tasks it already has."""
    if config.model.method == "none":
        checkpoint = config.model.encoder
    else:
        checkpoint = result.get("best_checkpoint")
        if not checkpoint or not Path(checkpoint).is_dir():
            raise FileNotFoundError(
                f"run {result.get('run_id')} kept no best checkpoint ({checkpoint}): it cannot be "
                f"evaluated on {', '.join(tasks)}; delete its result file to train it again")
    new = evaluate_trained(config, checkpoint, ",".join(tasks), data_dir, device, progress)
    old = result.get("metrics") or {}
    merged = {**(old.get("tasks") or {}), **new["tasks"]}
    return {"tasks": merged, "avg": averages(merged),
            "seconds": {**(old.get("seconds") or {}), **new["seconds"]}}


def evaluate_trained(config: Config, checkpoint: str | Path, tasks: str = "sts", data_dir: Path | None = None,
                     device: str = "cpu", progress: bool = True) -> dict[str, Any]:
    """Evaluate a trained checkpoint as ``config`` says a run is evaluated (its pooler, and the
    augmentations at evaluation when ``augment_at_eval``): what ``mocose train --evaluate`` runs
    when the evaluation is not the plain encoder's."""
    model, tokenizer = encoders.load(str(checkpoint))
    enc = SentenceEncoder(model.to(device), tokenizer, pooler=config.eval.eval_pooler,
                          batch_size=config.eval.eval_batch_size, device=device)
    with evaluation_augmentation(model, config.augment, config.train.seed) as augmented:
        result = evaluate(enc, tasks, data_dir, progress=progress)
    return {"model": str(checkpoint), "pooler": config.eval.eval_pooler, "preset": preset_name(config),
            "augmented_evaluation": augmented, **result}
