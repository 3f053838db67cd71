"""Figures of the report, drawn from result files alone (matplotlib Agg + seaborn).

Each ``draw_*`` takes the artifact, its per-cell data (:class:`mocose.report.CellData`) and a
title line, and returns a matplotlib Figure; :func:`save` writes it as PNG and PDF.  Measured
points are means over seeds with one-standard-deviation error bars; the paper's numbers, where
the slides give them, are drawn dashed with open markers; collapsed runs are marked with an x.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from ablations.spec import Artifact  # noqa: E402

if TYPE_CHECKING:
    from .report import CellData

NO_DATA = "no results yet for this profile"


def _style() -> None:
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)


def _series_of(cd: "CellData") -> list[str]:
    return [s for s in (cd.cell.series or cd.cell.label).split("|") if s]


def _no_data(ax, has_any: bool) -> None:
    if not has_any:
        ax.text(0.5, 0.5, NO_DATA, transform=ax.transAxes, ha="center", va="center",
                fontsize=11, color="0.4")


def draw_line(art: Artifact, cells: Sequence["CellData"], subtitle: str,
              dodge: float = 0.0) -> plt.Figure:
    """Metric against cell.x, one line per series; cells without x are horizontal references.

    ``dodge`` shifts series apart by that fraction of x, so error bars at equal x stay readable.
    """
    _style()
    fig, ax = plt.subplots(figsize=(7.0, 4.4))
    names = list(dict.fromkeys(s for cd in cells if cd.cell.x is not None for s in _series_of(cd)))
    palette = dict(zip(names, sns.color_palette("deep", max(len(names), 1))))
    has_any = False
    for k, name in enumerate(names):
        shift = 1.0 + dodge * (k - (len(names) - 1) / 2)
        members = sorted((cd for cd in cells if cd.cell.x is not None and name in _series_of(cd)),
                         key=lambda cd: cd.cell.x)
        color = palette[name]
        pts = [(cd.cell.x * shift, cd.stats.mean, cd.stats.std or 0.0, cd) for cd in members
               if cd.stats.n]
        if pts:
            has_any = True
            xs, ys, es, cds = zip(*pts)
            ax.errorbar(xs, ys, yerr=es, color=color, marker="o", ms=5, capsize=3, lw=1.6,
                        label=f"{name} (measured)")
            for x, y, _, cd in pts:
                if cd.n_collapsed:
                    ax.plot([x], [y], marker="x", ms=11, mew=2, color="crimson", ls="none")
        paper = [(cd.cell.x, cd.cell.paper) for cd in members if cd.cell.paper is not None]
        if paper:
            px, py = zip(*paper)
            ax.plot(px, py, color=color, ls="--", marker="o", mfc="white", ms=5, lw=1.1,
                    label=f"{name} (paper)")
    refs = [cd for cd in cells if cd.cell.x is None and cd.stats.n]
    for cd, color in zip(refs, sns.color_palette("dark", max(len(refs), 1))):
        has_any = True
        ax.axhline(cd.stats.mean, color=color, ls=":", lw=1.5,
                   label=f"{cd.cell.label} (measured, n={cd.stats.n})")
        if cd.stats.std:
            ax.axhspan(cd.stats.mean - cd.stats.std, cd.stats.mean + cd.stats.std, color=color,
                       alpha=0.12)
    if art.x_log:
        ax.set_xscale("log", base=2)
        xs = sorted({cd.cell.x for cd in cells if cd.cell.x is not None})
        ax.set_xticks(xs)
        ax.set_xticklabels([f"{x:g}" for x in xs])
        ax.minorticks_off()
    _finish(ax, art, subtitle, has_any)
    return fig


def draw_mtd(art: Artifact, cells: Sequence["CellData"], subtitle: str) -> plt.Figure:
    """STS against the maximum traceable distance, one line per sweep or batch size."""
    fig = draw_line(art, cells, subtitle, dodge=0.02)
    ax = fig.axes[0]
    if art.x_log:  # MTD values are irregular: round ticks on a log axis read better
        xs = [cd.cell.x for cd in cells if cd.cell.x is not None]
        ax.set_xscale("log", base=10)
        ticks = _nice_ticks(min(xs), max(xs)) if xs else []
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.minorticks_off()
    return fig


def _nice_ticks(lo: float, hi: float) -> list[float]:
    """Round ticks (1, 1.5, 2, 3, 5, 7 per decade) covering [lo, hi] on a log axis."""
    out = []
    for decade in range(int(math.floor(math.log10(lo))), int(math.ceil(math.log10(hi))) + 1):
        out += [m * 10 ** decade for m in (1, 1.5, 2, 3, 5, 7)]
    inside = [t for t in out if lo / 1.5 <= t <= hi * 1.5]
    return inside or [lo, hi]


_CURVE_PANELS = (("dev_spearman", "validation STS-B Spearman"), ("loss", "training loss"),
                 ("embedding_std", "embedding std (collapse if ~0)"))


def draw_curves(art: Artifact, cells: Sequence["CellData"], subtitle: str) -> plt.Figure:
    """Validation curves (result['training']['curve']) of every run, one colour per cell."""
    _style()
    panels = [p for p in _CURVE_PANELS
              if any(p[0] in point for cd in cells for r in cd.runs for point in _curve(r))]
    panels = panels or list(_CURVE_PANELS[:1])
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.0), squeeze=False)
    colors = sns.color_palette("deep", len(cells))
    has_any = False
    for cd, color in zip(cells, colors):
        for i, run in enumerate(cd.runs):
            curve = _curve(run)
            if not curve:
                continue
            has_any = True
            tag = " (collapsed)" if _collapsed(run) else ""
            for ax, (key, _) in zip(axes[0], panels):
                pts = [(p["step"], p[key]) for p in curve
                       if "step" in p and _finite(p.get(key))]
                if pts:
                    xs, ys = zip(*pts)
                    ax.plot(xs, ys, color=color, lw=1.4, alpha=0.9 if i == 0 else 0.5,
                            ls="-" if not tag else "--", marker="o" if len(pts) <= 20 else None,
                            ms=3, label=f"{cd.cell.label}{tag}" if i == 0 else None)
    for ax, (key, label) in zip(axes[0], panels):
        ax.set_xlabel(art.x_label or "step")
        ax.set_ylabel(label)
        ys = [y for line in ax.get_lines() for y in line.get_ydata()]
        if key == "embedding_std" and ys and min(ys) > 0 and max(ys) / min(ys) > 20:
            ax.set_yscale("log")  # a collapse spans decades
    _no_data(axes[0][0], has_any)
    if has_any:
        axes[0][0].legend(fontsize=8, loc="best")
    fig.suptitle(f"{art.title}\n{subtitle}", fontsize=10)
    fig.tight_layout()
    return fig


def draw_spectrum(art: Artifact, cells: Sequence["CellData"], subtitle: str) -> plt.Figure:
    """Singular values normalised by the largest, averaged over each cell's runs."""
    _style()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    has_any = False
    for cd, color in zip(cells, sns.color_palette("deep", len(cells))):
        spectra = [normalised_spectrum(r) for r in cd.runs]
        spectra = [s for s in spectra if s is not None and len(s)]
        if not spectra:
            continue
        has_any = True
        length = min(len(s) for s in spectra)
        mat = np.stack([s[:length] for s in spectra])
        mean = mat.mean(axis=0)
        ax.plot(np.arange(1, length + 1), mean, color=color, lw=1.8,
                label=f"{cd.cell.label} (n={len(spectra)})")
        if len(spectra) > 1:
            sd = mat.std(axis=0, ddof=1)
            ax.fill_between(np.arange(1, length + 1), mean - sd, mean + sd, color=color, alpha=0.15)
    _finish(ax, art, subtitle, has_any)
    return fig


def draw_align_uniform(art: Artifact, cells: Sequence["CellData"], subtitle: str) -> plt.Figure:
    """Alignment against uniformity: named models as large markers, MTD grid coloured by MTD."""
    _style()
    fig, ax = plt.subplots(figsize=(6.8, 5.0))
    has_any = False
    grid = [cd for cd in cells if cd.cell.x is not None]
    named = [cd for cd in cells if cd.cell.x is None]
    pts = [(cd.mean_of("alignment"), cd.mean_of("uniformity"), cd.cell.x) for cd in grid]
    pts = [p for p in pts if p[0] is not None and p[1] is not None]
    if pts:
        has_any = True
        xs, ys, mtds = zip(*pts)
        sc = ax.scatter(xs, ys, c=np.log10(mtds), cmap="viridis", s=46, edgecolor="k", lw=0.4,
                        label="MTD grid (Figure 2 runs)")
        bar = fig.colorbar(sc, ax=ax)
        ticks = _nice_ticks(min(mtds), max(mtds))
        bar.set_ticks(np.log10(ticks))
        bar.set_ticklabels([f"{t:.3g}" for t in ticks])
        bar.set_label("maximum traceable distance")
    markers = ("s", "D", "^", "P", "v")
    for cd, color, marker in zip(named, sns.color_palette("dark", len(named)), markers):
        x, y = cd.mean_of("alignment"), cd.mean_of("uniformity")
        if x is None or y is None:
            continue
        has_any = True
        ax.scatter([x], [y], color=color, marker=marker, s=110, edgecolor="k", lw=0.6, zorder=3,
                   label=cd.cell.label)
        ax.annotate(cd.cell.label, (x, y), textcoords="offset points", xytext=(7, 5), fontsize=9)
    _finish(ax, art, subtitle, has_any)
    return fig


DRAW: dict[str, Callable] = {"line": draw_line, "mtd": draw_mtd, "curves": draw_curves,
                             "spectrum": draw_spectrum, "align_uniform": draw_align_uniform}


def draw(art: Artifact, cells: Sequence["CellData"], subtitle: str) -> plt.Figure:
    return DRAW[art.plot](art, cells, subtitle)


def save(fig: plt.Figure, base: Path) -> list[Path]:
    """Write ``base``.png (150 dpi) and ``base``.pdf, then close the figure."""
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = [base.with_suffix(".png"), base.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


# -- helpers -------------------------------------------------------------------------------------
def _finish(ax, art: Artifact, subtitle: str, has_any: bool) -> None:
    ax.set_xlabel(art.x_label)
    ax.set_ylabel(art.y_label or art.metric)
    ax.set_title(f"{art.title}\n{subtitle}", fontsize=10)
    _no_data(ax, has_any)
    handles, _ = ax.get_legend_handles_labels()
    if len(handles) > 5:  # many series: keep them off the data
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    elif handles:
        ax.legend(fontsize=8, loc="best")
    ax.figure.tight_layout()


def _curve(run: dict) -> list[dict]:
    return list((run.get("training") or {}).get("curve") or [])


def _collapsed(run: dict) -> bool:
    return run.get("status") == "collapsed" or bool((run.get("training") or {}).get("collapsed"))


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def normalised_spectrum(run: dict) -> np.ndarray | None:
    """The run's singular values divided by the largest, or None when absent."""
    sv = (run.get("analysis") or {}).get("singular_values")
    if not sv:
        return None
    arr = np.asarray(sv, dtype=float)
    top = np.nanmax(arr)
    if not np.isfinite(top) or top <= 0:
        return None
    return np.sort(arr)[::-1] / top
