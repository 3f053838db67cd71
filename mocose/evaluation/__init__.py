"""Evaluation with SentEval's protocol (docs/evaluation.md), fast, plus the embedding analyses.

    enc = SentenceEncoder(model, tokenizer, pooler="cls_before_pooler")
    evaluate(enc, "sts")            # {"tasks": {...}, "avg": {...}}
    stsb_dev_spearman(enc)          # the training loop's validation

The task lists (:mod:`.tasks`) are the one home of the task names and their short names. The
names below load on first use, so ``import mocose.evaluation.tasks`` loads no torch.

May import :mod:`mocose.model` (encoders) and the shared top-level modules; nothing of training,
the runner or the report.
"""
from __future__ import annotations

import importlib

_HOME = {
    "alignment_uniformity": "analysis", "singular_spectrum": "analysis",
    "SentenceEncoder": "encode",
    "evaluate": "run", "evaluate_model": "run", "format_tables": "run",
    "stsb_dev_spearman": "sts", "sts_test_average": "sts",
    "STS_TASKS": "tasks", "TASKS": "tasks", "TRANSFER_TASKS": "tasks", "parse_tasks": "tasks",
}
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name in _HOME:
        value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mocose.evaluation' has no attribute {name!r}")
