"""Evaluation with SentEval's protocol (SPEC section 5), fast, plus the embedding analyses.

    enc = SentenceEncoder(model, tokenizer, pooler="cls_before_pooler")
    evaluate(enc, "sts")            # {"tasks": {...}, "avg": {...}}
    stsb_dev_spearman(enc)          # the training loop's validation
"""
from .analysis import alignment_uniformity, singular_spectrum
from .encode import SentenceEncoder
from .run import evaluate, evaluate_model, format_tables
from .sts import stsb_dev_spearman, sts_test_average
from .tasks import STS_TASKS, TASKS, TRANSFER_TASKS, parse_tasks

__all__ = ["SentenceEncoder", "evaluate", "evaluate_model", "format_tables", "stsb_dev_spearman",
           "sts_test_average", "alignment_uniformity", "singular_spectrum", "TASKS", "STS_TASKS",
           "TRANSFER_TASKS", "parse_tasks"]
