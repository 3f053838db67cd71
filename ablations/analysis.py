"""Figure 7 (singular values of the STS-B embedding matrix) and alignment/uniformity.

The experiment computes both analyses for every run; these artifacts only choose which runs to
draw.  The three models share their runs with Table 1 (MoCoSE, SimCSE) where the configs coincide.
"""
from __future__ import annotations

from .main_results import MOCOSE_BEST, SIMCSE
from .queue import MTD_CELLS
from .spec import Artifact, Cell, Claim, beats

# The untrained encoder read with the trained models' pooler, so the spectra compare like with like.
BERT = Cell("BERT", {"method": "none", "eval_pooler": "cls_before_pooler"}, series="BERT")
SIMCSE_CELL = Cell("SimCSE", SIMCSE, series="SimCSE")
MOCOSE_CELL = Cell("MoCoSE", MOCOSE_BEST, series="MoCoSE")

FIG7 = Artifact(
    name="fig7",
    title="Figure 7: singular values of the STS-B sentence-embedding matrix (normalised)",
    kind="figure",
    plot="spectrum",
    metric="sv_auc",
    x_label="singular value index",
    y_label="singular value / largest",
    cells=(BERT, SIMCSE_CELL, MOCOSE_CELL),
    claims=(Claim("MoCoSE's singular values decay more slowly than BERT's and SimCSE's "
                  "(larger mean normalised singular value)",
                  (beats("MoCoSE", "BERT"), beats("MoCoSE", "SimCSE"))),),
    notes="sv_auc: the mean of the singular values divided by the largest, a one-number summary "
          "of how flat (isotropic) the spectrum is.",
)

ALIGN_UNIFORM = Artifact(
    name="align_uniform",
    title="Alignment and uniformity on STS-B of BERT, SimCSE, MoCoSE and the MTD grid",
    kind="figure",
    plot="align_uniform",
    metric="uniformity",
    x_label="alignment (lower is better)",
    y_label="uniformity (lower is better)",
    cells=(BERT, SIMCSE_CELL, MOCOSE_CELL) + MTD_CELLS,
    claims=(
        Claim("MoCoSE is more uniform than untrained BERT", (beats("BERT", "MoCoSE"),)),
        Claim("SimCSE is more uniform than untrained BERT", (beats("BERT", "SimCSE"),)),
    ),
    notes="MTD grid points are Figure 2's runs, coloured by their MTD. Uniformity: lower is more "
          "uniform, so 'BERT > MoCoSE' on uniformity means MoCoSE is more uniform.",
)

ARTIFACTS = (FIG7, ALIGN_UNIFORM)
