"""Published checkpoints with published scores, as data: what ``mocose calibrate`` checks this
machine against. Each score is Spearman x 100 under SentEval's STS protocol as SimCSE evaluates
(``mocose eval``'s), with the checkpoint's own pooler; each entry cites where its numbers are printed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .tasks import STS_TASKS

SIMCSE = ("Gao, Yao and Chen, SimCSE: Simple Contrastive Learning of Sentence Embeddings, EMNLP 2021, "
          "Table 5 (the seven STS tasks; Avg. also in Table 1 and github.com/princeton-nlp/SimCSE's README)")
MTEB = ("MTEB leaderboard, sentence-transformers/all-MiniLM-L6-v2, STSBenchmark test, cos_sim Spearman "
        "(mean pooling, as the model's sentence-transformers config declares)")


@dataclass(frozen=True)
class Published:
    """A checkpoint (a hub name or a mocose.model.encoders alias), the pooler its authors evaluated
    it with, its published per-task scores and STS average (None: not published), and the source."""

    name: str
    pooler: str
    scores: dict[str, float] = field(default_factory=dict)
    sts_avg: float | None = None
    source: str = ""


MODELS: tuple[Published, ...] = (
    Published("princeton-nlp/unsup-simcse-bert-base-uncased", "cls_before_pooler",
              dict(zip(STS_TASKS, (68.40, 82.41, 74.38, 80.91, 78.56, 76.85, 72.23))), 76.25, SIMCSE),
    Published("princeton-nlp/sup-simcse-bert-base-uncased", "cls",
              dict(zip(STS_TASKS, (75.30, 84.67, 80.19, 85.40, 80.82, 84.25, 80.39))), 81.57, SIMCSE),
    Published("all-MiniLM-L6-v2", "avg", {"STSBenchmark": 82.03}, None, MTEB),
)
