"""Validation during training: the online encoder's STS-B dev score now, the selection score,
and the diagnostics that show a collapse coming (alignment, uniformity, embedding spread, how
alike the batch's keys and the queue are)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .. import evaluation
from ..config import Config
from ..evaluation.analysis import POSITIVE_THRESHOLD, alignment, uniformity
from ..evaluation.encode import max_length_of, padded_batches, pool, tokenizer_fingerprint
from ..evaluation.sts import correlations, cosine_rows, task_pairsets
from ..model.eval_augment import evaluation_augmentation
from ..model.interface import ContrastiveModel

VALIDATION_SAMPLE = 512  # training sentences whose embedding spread flags a collapse


class ValidationSet:
    """STS-B dev and the collapse sample, read and tokenized once per run, its batches kept on
    the device: a validation is then the encoder's passes and one copy of the vectors back.

    The batches are the ones the suite's encoder builds (:func:`~mocose.evaluation.encode.padded_batches`:
    the distinct dev sentences longest first, then the sample's sentences not among them), so the
    scores are those of :func:`~mocose.evaluation.stsb_dev_spearman` and
    :func:`~mocose.evaluation.alignment_uniformity` on the same model (``tests/test_training_validation.py``),
    and an evaluation-time augmentation draws what it drew there.
    """

    def __init__(self, encoder: torch.nn.Module, tokenizer, data_dir: Path, sample: list[str], device: str,
                 batch_size: int) -> None:
        pairs = task_pairsets("STSBenchmark", data_dir, split="dev")[0]
        dev = list(dict.fromkeys(pairs.a + pairs.b))
        extra = [s for s in dict.fromkeys(sample) if s not in set(dev)]
        where = {s: i for i, s in enumerate(dev + extra)}
        self.count = len(where)
        self.a = np.array([where[s] for s in pairs.a])
        self.b = np.array([where[s] for s in pairs.b])
        self.gold = pairs.gold
        positive = [i for i, g in enumerate(pairs.gold) if g >= POSITIVE_THRESHOLD]
        self.positive_a, self.positive_b = self.a[positive], self.b[positive]
        self.dev = np.arange(len(dev))
        self.sample = np.array([where[s] for s in sample])
        length, fingerprint = max_length_of(encoder, tokenizer), tokenizer_fingerprint(tokenizer)
        self.batches = []
        for offset, group in ((0, dev), (len(dev), extra)):
            for rows, inputs in padded_batches(tokenizer, group, length, batch_size, fingerprint):
                self.batches.append((torch.from_numpy(rows + offset).to(device),
                                     {k: v.to(device) for k, v in inputs.items()}))

    def encode(self, encoder: torch.nn.Module) -> np.ndarray:
        """Every sentence's ``cls_before_pooler`` vector, float32 [n, d], in eval mode."""
        was_training = encoder.training
        encoder.eval()
        try:
            with torch.inference_mode():
                out = None
                for rows, inputs in self.batches:
                    vecs = pool(encoder(**inputs, return_dict=True), inputs["attention_mask"], "cls_before_pooler")
                    if out is None:
                        out = torch.empty(self.count, vecs.shape[1], dtype=torch.float32, device=vecs.device)
                    out[rows] = vecs.float()
                return out.cpu().numpy()
        finally:
            encoder.train(was_training)

    def scores(self, emb: np.ndarray) -> dict[str, float]:
        """STS-B dev Spearman x 100, alignment, uniformity (dev) and the sample's spread."""
        dev = correlations(cosine_rows(emb[self.a], emb[self.b]), self.gold)["spearman"]
        sample = F.normalize(torch.as_tensor(emb[self.sample]), dim=-1)
        return {"dev_spearman": dev, "alignment": alignment(emb[self.positive_a], emb[self.positive_b]),
                "uniformity": uniformity(emb[self.dev]), "embedding_std": float(sample.std(dim=0).mean())}


def _validate_through_encoder(encoder, tokenizer, config: Config, sample: list[str], data_dir: Path,
                              device: str) -> dict[str, Any]:
    enc = evaluation.SentenceEncoder(encoder, tokenizer, pooler="cls_before_pooler",
                                     batch_size=config.eval.eval_batch_size, device=device)
    out: dict[str, Any] = {"dev_spearman": evaluation.stsb_dev_spearman(enc, data_dir),
                           "sts_test_avg": evaluation.sts_test_average(enc, data_dir)}
    out.update({k: v for k, v in evaluation.alignment_uniformity(enc, data_dir, splits=("dev",)).items()
                if k in ("alignment", "uniformity")})
    out["embedding_std"] = float(F.normalize(torch.as_tensor(enc.encode(sample)), dim=-1).std(dim=0).mean())
    return out


def validate(model: ContrastiveModel, tokenizer, config: Config, sample: list[str], data_dir: Path, device: str,
             last_keys: torch.Tensor | None, prepared: ValidationSet | None = None) -> dict[str, Any]:
    """Dev score, selection score and collapse diagnostics of the online encoder now.

    ``prepared`` (built once per run) saves reading and tokenizing STS-B dev and the sample again.
    Selecting on the STS test sets (``selection=sts_test_avg``) goes through the suite's cached
    encoder instead, dev, test sets and sample in the order they always were encoded, so that an
    evaluation-time augmentation draws what it always drew there."""
    encoder = model.embedding_encoder()
    with evaluation_augmentation(encoder, config.augment, config.train.seed):
        if config.train.selection == "sts_test_avg":
            out = _validate_through_encoder(encoder, tokenizer, config, sample, data_dir, device)
        else:
            prepared = prepared or ValidationSet(encoder, tokenizer, data_dir, sample, device,
                                                 config.eval.eval_batch_size)
            out = prepared.scores(prepared.encode(encoder))
    negatives = model.queued_negatives()
    if negatives is not None and last_keys is not None and model.queue_length():
        out["key_queue_cos"] = float((F.normalize(last_keys, dim=-1) @ F.normalize(negatives, dim=-1).T).mean())
    score = out["sts_test_avg"] if config.train.selection == "sts_test_avg" else out["dev_spearman"]
    # The paper's collapse: the STS-B dev correlation near 0 (embedding_std stays a diagnostic).
    dev = out["dev_spearman"]
    out["collapsed"] = bool(not math.isfinite(dev) or dev < config.train.collapse_dev)
    out["score"] = score if math.isfinite(score) else float("-inf")
    return out
