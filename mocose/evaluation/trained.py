"""Evaluating a trained checkpoint as its run says: :func:`evaluate_checkpoint`, the one path of
``mocose train --evaluate``, of an experiment and of a finished run evaluated on more tasks.

A Hugging Face model by name, evaluated as it is, goes through :func:`mocose.evaluation.run.evaluate_model`.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..data import resolve_data_dir
from ..device import resolve_device
from ..model import encoders
from ..model.eval_augment import evaluation_augmentation
from ..presets import preset_name
from .analysis import alignment_uniformity, singular_spectrum
from .encode import SentenceEncoder
from .run import evaluate, read_task_data
from .tasks import parse_tasks


@dataclass(frozen=True)
class CheckpointEvaluation:
    """A checkpoint's scores on the tasks asked for (``tasks``, ``avg``, ``seconds`` as
    :func:`mocose.evaluation.run.evaluate` gives them), how it was evaluated, and the embedding
    analyses when they were asked for."""

    model: str                  # the checkpoint folder (or, for method none, the encoder's name)
    pooler: str
    preset: str
    augmented_evaluation: bool  # the augmentations acted on the test sentences (augment_at_eval)
    device: str
    batch_size: int
    tasks: dict[str, Any]
    avg: dict[str, Any]
    seconds: dict[str, float]
    wall_time_s: float
    analysis: dict[str, Any] | None = None  # alignment, uniformity, raw singular values

    def metrics(self) -> dict[str, Any]:
        """The scores as a result file's ``metrics`` holds them."""
        return {"tasks": self.tasks, "avg": self.avg, "seconds": self.seconds}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def evaluate_checkpoint(config: Config, checkpoint: str | Path, tasks: str | list[str] | None = None,
                        data_dir: str | Path | None = None, device: str = "cpu", progress: bool = True,
                        analyse: bool = False) -> CheckpointEvaluation:
    """Evaluate ``checkpoint`` (a saved model folder; for method none the encoder's name) on
    ``tasks`` (default: the config's ``eval_tasks``) as ``config`` says a run is evaluated: its
    pooler and batch size, and the augmentations on the test sentences when ``augment_at_eval``
    (seeded by the run's seed). ``analyse`` adds alignment, uniformity and the singular spectrum
    (raw, as Figure 7 plots it) on the STS-B splits of ``analysis_splits``, computed under the same
    augmentations with the same encoder.
    A missing or damaged data file is refused before the model loads."""
    start = time.perf_counter()
    device = resolve_device(device)
    names = parse_tasks(config.eval.eval_tasks if tasks is None else tasks)
    folder = resolve_data_dir(data_dir)
    read_task_data(names, folder)
    model, tokenizer = encoders.load(str(checkpoint))
    enc = SentenceEncoder(model.to(device), tokenizer, pooler=config.eval.eval_pooler,
                          batch_size=config.eval.eval_batch_size, device=device)
    analysis = None
    with evaluation_augmentation(model, config.augment, config.train.seed) as augmented:
        scores = evaluate(enc, names, folder, progress=progress)
        if analyse:
            splits = config.eval.analysed_splits
            analysis = dict(alignment_uniformity(enc, folder, splits))
            analysis["singular_values"] = singular_spectrum(enc, folder, normalise=False, splits=splits)
    return CheckpointEvaluation(str(checkpoint), config.eval.eval_pooler, preset_name(config), augmented,
                                device, config.eval.eval_batch_size, scores["tasks"], scores["avg"],
                                scores["seconds"], round(time.perf_counter() - start, 2), analysis)
