"""Ablation study 1 and 2 of the slides: the two branches, EMA decay, heads, batch size, dimension.

Numbers are the slides'; Table 6(b) and Figure 10 have none on the slides (figures without data).
"""
from __future__ import annotations

from .spec import Artifact, Cell, Claim, beats, best, collapses, stable, within

# -- Table 3: EMA decay eta ------------------------------------------------------------------------
_EMA = {0.5: 75.76, 0.8: 75.19, 0.85: 76.49, 0.9: 76.05, 0.95: 76.08, 0.99: 75.12}
EMA_LABELS = [f"eta {eta:g}" for eta in _EMA]

TABLE3 = Artifact(
    name="table3",
    title="Table 3: EMA decay weight eta (STS avg.)",
    kind="table",
    row_title="",
    col_title="EMA decay",
    cells=tuple(Cell(f"eta {eta:g}", {"ema_decay": eta}, value, row="STS avg.", col=f"{eta:g}",
                     x=eta) for eta, value in _EMA.items()),
    claims=(Claim("eta = 0.85 is the best EMA decay", best("eta 0.85", EMA_LABELS)),),
    notes="The default recipe (eta 0.85, proj 1 / pred 2, no FGSM) appears on the slides four "
          "times: Table 3 76.49, augmentations 'dropout only' 76.76, Table 9 'No' 76.26, k-means "
          "'normal' 76.41: the paper's own run-to-run spread is about 0.5 points.",
)

# -- Table 4: projection x predictor layers --------------------------------------------------------
_HEADS = {(0, 1): 60.46, (0, 2): 62.67, (0, 3): 63.62, (1, 1): 76.74, (1, 2): 76.89,
          (1, 3): 76.24, (2, 1): 66.96, (2, 2): 66.29, (2, 3): 61.57, (3, 1): 31.51,
          (3, 2): 43.97, (3, 3): 39.13}


def _heads_label(p: int, q: int) -> str:
    return f"proj {p} / pred {q}"


HEAD_LABELS = [_heads_label(p, q) for p, q in _HEADS]

TABLE4 = Artifact(
    name="table4",
    title="Table 4: projection x predictor layers (STS avg.)",
    kind="table",
    row_title="Proj.",
    col_title="Pred.",
    cells=tuple(Cell(_heads_label(p, q), {"proj_layers": p, "pred_layers": q}, value,
                     row=str(p), col=str(q)) for (p, q), value in _HEADS.items()),
    claims=(
        Claim("proj 1 / pred 2 is the best combination", best("proj 1 / pred 2", HEAD_LABELS)),
        Claim("3 projection layers collapse (each at least 10 points below proj 1 / pred 2)",
              tuple(beats("proj 1 / pred 2", _heads_label(3, q), 10.0) for q in (1, 2, 3))),
    ),
)

# -- Figures 5 and 6: eta = 0, without and with the predictor --------------------------------------
# The decay rises from eta to 1 by a cosine over ema_total_steps; the authors' fixed 15,000 keeps
# it near 0 over a whole run (the smoke profile's 0, "the run's length", would lift it to 1).
ETA0 = {"ema_decay": 0.0, "ema_total_steps": 15000}
SYMMETRIC = Cell("symmetric, eta 0", {**ETA0, "pred_layers": 0}, series="symmetric")
PREDICTOR = Cell("predictor, eta 0", dict(ETA0), series="with predictor")
DEFAULT = Cell("MoCoSE (eta 0.85)", {}, series="MoCoSE")

FIG5 = Artifact(
    name="fig5",
    title="Figure 5: symmetric two branches with EMA decay 0 (validation curves)",
    kind="figure",
    plot="curves",
    x_label="training step",
    cells=(SYMMETRIC, DEFAULT),
    claims=(Claim("A symmetric two-branch model (no predictor) with EMA decay 0 collapses",
                  (collapses("symmetric, eta 0"),)),),
    notes="pred_layers 0 removes the predictor; eta 0 copies the online branch into the target.",
)

FIG6 = Artifact(
    name="fig6",
    title="Figure 6: adding the predictor on the online branch with EMA decay 0 (validation curves)",
    kind="figure",
    plot="curves",
    x_label="training step",
    cells=(PREDICTOR, SYMMETRIC),
    claims=(
        Claim("With the predictor, EMA decay 0 no longer collapses", (stable("predictor, eta 0"),)),
        Claim("The predictor lifts STS over the symmetric model at EMA decay 0",
              (beats("predictor, eta 0", "symmetric, eta 0"),)),
    ),
)

# -- Table 6(b): batch size at K = 512 -------------------------------------------------------------
BATCHES = (32, 64, 128, 256)
TABLE6B = Artifact(
    name="table6b",
    title="Table 6(b): batch size with the queue fixed at 512 (STS avg.)",
    kind="table",
    base={"queue_size": 512},
    col_title="Batch size",
    cells=tuple(Cell(f"B {b}", {"batch_size": b}, None, row="STS avg.", col=str(b), x=b)
                for b in BATCHES),
    claims=(Claim("Performance does not improve with a larger batch: B 64 beats B 256",
                  (beats("B 64", "B 256"),)),),
    notes="The slides give no numbers and the grid of the paper's Table 6(b) could not be found: "
          "the suite uses B = 32, 64, 128, 256.",
)

# -- Figure 10: embedding dimension at K = 512 -----------------------------------------------------
DIMS = (16, 64, 128, 256, 512)
FIG10 = Artifact(
    name="fig10",
    title="Figure 10: dimension of the projection/predictor output (queue 512)",
    kind="figure",
    plot="line",
    base={"queue_size": 512},
    x_label="embedding dimension d",
    y_label="STS avg.",
    x_log=True,
    cells=tuple(Cell(f"d {d}", {"embed_dim": d}, None, x=d, series="MoCoSE") for d in DIMS)
    + (Cell("d hidden", {"embed_dim": 0}, None, series="d = hidden size"),),
    claims=(
        Claim("A low dimension hurts: d 16 is below d 256", (beats("d 256", "d 16"),)),
        Claim("Once large enough the dimension matters little: d 256 within 1 point of d = hidden",
              (within("d 256", "d hidden", 1.0),)),
    ),
    notes="Dimensions are absolute so the grid is valid for every encoder; 'd hidden' "
          "(embed_dim 0) is the encoder's hidden size (768 for bert-base, 384 for MiniLM, 32 for "
          "the smoke encoder), drawn as a horizontal line. The slides give no numbers.",
)

ARTIFACTS = (TABLE3, TABLE4, FIG5, FIG6, TABLE6B, FIG10)
