"""The negative-queue studies: queue size x initialisation (Table 7, Figure 12), queue ages
(Table 8), k-means negatives, and the maximum traceable distance (Figures 2 and 3).

Grids are chosen to coincide where the paper's recipes do, so identical configs run once: under
the cpu and paper profiles (batch 64, K 512 by default) the MTD grid of Figure 2 reuses Table 3's
EMA sweep and Table 7's 'init. all' row.
"""
from __future__ import annotations

from mocose.mtd import mtd, queue_size_for_mtd

from .spec import Artifact, Cell, Claim, beats

# -- Table 7 / Figure 12: queue size x initial fill ------------------------------------------------
SIZES = (128, 256, 512, 1024, 4096)
INITS = ((0.0, "w.o. init."), (0.25, "init. 1/4 queue"), (0.5, "init. 1/2 queue"),
         (1.0, "init. all (normal)"))
_TABLE7 = (
    (76.40, 76.19, 75.38, 76.63, 50.17),
    (75.92, 76.34, 77.30, 76.20, 50.42),
    (76.16, 76.39, 76.94, 76.57, 38.74),
    (76.87, 75.81, 76.29, 76.45, 45.80),
)


def _queue_label(size: int, init: float) -> str:
    return f"K {size}, init {init:g}"


QUEUE_CELLS = tuple(
    Cell(_queue_label(k, f), {"queue_size": k, "queue_init_fraction": f}, value, row=row,
         col=str(k), x=k, series=row)
    for (f, row), values in zip(INITS, _TABLE7) for k, value in zip(SIZES, values))

_K4096_COLLAPSES = Claim(
    "K = 4096 collapses whatever the init (each init: at least 10 points below K 512)",
    tuple(beats(_queue_label(512, f), _queue_label(4096, f), 10.0) for f, _ in INITS))
_INIT_HELPS = Claim(
    "Starting a K = 512 queue 1/4 full of random vectors beats starting it empty",
    (beats(_queue_label(512, 0.25), _queue_label(512, 0.0)),))

TABLE7 = Artifact(
    name="table7",
    title="Table 7: queue size x initial fill of the queue with random vectors (STS avg.)",
    kind="table",
    row_title="Initial size",
    col_title="Queue size",
    cells=QUEUE_CELLS,
    claims=(_K4096_COLLAPSES, _INIT_HELPS),
)

FIG12 = Artifact(
    name="fig12",
    title="Figure 12: STS avg. against queue size for each initial fill (the runs of Table 7)",
    kind="figure",
    plot="line",
    x_label="queue size K",
    y_label="STS avg.",
    x_log=True,
    cells=QUEUE_CELLS,
    claims=(_K4096_COLLAPSES,),
)

# -- Table 8: which ages of the queue ---------------------------------------------------------------
_SLICES = (("blocks 0-3 (newest half)", "blocks:0-3/8", 76.10),
           ("blocks 2-5 (middle)", "blocks:2-5/8", 77.02),
           ("blocks 4-7 (oldest half)", "blocks:4-7/8", 75.71),
           ("blocks 0,1,6,7 (both ends)", "blocks:0,1,6,7/8", 76.18),
           ("all 8 blocks", "all", 76.86))
TABLE8 = Artifact(
    name="table8",
    title="Table 8: negatives from different ages of a K = 1024 queue in 8 blocks (STS avg.)",
    kind="table",
    base={"queue_size": 1024, "batch_size": 256, "fgsm_epsilon": 5e-9},
    row_title="Queue blocks used (0 = newest)",
    cells=tuple(Cell(label, {"queue_slice": spec}, value, row=label, col="STS avg.")
                for label, spec, value in _SLICES),
    claims=(
        Claim("The middle of the queue beats its ends",
              tuple(beats("blocks 2-5 (middle)", other) for other, _, _ in _SLICES[:4]
                    if other != "blocks 2-5 (middle)")),
        Claim("The middle half of the queue beats the whole queue",
              (beats("blocks 2-5 (middle)", "all 8 blocks"),)),
    ),
    notes="Numbers from the authors' notebook (bert-base, eta 0.85, B 256, FGSM 5e-9).",
)

# -- k-means centres as negatives ---------------------------------------------------------------------
_KMEANS = (("normal", "all", 76.41), ("mean average", "mean", 76.80),
           ("5 clusters", "kmeans:5", 74.37), ("10 clusters", "kmeans:10", 77.13),
           ("15 clusters", "kmeans:15", 77.01), ("20 clusters", "kmeans:20", 75.82))
KMEANS = Artifact(
    name="kmeans",
    title="k-means centres of the queue as negatives (eta 0.85, K 512, B 64; STS avg.)",
    kind="table",
    base={"ema_decay": 0.85, "queue_size": 512, "batch_size": 64},
    col_title="Negatives",
    cells=tuple(Cell(label, {"queue_negatives": spec}, value, row="STS avg.", col=label)
                for label, spec, value in _KMEANS),
    claims=(
        Claim("10 k-means centres beat the plain queue", (beats("10 clusters", "normal"),)),
        Claim("The mean of the queue beats the plain queue", (beats("mean average", "normal"),)),
    ),
)

# -- Figures 2 and 3: STS against the maximum traceable distance ----------------------------------
ETAS = (0.5, 0.8, 0.85, 0.9, 0.95, 0.99)
ETA_SERIES = "vary eta (K 512)"
K_SERIES = "vary K (eta 0.85)"


def _mtd_cell(eta: float, size: int, batch: int, series: str) -> Cell:
    return Cell(f"eta {eta:g}, K {size}, B {batch}",
                {"ema_decay": eta, "queue_size": size, "batch_size": batch},
                None, x=round(mtd(eta, size, batch), 2), series=series)


MTD_CELLS = tuple(
    _mtd_cell(eta, 512, 64, ETA_SERIES + ("|" + K_SERIES if eta == 0.85 else "")) for eta in ETAS
) + tuple(_mtd_cell(0.85, k, 64, K_SERIES) for k in SIZES if k != 512)
CENTRE = "eta 0.85, K 512, B 64"

FIG2 = Artifact(
    name="fig2",
    title="Figure 2: STS avg. against the maximum traceable distance (B 64)",
    kind="figure",
    plot="mtd",
    x_label="maximum traceable distance 1/(1-eta) + K/B",
    y_label="STS avg.",
    x_log=True,
    cells=MTD_CELLS,
    claims=(Claim("An intermediate MTD (eta 0.85, K 512: 14.7) beats the longest ones "
                  "(K 4096: 70.7; eta 0.99: 108)",
                  (beats(CENTRE, "eta 0.85, K 4096, B 64"), beats(CENTRE, "eta 0.99, K 512, B 64"))),),
    notes="Two sweeps through the default recipe: eta at K 512 (Table 3's grid) and K at "
          "eta 0.85 (Table 7's sizes), all at B 64.",
)

BATCH_SIZES = (32, 64, 128)
TARGET_MTDS = (10.0, 15.0, 25.0, 40.0)
FIG3_CELLS = tuple(_mtd_cell(0.85, queue_size_for_mtd(t, 0.85, b), b, f"B {b}")
                   for b in BATCH_SIZES for t in TARGET_MTDS)


def _fig3_label(batch: int, target: float) -> str:
    return f"eta 0.85, K {queue_size_for_mtd(target, 0.85, batch)}, B {batch}"


FIG3 = Artifact(
    name="fig3",
    title="Figure 3: STS avg. against MTD for several batch sizes (eta 0.85, K chosen per MTD)",
    kind="figure",
    plot="mtd",
    x_label="maximum traceable distance 1/(1-eta) + K/B",
    y_label="STS avg.",
    x_log=True,
    cells=FIG3_CELLS,
    claims=(Claim("At every batch size a moderate MTD (~15) beats a long one (~40)",
                  tuple(beats(_fig3_label(b, 15.0), _fig3_label(b, 40.0)) for b in BATCH_SIZES)),),
    notes="K = mocose.mtd.queue_size_for_mtd(target, 0.85, B) for targets 10, 15, 25, 40 "
          "(a whole number of batches), so every batch size has the same MTDs 9.7, 14.7, 24.7, 39.7.",
)

ARTIFACTS = (TABLE7, FIG12, TABLE8, KMEANS, FIG2, FIG3)
