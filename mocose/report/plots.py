"""Figures of the report in the paper's own axes, drawn from result files alone (matplotlib Agg +
seaborn).

Each ``draw_*`` takes the artifact, its per-cell data (:class:`.cells.CellData`) and a provenance
line, and returns a matplotlib Figure; :func:`save` writes it as PNG and PDF.  The
plot kinds (``ablations.spec.PLOTS``), after the slides (``shared/paper/slides/page-*.png``):

- ``line``: the metric against ``cell.x``, one line per series, one-std error bars over seeds.
- ``band``: the same with a shaded band of one std over seeds (Figures 2, 3, slide 5's EMA curve)
  on a linear x axis; a series of one cell is a labelled point (SimCSE at MTD 0 in Figure 2).
- ``box``: box plots over seeds at categorical x, one box per series (Figure 10; Figure 12 with
  its panels: a zoomed view and an overview).
- ``bar``: our mean with a std error bar beside the paper's bar (Table 6(b)).
- ``curves``: validation STS-B dev Spearman over training steps, the mean over seeds with a band,
  the paper's curve read off the slide dashed beside it (Figures 5, 6).
- ``spectrum``: raw singular values against their index 0..d-1 (Figure 7).
- ``align_uniform``: alignment against uniformity, the MTD grid coloured by MTD.

The paper's numbers are drawn beside ours (dashed lines with open markers, red diamonds beside
boxes, hatched bars); suite additions (cells the paper does not have) are grey and say so in the
legend; collapsed runs are marked with a red x; the artifact's notes are printed under the figure.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable, Sequence

import matplotlib

matplotlib.use("Agg")  # no screen needed; before pyplot loads
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import MatplotlibDeprecationWarning  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from ablations.spec import Artifact  # noqa: E402

from .cells import CellData  # noqa: E402
from .figure import (ADDITION, PAPER_COLOR, finish, footnote, named, no_data, series_of, style,  # noqa: E402
                     xfmt, ylabel)
from .runs import curve_points, finite, singular_values  # noqa: E402

def draw_line(art: Artifact, cells: Sequence[CellData], subtitle: str,
              band: bool = False) -> plt.Figure:
    """Metric against cell.x, one line per series, +/- one std over seeds as error bars or (band)
    a shaded band."""
    style()
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    placed = [cd for cd in cells if cd.cell.x is not None]
    names = list(dict.fromkeys(s for cd in placed for s in series_of(cd)))
    palette = dict(zip(names, sns.color_palette("tab10", max(len(names), 1))))
    has_any = False
    for name in names:
        members = sorted((cd for cd in placed if name in series_of(cd)), key=lambda cd: cd.cell.x)
        addition = all(cd.addition for cd in members)
        color = "0.55" if addition else palette[name]
        tag = f" ({ADDITION})" if addition else ""
        pts = [(cd.cell.x, cd.stats.mean, cd.stats.std or 0.0, cd) for cd in members if cd.stats.n]
        if len(members) == 1 and len(placed) > 1 and name:  # a point (SimCSE at MTD 0, Figure 2)
            cd = members[0]
            if pts:
                has_any = True
                ax.errorbar([cd.cell.x], [cd.stats.mean], yerr=[cd.stats.std or 0.0], color=color,
                            marker="x", ms=9, mew=2, capsize=3, ls="none",
                            label=f"{cd.cell.label}{tag} (ours)")
            if cd.cell.paper is not None:
                ax.plot([cd.cell.x], [cd.cell.paper], marker="x", ms=9, mew=2, color=PAPER_COLOR,
                        ls="none", label=f"{cd.cell.label} (paper)")
                ax.annotate(cd.cell.label, (cd.cell.x, cd.cell.paper), textcoords="offset points",
                            xytext=(6, -3), fontsize=8)
            continue
        if pts:
            has_any = True
            xs, ys, es = (np.array([p[i] for p in pts], dtype=float) for i in range(3))
            if band:
                ax.plot(xs, ys, color=color, marker="o", ms=4, lw=1.6,
                        label=named(name + tag, "ours"))
                if es.any():
                    ax.fill_between(xs, ys - es, ys + es, color=color, alpha=0.2, lw=0)
            else:
                ax.errorbar(xs, ys, yerr=es, color=color, marker="o", ms=4, lw=1.6, capsize=3,
                            label=named(name + tag, "ours"))
            for x, y, _, cd in pts:
                if cd.n_collapsed:
                    ax.plot([x], [y], marker="x", ms=11, mew=2, color=PAPER_COLOR, ls="none")
        paper = [(cd.cell.x, cd.cell.paper) for cd in members if cd.cell.paper is not None]
        if paper:
            px, py = zip(*paper)
            ax.plot(px, py, color=color, ls="--", marker="o", mfc="white", ms=5, lw=1.1,
                    label=named(name, "paper"))
    refs = [cd for cd in cells if cd.cell.x is None and cd.stats.n]
    for cd, color in zip(refs, sns.color_palette("dark", max(len(refs), 1))):
        has_any = True
        tag = f" ({ADDITION})" if cd.addition else ""
        ax.axhline(cd.stats.mean, color=color, ls=":", lw=1.5,
                   label=f"{cd.cell.label}{tag} (ours, n={cd.stats.n})")
        if cd.stats.std:
            ax.axhspan(cd.stats.mean - cd.stats.std, cd.stats.mean + cd.stats.std, color=color,
                       alpha=0.12)
    if art.x_log and not band:
        ax.set_xscale("log", base=2)
        xs = sorted({cd.cell.x for cd in placed})
        ax.set_xticks(xs)
        ax.set_xticklabels([xfmt(x) for x in xs])
        ax.minorticks_off()
    finish(ax, art, subtitle, has_any)
    return fig


def draw_band(art: Artifact, cells: Sequence[CellData], subtitle: str) -> plt.Figure:
    """Lines with seed bands on a linear x axis (slides 5 and 8); a point at x 0 (SimCSE at MTD 0)
    is kept in view."""
    fig = draw_line(art, cells, subtitle, band=True)
    ax = fig.axes[0]
    xs = [cd.cell.x for cd in cells if cd.cell.x is not None]
    if xs and min(xs) == 0:
        ax.set_xlim(-0.05 * max(xs) - 0.5, max(xs) * 1.05 + 0.5)
    return fig


def box_frame(cells: Sequence[CellData]) -> pd.DataFrame:
    """One row per run of every placed cell: x (as a category), series, value, addition."""
    rows = []
    for cd in cells:
        if cd.cell.x is None:
            continue
        for value in cd.values():
            rows.append({"x": xfmt(cd.cell.x), "series": series_of(cd)[0], "value": value,
                         "addition": cd.addition})
    return pd.DataFrame(rows, columns=["x", "series", "value", "addition"])


def _box_panel(ax, cells: Sequence[CellData], palette: dict) -> bool:
    """Boxes per x category, one colour per series (``palette``: series -> colour, the same in
    every panel), the paper's values as red diamonds at their boxes' positions."""
    placed = sorted((cd for cd in cells if cd.cell.x is not None), key=lambda cd: cd.cell.x)
    order = list(dict.fromkeys(xfmt(cd.cell.x) for cd in placed))
    hues = [h for h in palette if any(series_of(cd)[0] == h for cd in placed)]
    one = len(hues) <= 1
    data = box_frame(placed)
    ax.set_xlim(-0.5, len(order) - 0.5)
    if len(data):
        with warnings.catch_warnings():  # seaborn 0.13 passes matplotlib's deprecated 'vert'
            warnings.simplefilter("ignore", MatplotlibDeprecationWarning)
            sns.boxplot(data=data, x="x", y="value", hue=None if one else "series", order=order,
                        hue_order=None if one else hues, ax=ax, width=0.6 if one else 0.8,
                        color=sns.color_palette("tab10")[0] if one else None,
                        palette=None if one else {h: palette[h] for h in hues},
                        linewidth=1.0, fliersize=3, legend=False)
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(order)
    # The paper's values beside each box: at the box's own (dodged) position.
    width = 0.8 / max(len(hues), 1)
    paper = [(order.index(xfmt(cd.cell.x)) + (0.0 if one else
              -0.4 + width * (hues.index(series_of(cd)[0]) + 0.5)), cd.cell.paper)
             for cd in placed if cd.cell.paper is not None]
    if paper:
        xs, ys = zip(*paper)
        ax.plot(xs, ys, ls="none", marker="D", ms=5, mfc="none", mew=1.4, color=PAPER_COLOR,
                label="paper", zorder=5)
    for cd in placed:
        if cd.addition:
            ax.annotate(ADDITION, (order.index(xfmt(cd.cell.x)), 0), xycoords=("data", "axes fraction"),
                        xytext=(0, 3), textcoords="offset points", ha="center", fontsize=7,
                        color="0.4")
    return bool(len(data))


def draw_box(art: Artifact, cells: Sequence[CellData], subtitle: str) -> plt.Figure:
    """Boxes over seeds per x (one per series), one subplot per panel of the artifact (Figure 12:
    a zoomed view and an overview) or a single one (Figure 10)."""
    style()
    panels = art.panels or (None,)
    widths = [max(len({cd.cell.x for cd in _in_panel(cells, p)}), 1) for p in panels]
    fig, axes = plt.subplots(1, len(panels), figsize=(min(4.0 + 1.3 * sum(widths), 13.0), 4.8),
                             squeeze=False, gridspec_kw={"width_ratios": widths})
    placed = sorted((cd for cd in cells if cd.cell.x is not None), key=lambda cd: cd.cell.x)
    hues = list(dict.fromkeys(series_of(cd)[0] for cd in placed))
    palette = dict(zip(hues, sns.color_palette("husl", len(hues))))
    has_any = False
    for ax, panel in zip(axes[0], panels):
        has_any |= _box_panel(ax, _in_panel(cells, panel), palette)
        ax.set_xlabel(art.x_label)
        ax.set_ylabel(ylabel(art))
        if panel is not None:
            ax.set_title(panel.title, fontsize=9)
    no_data(axes[0][0], has_any)
    handles = []
    if len(hues) > 1:
        handles = [Patch(facecolor=c, edgecolor="0.3", label=h) for h, c in palette.items()]
    if any(cd.cell.paper is not None for cd in placed):
        handles.append(plt.Line2D([], [], ls="none", marker="D", mfc="none", mew=1.4,
                                  color=PAPER_COLOR, label="paper"))
    if handles:
        axes[0][-1].legend(handles=handles, title=LEGEND_TITLES.get(art.name) or None, fontsize=7,
                           title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                           frameon=False)
    fig.suptitle(f"{art.title}\n{subtitle}", fontsize=10)
    footnote(fig, art)
    return fig


# The legend title of a box plot's series where the slide prints one (slide 7: "begin_size").
LEGEND_TITLES = {"fig12": "begin_size"}


def _in_panel(cells: Sequence[CellData], panel) -> list[CellData]:
    return [cd for cd in cells if cd.cell.x is not None
            and (panel is None or not panel.xs or cd.cell.x in panel.xs)]


def draw_bar(art: Artifact, cells: Sequence[CellData], subtitle: str) -> plt.Figure:
    """Our mean (std error bar) beside the paper's bar, per cell, numbers printed on the bars."""
    style()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    shown = [cd for cd in cells if cd.cell.run or cd.cell.paper is not None]
    pos = np.arange(len(shown))
    has_any = False
    ours = [cd.stats.mean if cd.stats.n else np.nan for cd in shown]
    errs = [cd.stats.std or 0.0 for cd in shown]
    paper = [cd.cell.paper if cd.cell.paper is not None else np.nan for cd in shown]
    both = any(not math.isnan(v) for v in paper)
    if any(not math.isnan(v) for v in ours):
        has_any = True
        bars = ax.bar(pos - 0.2 if both else pos, ours, 0.38 if both else 0.5, yerr=errs, capsize=3,
                      color=["0.6" if cd.addition else sns.color_palette("tab10")[0] for cd in shown],
                      label="ours (mean ± std)")
        ax.bar_label(bars, labels=[f"{v:.2f}" if not math.isnan(v) else "" for v in ours],
                     fontsize=7, padding=2)
    if both:
        bars = ax.bar(pos + 0.2, paper, 0.38, color="white", edgecolor=PAPER_COLOR, hatch="//",
                      label="paper")
        ax.bar_label(bars, labels=[f"{v:.2f}" if not math.isnan(v) else "" for v in paper],
                     fontsize=7, padding=2, color=PAPER_COLOR)
    ax.set_xticks(pos)
    ax.set_xticklabels([cd.cell.col or cd.cell.label for cd in shown])
    values = [v for v in ours + paper if not math.isnan(v)]
    if values:  # the slide's axis starts near the data, not at 0
        lo, hi = min(values), max(values)
        ax.set_ylim(lo - max(1.0, 0.25 * (hi - lo)), hi + max(1.0, 0.25 * (hi - lo)))
    finish(ax, art, subtitle, has_any)
    return fig


def curve_frame(cells: Sequence[CellData], key: str = "dev_spearman") -> pd.DataFrame:
    """One row per (cell, run, validation): step and ``key`` from result['training']['curve']."""
    rows = []
    for cd in cells:
        for run in cd.runs:
            for point in curve_points(run):
                if "step" in point and finite(point.get(key)) is not None:
                    rows.append({"cell": cd.cell.label, "run_id": run.get("run_id"),
                                 "step": point["step"], key: point[key]})
    return pd.DataFrame(rows, columns=["cell", "run_id", "step", key])


def draw_curves(art: Artifact, cells: Sequence[CellData], subtitle: str) -> plt.Figure:
    """Validation correlation against training step, the mean over seeds with a +/- std band
    (Figures 5 and 6), the paper's curves (read off the slide) dashed beside them.

    When the runs end long before the paper's curves (a short profile: 16 or 100 steps against
    ~15,000), the paper's curves get their own panel, with a line where our runs end, so neither
    is squeezed flat."""
    style()
    data = curve_frame(cells)
    colors = dict(zip((cd.cell.label for cd in cells), sns.color_palette("tab10", max(len(cells), 1))))
    ours_end = float(data["step"].max()) if len(data) else 0.0
    paper_end = max((float(s) for cd in cells for s, _ in cd.cell.paper_curve), default=0.0)
    apart = bool(paper_end) and ours_end < 0.2 * paper_end
    fig, axes = plt.subplots(1, 2 if apart else 1, figsize=(11.0 if apart else 7.4, 4.4),
                             squeeze=False)
    ax = axes[0][0]
    for cd in cells:
        sub = data[data["cell"] == cd.cell.label]
        if sub.empty:
            continue
        stats = sub.groupby("step")["dev_spearman"].agg(["mean", "std"]).reset_index()
        tag = f" ({ADDITION})" if cd.addition else ""
        ax.plot(stats["step"], stats["mean"], color=colors[cd.cell.label], lw=1.5,
                marker="o" if len(stats) <= 25 else None, ms=3,
                label=f"{cd.cell.label}{tag} (ours, n={sub['run_id'].nunique()})")
        band = stats["std"].fillna(0.0)
        if band.any():
            ax.fill_between(stats["step"], stats["mean"] - band, stats["mean"] + band,
                            color=colors[cd.cell.label], alpha=0.2, lw=0)
    paper_ax = axes[0][1] if apart else ax
    for cd in cells:
        if cd.cell.paper_curve:
            steps, values = zip(*cd.cell.paper_curve)
            paper_ax.plot(steps, values, color=colors[cd.cell.label], ls="--", lw=1.1,
                          label=f"{cd.cell.label} (paper, approx.)")
    if apart:
        paper_ax.axvline(ours_end, color="0.3", ls=":", lw=1.2,
                         label=f"our runs end at step {ours_end:g}")
        paper_ax.set_title("the paper's curves (read off the slide)", fontsize=9)
        ax.set_title("our runs at this profile", fontsize=9)
    for a in axes[0]:
        a.set_xlabel(art.x_label or "Training Step")
        a.set_ylabel(ylabel(art))
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=7, loc="upper right")
    no_data(ax, not data.empty)
    fig.suptitle(f"{art.title}\n{subtitle}", fontsize=10)
    footnote(fig, art)
    return fig


def draw_spectrum(art: Artifact, cells: Sequence[CellData], subtitle: str) -> plt.Figure:
    """Raw singular values against their index 0..d-1 (Figure 7), the mean over each cell's runs."""
    style()
    fig, ax = plt.subplots(figsize=(6.6, 4.4))
    has_any = False
    for cd, color in zip(cells, sns.color_palette("tab10", max(len(cells), 1))):
        spectra = [s for s in (singular_values(r) for r in cd.runs) if s is not None]
        if not spectra:
            continue
        has_any = True
        length = min(len(s) for s in spectra)
        mat = np.stack([s[:length] for s in spectra])
        mean = mat.mean(axis=0)
        index = np.arange(length)
        ax.plot(index, mean, color=color, lw=1.6,
                label=f"{cd.cell.series or cd.cell.label} (n={len(spectra)})")
        if len(spectra) > 1:
            sd = mat.std(axis=0, ddof=1)
            ax.fill_between(index, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)
        ax.set_xlim(-0.02 * length, length * 1.04)
    finish(ax, art, subtitle, has_any)
    # slide 6: raw singular values against their index 0..d-1, not normalised
    ax.set_xlabel(art.x_label or "index")
    normalised = has_any and all(s[0] == 1.0 for cd in cells for s in
                                 (singular_values(r) for r in cd.runs) if s is not None)
    ax.set_ylabel((art.y_label or "Singular Values")
                  + (" / largest (these results stored them normalised)" if normalised else ""))
    return fig


def draw_align_uniform(art: Artifact, cells: Sequence[CellData], subtitle: str) -> plt.Figure:
    """Alignment against uniformity: named models as large markers, MTD grid coloured by MTD."""
    style()
    fig, ax = plt.subplots(figsize=(6.8, 5.0))
    has_any = False
    grid = [cd for cd in cells if cd.cell.x is not None]
    named = [cd for cd in cells if cd.cell.x is None]
    pts = [(cd.mean_of("alignment"), cd.mean_of("uniformity"), cd.cell.x) for cd in grid]
    pts = [p for p in pts if p[0] is not None and p[1] is not None]
    if pts:
        has_any = True
        xs, ys, mtds = zip(*pts)
        sc = ax.scatter(xs, ys, c=mtds, cmap="viridis", s=46, edgecolor="k", lw=0.4,
                        label="MTD grid (Figure 2 runs)")
        fig.colorbar(sc, ax=ax).set_label("maximum traceable distance")
    markers = ("s", "D", "^", "P", "v")
    for cd, color, marker in zip(named, sns.color_palette("dark", len(named)), markers):
        x, y = cd.mean_of("alignment"), cd.mean_of("uniformity")
        if x is None or y is None:
            continue
        has_any = True
        ax.scatter([x], [y], color=color, marker=marker, s=110, edgecolor="k", lw=0.6, zorder=3,
                   label=cd.cell.label)
        ax.annotate(cd.cell.label, (x, y), textcoords="offset points", xytext=(7, 5), fontsize=9)
    finish(ax, art, subtitle, has_any)
    return fig


DRAW: dict[str, Callable] = {"line": draw_line, "band": draw_band, "box": draw_box, "bar": draw_bar,
                             "curves": draw_curves, "spectrum": draw_spectrum,
                             "align_uniform": draw_align_uniform}


def draw(art: Artifact, cells: Sequence[CellData], subtitle: str) -> plt.Figure:
    return DRAW[art.plot](art, cells, subtitle)
