"""What every figure of the report shares: the style, the axis labels, the "no data" mark, the
title with its provenance line, the artifact's notes printed under the figure, and saving as PNG
and PDF (matplotlib's Agg backend: no screen needed)."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from ablations.spec import Artifact  # noqa: E402

from .cells import CellData  # noqa: E402

NO_DATA = "no results yet for this profile"
ADDITION = "suite addition"
PAPER_COLOR = "crimson"


def style() -> None:
    sns.set_theme(style="darkgrid", context="notebook", font_scale=0.9)


def series_of(cd: CellData) -> list[str]:
    """The series a cell is drawn on ("" for an artifact with a single unnamed series)."""
    return [s for s in cd.cell.series.split("|") if s] or [""]


def named(name: str, what: str) -> str:
    return f"{name} ({what})" if name else what


METRIC_LABELS = {"sts": "STS avg., Spearman x 100", "transfer": "transfer avg., accuracy %",
                 "sv_auc": "mean singular value / largest"}
CURVE_LABEL = "STS-B dev, Spearman x 100"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">")
LINESTYLES = ("-", "--", "-.", ":")
NOT_RUN = "not run"


def ylabel(art: Artifact) -> str:
    """The y axis names the metric and its unit (the slides' bare "Correlation" does not)."""
    if art.plot == "curves":
        return CURVE_LABEL
    if art.plot in ("spectrum", "align_uniform"):
        return art.y_label or METRIC_LABELS.get(art.metric, art.metric)
    return METRIC_LABELS.get(art.metric) or art.y_label or art.metric


def profile_of(cells: Sequence[CellData]) -> str | None:
    """The profile the cells' runs were planned under (None: no run cell)."""
    return next((cd.config.profile for cd in cells if cd.config is not None), None)


def not_run_text(cd: CellData) -> str:
    """What a run cell without a result is called on a figure."""
    return "failed" if cd.failures else NOT_RUN


def paper_axis(ax, art: Artifact):
    """A twin y axis with its own scale for the paper's numbers, labelled and coloured so."""
    twin = ax.twinx()
    twin.grid(False)
    twin.set_ylabel(f"paper: {ylabel(art)}", color=PAPER_COLOR)
    twin.tick_params(axis="y", colors=PAPER_COLOR)
    return twin


def no_data(ax, has_any: bool) -> None:
    if not has_any:
        ax.text(0.5, 0.5, NO_DATA, transform=ax.transAxes, ha="center", va="center",
                fontsize=11, color="0.4")


def xfmt(x: float) -> str:
    return f"{x:g}"


def save(fig: plt.Figure, base: Path) -> list[Path]:
    """Write ``base``.png (150 dpi) and ``base``.pdf, then close the figure."""
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = [base.with_suffix(".png"), base.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def finish(ax, art: Artifact, subtitle: str, has_any: bool, legend: bool = True) -> None:
    ax.set_xlabel(art.x_label or art.col_title)
    ax.set_ylabel(ylabel(art))
    ax.set_title(f"{art.title}\n{subtitle}", fontsize=9)
    no_data(ax, has_any)
    handles, _ = ax.get_legend_handles_labels()
    if legend and len(handles) > 5:  # many series: keep them off the data
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    elif legend and handles:
        ax.legend(fontsize=8, loc="best")
    footnote(ax.figure, art)


def footnote(fig: plt.Figure, art: Artifact) -> None:
    """The artifact's notes (and inference, unless the notes already give it), wrapped under the
    figure, so they travel with it; each once."""
    said = "inference" in (art.notes or "").lower()
    text = " ".join(t for t in (f"Inference: {art.inference}." if art.inference and not said else "",
                                art.notes) if t)
    fig.tight_layout()
    if text:
        width = int(fig.get_figwidth() * 15)
        fig.text(0.01, 0.0, textwrap.fill(text, width), fontsize=6.5, color="0.3", va="top",
                 ha="left", wrap=False)
