"""Figure 7 (singular values of the STS-B embedding matrix) and alignment/uniformity.

The experiment computes both analyses for every run; these artifacts only choose which runs to
draw.  The three models share their runs with Table 1 (MoCoSE, SimCSE) and the MTD points with
Figure 2.
"""
from __future__ import annotations

from dataclasses import replace

from .main_results import MOCOSE_BEST, SIMCSE
from .queue_studies import BEST_MTD, LONGEST_MTD, MTD_CELLS, SHORTEST_MTD
from .spec import Artifact, Cell, Claim, beats

# The untrained encoder read with the trained models' pooler, so the spectra compare like with like.
BERT = Cell("BERT", {"method": "none", "eval_pooler": "cls_before_pooler"}, series="BERT-base")
SIMCSE_CELL = Cell("SimCSE", SIMCSE, series="SimCSE")
MOCOSE_CELL = Cell("MoCoSE", MOCOSE_BEST, series="MoCoSE")

FIG7 = Artifact(
    name="fig7",
    title="Figure 7: singular value distributions of the STS-B sentence-embedding matrix",
    kind="figure",
    plot="spectrum",
    metric="sv_auc",
    x_label="index",
    y_label="Singular Values",
    cells=(BERT, SIMCSE_CELL, MOCOSE_CELL),
    claims=(Claim("MoCoSE's singular values decay more slowly than BERT's and SimCSE's "
                  "(larger mean normalised singular value)",
                  (beats("MoCoSE", "BERT"), beats("MoCoSE", "SimCSE"))),),
    notes="The slide plots raw singular values against index 0..768 with no numbers printed. "
          "sv_auc: the mean of the singular values divided by the largest, a one-number summary "
          "of how flat (isotropic) the spectrum is.",
)

ALIGN_UNIFORM = Artifact(
    name="align_uniform",
    title="Alignment and uniformity on STS-B of BERT, SimCSE, MoCoSE and the MTD grid",
    kind="figure",
    plot="align_uniform",
    metric="align_uniform",
    x_label="alignment (lower is better)",
    y_label="uniformity (lower is better)",
    # Figure 2's runs; their paper numbers are STS averages, not this metric's, so they are dropped.
    cells=(BERT, SIMCSE_CELL, MOCOSE_CELL) + tuple(replace(c, paper=None, approx=False)
                                                   for c in MTD_CELLS),
    claims=(Claim("Moving MTD away from its good range, up (21) or down (5), pushes alignment and "
                  "uniformity away from their optimum: alignment + uniformity (both lower is "
                  "better) rises above its value at MTD 14.67",
                  (beats(LONGEST_MTD, BEST_MTD, metric="align_uniform"),
                   beats(SHORTEST_MTD, BEST_MTD, metric="align_uniform"))),),
    notes="The slides state this in their conclusion with no figure or numbers; the MTD points are "
          "Figure 2's runs, coloured by their MTD. align_uniform = alignment + uniformity, the "
          "suite's one-number reading of 'the optimal combination region' (both lower is better).",
    inference="the conclusion's 'away from their optimal combination region' read as a rise of "
              "alignment + uniformity; no paper numbers",
)

ARTIFACTS = (FIG7, ALIGN_UNIFORM)
