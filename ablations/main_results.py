"""Tables 1 and 2: MoCoSE against SimCSE and the untrained encoder, on STS and on transfer tasks.

Numbers are the slides' (``shared/paper/001_*.txt``).  Rows the suite cannot run (GloVe,
BERT-flow, the large models, ...) are reference rows: their published numbers, no run.
"""
from __future__ import annotations

from mocose.evaluation.tasks import STS_TASKS, TRANSFER_TASKS

from .spec import Artifact, Cell, Claim, beats, within

# The best model (docs/model.md, The model): the main recipe (ablations.recipe) with FGSM epsilon 5e-9.
MOCOSE_BEST = {"fgsm_epsilon": 5e-9}
SIMCSE = {"method": "simcse"}
BERT_CLS = {"method": "none", "eval_pooler": "cls"}
BERT_FIRST_LAST = {"method": "none", "eval_pooler": "avg_first_last"}
BERT_AVG = {"method": "none", "eval_pooler": "avg"}


# The tables' group headers, as printed (Table 1 says "Models", Table 2 "Model").
BASE1, LARGE1 = "Unsupervised Models (Base)", "Unsupervised Models (Large)"
BASE2, LARGE2 = "Unsupervised Model (Base)", "Unsupervised Model (Large)"


def _row(label: str, values: list[float], tasks: tuple[str, ...], overrides: dict | None = None,
         group: str = BASE1) -> Cell:
    """A table row: per-task numbers then the average, as printed on the slides."""
    *per_task, avg = values
    assert len(per_task) == len(tasks), label
    return Cell(label=label, overrides=overrides or {}, paper=avg, row=label, group=group,
                paper_tasks=dict(zip(tasks, per_task)), run=overrides is not None)


TABLE1 = Artifact(
    name="table1",
    title="Table 1: STS (Spearman x 100) of MoCoSE, SimCSE and untrained BERT",
    kind="table",
    evaluation="sts",
    metric="sts",
    task_columns=STS_TASKS,
    row_title="Model",
    cells=(
        _row("GloVe (avg.)", [55.14, 70.66, 59.73, 68.25, 63.66, 58.02, 53.76, 61.32], STS_TASKS),
        Cell("BERT-[CLS]", BERT_CLS, None, row="BERT-[CLS]", group=BASE1, addition=True),
        _row("BERT (first-last avg.)", [39.70, 59.38, 49.67, 66.03, 66.19, 53.87, 62.06, 56.70],
             STS_TASKS, BERT_FIRST_LAST),
        _row("BERT-flow", [58.40, 67.10, 60.85, 75.16, 71.22, 68.66, 64.47, 66.55], STS_TASKS),
        _row("BERT-whitening", [57.83, 66.90, 60.90, 75.08, 71.31, 68.24, 63.73, 66.28], STS_TASKS),
        _row("IS-BERT", [56.77, 69.24, 61.21, 75.23, 70.16, 69.21, 64.25, 66.58], STS_TASKS),
        _row("CT-BERT", [61.63, 76.80, 68.47, 77.50, 76.48, 74.31, 69.19, 72.05], STS_TASKS),
        _row("RoBERTa (first-last avg.)", [40.88, 58.74, 49.07, 65.63, 61.48, 58.55, 61.63, 56.57],
             STS_TASKS),
        _row("RoBERTa-whitening", [46.99, 63.24, 57.23, 71.36, 68.99, 61.36, 62.91, 61.73],
             STS_TASKS),
        _row("DeCLUTR-RoBERTa", [52.41, 75.19, 65.52, 77.12, 78.63, 72.41, 68.62, 69.99], STS_TASKS),
        _row("SimCSE", [68.40, 82.41, 74.38, 80.91, 78.56, 76.85, 72.23, 76.25], STS_TASKS, SIMCSE),
        _row("MoCoSE", [71.48, 81.40, 74.47, 83.45, 78.99, 78.68, 72.44, 77.27], STS_TASKS,
             MOCOSE_BEST),
        _row("SimCSE-RoBERTa (large)", [72.86, 83.99, 75.62, 84.77, 81.80, 81.98, 71.26, 78.90],
             STS_TASKS, group=LARGE1),
        _row("SimCSE-BERT (large)", [70.88, 84.16, 76.43, 84.50, 79.76, 79.26, 73.88, 78.41],
             STS_TASKS, group=LARGE1),
        _row("MoCoSE-BERT (large)", [74.50, 84.54, 77.32, 84.11, 79.67, 80.53, 73.26, 79.13],
             STS_TASKS, group=LARGE1),
    ),
    claims=(
        Claim("MoCoSE beats SimCSE on the STS average", (beats("MoCoSE", "SimCSE"),)),
    ),
    notes="MoCoSE is the best model's recipe (FGSM 5e-9 on the main recipe: eta 0.85, K 512 "
          "starting with 128 random vectors, B 64, proj 1 / pred 2). BERT-[CLS] (pooler output, "
          "untrained) is a suite addition with no number on the slides. Large-model rows are the "
          "paper's, not run. The runs are Table 2's too: asking for Table 2 afterwards only "
          "evaluates their kept best checkpoints on the transfer tasks.",
)

TABLE2 = Artifact(
    name="table2",
    title="Table 2: transfer tasks (accuracy) of MoCoSE, SimCSE and untrained BERT",
    kind="table",
    evaluation="transfer",
    metric="transfer",
    task_columns=TRANSFER_TASKS,
    row_title="Model",
    cells=(
        _row("GloVe (avg.)", [77.25, 78.30, 91.17, 87.85, 80.18, 83.00, 72.87, 81.52],
             TRANSFER_TASKS, group=BASE2),
        _row("Skip-thought", [76.50, 80.10, 93.60, 87.10, 82.00, 92.20, 73.00, 83.50],
             TRANSFER_TASKS, group=BASE2),
        _row("Avg. BERT embeddings", [78.66, 86.25, 94.37, 88.66, 84.40, 92.80, 69.54, 84.94],
             TRANSFER_TASKS, BERT_AVG, group=BASE2),
        _row("BERT-[CLS] embedding", [78.68, 84.85, 94.21, 88.23, 84.13, 91.40, 71.13, 84.66],
             TRANSFER_TASKS, BERT_CLS, group=BASE2),
        _row("SimCSE-RoBERTa", [81.04, 87.74, 93.28, 86.94, 86.60, 84.60, 73.68, 84.84],
             TRANSFER_TASKS, group=BASE2),
        _row("SimCSE-BERT", [81.18, 86.46, 94.45, 88.88, 85.50, 89.80, 74.43, 85.81],
             TRANSFER_TASKS, SIMCSE, group=BASE2),
        _row("MoCoSE-BERT", [81.07, 86.43, 94.76, 89.70, 86.35, 84.06, 75.86, 85.46],
             TRANSFER_TASKS, MOCOSE_BEST, group=BASE2),
        _row("SimCSE-RoBERTa (large)", [82.74, 87.87, 93.66, 88.22, 88.58, 92.00, 69.68, 86.11],
             TRANSFER_TASKS, group=LARGE2),
        _row("MoCoSE-BERT (large)", [83.71, 89.07, 95.58, 90.26, 87.96, 84.92, 76.81, 86.90],
             TRANSFER_TASKS, group=LARGE2),
    ),
    claims=(
        Claim("MoCoSE stays comparable to SimCSE on transfer (averages within 1 point)",
              (within("MoCoSE-BERT", "SimCSE-BERT", 1.0),)),
        Claim("MoCoSE beats the untrained BERT [CLS] embedding on transfer",
              (beats("MoCoSE-BERT", "BERT-[CLS] embedding"),)),
    ),
    notes="Runs are Table 1's (a run's identity leaves out what it is evaluated on): after Table "
          "1 this trains nothing and evaluates the kept best checkpoints on the transfer tasks. "
          "Large-model and non-BERT rows are the paper's, not run.",
)

ARTIFACTS = (TABLE1, TABLE2)
