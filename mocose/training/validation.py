"""Validation during training: the online encoder's STS-B dev score now, the selection score,
and the diagnostics that show a collapse coming (alignment, uniformity, embedding spread, how
alike the batch's keys and the queue are)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .. import evaluation
from ..config import Config
from ..model.builder import evaluation_augmentation

VALIDATION_SAMPLE = 512  # training sentences whose embedding spread flags a collapse


def validate(model, tokenizer, config: Config, sample: list[str], data_dir: Path, device: str,
              last_keys: torch.Tensor | None) -> dict[str, Any]:
    """Dev score, selection score and collapse diagnostics of the online encoder now."""
    enc = evaluation.SentenceEncoder(model.embedding_encoder(), tokenizer, pooler="cls_before_pooler",
                          batch_size=config.eval.eval_batch_size, device=device)
    with evaluation_augmentation(model.embedding_encoder(), config.augment, config.train.seed):
        out: dict[str, Any] = {"dev_spearman": evaluation.stsb_dev_spearman(enc, data_dir)}
        if config.train.selection == "sts_test_avg":
            out["sts_test_avg"] = evaluation.sts_test_average(enc, data_dir)
        diag = evaluation.alignment_uniformity(enc, data_dir, splits=("dev",))
        emb = F.normalize(torch.as_tensor(enc.encode(sample)), dim=-1)
    out.update(alignment=diag["alignment"], uniformity=diag["uniformity"])
    out["embedding_std"] = float(emb.std(dim=0).mean())
    queue = getattr(model, "queue", None)
    if queue is not None and last_keys is not None and queue.length:
        negatives = queue.negatives()
        out["key_queue_cos"] = float((F.normalize(last_keys, dim=-1) @ F.normalize(negatives, dim=-1).T).mean())
    score = out["sts_test_avg"] if config.train.selection == "sts_test_avg" else out["dev_spearman"]
    # The paper's collapse: the STS-B dev correlation near 0 (embedding_std stays a diagnostic).
    dev = out["dev_spearman"]
    out["collapsed"] = bool(not math.isfinite(dev) or dev < config.train.collapse_dev)
    out["score"] = score if math.isfinite(score) else float("-inf")
    return out
