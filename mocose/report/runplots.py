"""Figures drawn from each run's own record rather than one number a cell: validation curves over
training steps (Figures 5, 6), singular-value spectra (Figure 7) and alignment against uniformity
(matplotlib Agg + seaborn; shared parts in :mod:`.figure`)."""
from __future__ import annotations

from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # no screen needed; before pyplot loads
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from ablations.spec import Artifact  # noqa: E402

from .cells import CellData  # noqa: E402
from .figure import (ADDITION, LINESTYLES, MARKERS, finish, footnote, no_data,  # noqa: E402
                     not_run_text, style, xfmt, ylabel)
from .runs import curve_points, finite, singular_values  # noqa: E402


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
    colors.update({cd.cell.label: "0.55" for cd in cells if cd.addition})  # grey, as in line plots
    ours_end = float(data["step"].max()) if len(data) else 0.0
    paper_end = max((float(s) for cd in cells for s, _ in cd.cell.paper_curve), default=0.0)
    apart = bool(paper_end) and ours_end < 0.2 * paper_end
    fig, axes = plt.subplots(1, 2 if apart else 1, figsize=(11.0 if apart else 7.4, 4.4),
                             squeeze=False)
    ax = axes[0][0]
    for cd in cells:
        sub = data[data["cell"] == cd.cell.label]
        if sub.empty:
            if cd.cell.run:  # in the legend all the same, named for what it is
                ax.plot([], [], color=colors[cd.cell.label], lw=1.5, ls=":",
                        label=f"{cd.cell.label}: {not_run_text(cd)}")
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
        if a.get_legend_handles_labels()[0]:  # "best": off the curves (a fixed corner hid them)
            a.legend(fontsize=7, loc="best")
    no_data(ax, not data.empty)
    fig.suptitle(f"{art.title}\n{subtitle}", fontsize=10)
    footnote(fig, art)
    return fig


def draw_spectrum(art: Artifact, cells: Sequence[CellData], subtitle: str) -> plt.Figure:
    """Raw singular values against their index 0..d-1 (Figure 7), the mean over each cell's runs."""
    style()
    fig, ax = plt.subplots(figsize=(6.6, 4.4))
    has_any = False
    palette = sns.color_palette("tab10", max(len(cells), 1))
    drawn: list[tuple[np.ndarray, dict]] = []  # each mean spectrum and its line's style
    for i, (cd, color) in enumerate(zip(cells, palette)):
        spectra = [s for s in (singular_values(r) for r in cd.runs) if s is not None]
        if not spectra:
            continue
        has_any = True
        length = min(len(s) for s in spectra)
        mat = np.stack([s[:length] for s in spectra])
        mean = mat.mean(axis=0)
        index = np.arange(length)
        # spectra of near-identical encoders coincide (smoke): line styles and staggered
        # markers keep each one visible
        look = dict(color=color, lw=1.6, ls=LINESTYLES[i % len(LINESTYLES)],
                    marker=MARKERS[i % len(MARKERS)], ms=5, mfc="none",
                    markevery=(i * max(length // 24, 1), max(length // 8, 1)))
        ax.plot(index, mean, label=f"{cd.cell.series or cd.cell.label} (n={len(spectra)})", **look)
        drawn.append((mean, look))
        if len(spectra) > 1:
            sd = mat.std(axis=0, ddof=1)
            ax.fill_between(index, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)
        ax.set_xlim(-0.02 * length, length * 1.04)
    _tail_inset(ax, drawn)
    finish(ax, art, subtitle, has_any)
    # slide 6: raw singular values against their index 0..d-1, not normalised
    ax.set_xlabel(art.x_label or "index")
    normalised = has_any and all(s[0] == 1.0 for cd in cells for s in
                                 (singular_values(r) for r in cd.runs) if s is not None)
    ax.set_ylabel((art.y_label or "Singular Values")
                  + (" / largest (these results stored them normalised)" if normalised else ""))
    return fig


def _tail_inset(ax, drawn: Sequence[tuple[np.ndarray, dict]]) -> None:
    """When the largest singular value dwarfs the rest (over 20 times the second: a near
    one-direction encoder, as at smoke), the rest lie flat on the slide's linear axis: an inset
    shows them from index 1 on a log scale; the main axes stay the slide's."""
    if not any(len(m) > 2 and m[0] > 20 * m[1] > 0 for m, _ in drawn):
        return
    inset = ax.inset_axes([0.3, 0.18, 0.5, 0.45])
    for mean, look in drawn:
        index = np.arange(1, len(mean))
        keep = mean[1:] > 0  # a log axis cannot show 0
        inset.plot(index[keep], mean[1:][keep], **{**look, "lw": 1.0, "ms": 3})
    inset.set_yscale("log")
    inset.set_title("index 1 on, log scale", fontsize=7)
    inset.tick_params(labelsize=6)


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
    labels = []
    for cd, color, marker in zip(named, sns.color_palette("dark", len(named)), markers):
        x, y = cd.mean_of("alignment"), cd.mean_of("uniformity")
        if x is None or y is None:
            continue
        has_any = True
        ax.scatter([x], [y], color=color, marker=marker, s=110, edgecolor="k", lw=0.6, zorder=3,
                   label=cd.cell.label)
        labels.append((cd.cell.label, x, y))
    if pts:
        _name_grid(ax, pts)
    lo, hi = ax.get_xlim()
    for text, x, y in labels:  # a point in the right third is named on its left: kept in the axes
        left = x > lo + 2 * (hi - lo) / 3
        ax.annotate(text, (x, y), textcoords="offset points", xytext=(-7 if left else 7, 5),
                    ha="right" if left else "left", fontsize=9)
    finish(ax, art, subtitle, has_any)
    return fig


def _name_grid(ax, pts: Sequence[tuple[float, float, float]]) -> None:
    """Each MTD point named by its MTD; points that fall on one another (within 3% of the axes'
    span: the smoke encoder barely moves) share one label, "5, 7.67, 21", so none is hidden."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    groups: list[list[tuple[float, float, float]]] = []
    for p in sorted(pts, key=lambda p: p[2]):
        near = next((g for g in groups if abs(g[0][0] - p[0]) <= 0.03 * (x1 - x0)
                     and abs(g[0][1] - p[1]) <= 0.03 * abs(y1 - y0)), None)
        if near is None:
            groups.append([p])
        else:
            near.append(p)
    for g in groups:
        ax.annotate(", ".join(xfmt(p[2]) for p in g), (g[0][0], g[0][1]), xytext=(-8, 0),
                    textcoords="offset points", ha="right", va="center", fontsize=7, color="0.25")
