"""Figures of the report in the paper's own axes, drawn from result files alone (matplotlib Agg +
seaborn).

Each ``draw_*`` takes the artifact, its per-cell data (:class:`.cells.CellData`) and a provenance
line, and returns a matplotlib Figure; :func:`save` writes it as PNG and PDF.  The
plot kinds (``ablations.spec.PLOTS``), after the slides (``shared/paper/slides/page-*.png``):

- ``line``: the metric against ``cell.x``, one line per series, one-std error bars over seeds.
- ``band``: the same with a shaded band of one std over seeds (Figures 2, 3, slide 5's EMA curve)
  on a linear x axis; a series of one cell is a labelled point (SimCSE at MTD 0 in Figure 2).
- ``box``: box plots over seeds at categorical x, one box per series, each run a dot in its
  series' colour (Figure 10; Figure 12 with its panels: a zoomed view and an overview).
- ``bar``: our mean with a std error bar beside the paper's bar (Table 6(b)).
- ``curves``: validation STS-B dev Spearman over training steps, the mean over seeds with a band,
  the paper's curve read off the slide dashed beside it (Figures 5, 6).
- ``spectrum``: raw singular values against their index 0..d-1 (Figure 7).
- ``align_uniform``: alignment against uniformity, the MTD grid coloured by MTD.

The paper's numbers are drawn beside ours (dashed lines with open markers, hollow diamonds in
their series' colour at the boxes, hatched bars); outside the paper profile, whose scale ours do
not share, on a panel of their own (line, band, bar, curves) or a twin y axis (box), labelled so.
Suite additions (cells the paper does not have) are grey and say so in the legend; collapsed runs
are marked with a red x; the artifact's notes are printed under the figure.
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
from .figure import (ADDITION, LINESTYLES, MARKERS, PAPER_COLOR, finish, footnote, named,  # noqa: E402
                     no_data, not_run_text, paper_axis, profile_of, series_of, style, xfmt, ylabel)
from .runplots import curve_frame, draw_align_uniform, draw_curves, draw_spectrum  # noqa: E402,F401

def _dodge(xs: Sequence[float], i: int, k: int, log: bool) -> np.ndarray:
    """Series ``i`` of ``k`` shifted a little sideways, so lines at the same x stay visible."""
    xs = np.asarray(xs, dtype=float)
    step = i - (k - 1) / 2
    if log:
        return xs * 2 ** (0.04 * step)
    return xs + 0.006 * step * (max(xs.max() - xs.min(), 1.0) if len(xs) else 1.0)


def draw_line(art: Artifact, cells: Sequence[CellData], subtitle: str,
              band: bool = False) -> plt.Figure:
    """Metric against cell.x, one line per series (its own colour, marker and a small sideways
    dodge), +/- one std over seeds as error bars or (band) a shaded band. Outside the paper
    profile the paper's numbers live on another scale: they get their own panel, same colours."""
    style()
    placed = [cd for cd in cells if cd.cell.x is not None]
    apart = profile_of(cells) != "paper" and any(cd.cell.paper is not None for cd in placed)
    fig, axes = plt.subplots(1, 2 if apart else 1, figsize=(12.4 if apart else 7.2, 4.6),
                             squeeze=False, sharex=True)
    ax, pax = axes[0][0], axes[0][-1]
    names = list(dict.fromkeys(s for cd in placed for s in series_of(cd)))
    palette = dict(zip(names, sns.color_palette("tab10", max(len(names), 1))))
    log = art.x_log and not band
    has_any = False
    for i, name in enumerate(names):
        members = sorted((cd for cd in placed if name in series_of(cd)), key=lambda cd: cd.cell.x)
        addition = all(cd.addition for cd in members)
        color = "0.55" if addition else palette[name]
        marker = MARKERS[i % len(MARKERS)]
        tag = f" ({ADDITION})" if addition else ""
        pts = [(cd.cell.x, cd.stats.mean, cd.stats.std or 0.0, cd) for cd in members if cd.stats.n]
        missing = [cd for cd in members if cd.cell.run and not cd.stats.n]
        if missing:  # cells with no result: a tick at the foot of their x, counted in the legend
            ax.plot(_dodge([cd.cell.x for cd in missing], i, len(names), log), [0.02] * len(missing),
                    transform=ax.get_xaxis_transform(), ls="none", marker=marker, mfc="none",
                    mec=color, ms=6, label=f"{name or art.name}: {len(missing)} of {len(members)} "
                    f"cells {not_run_text(missing[0])}")
        if len(members) == 1 and len(placed) > 1 and name:  # a point (SimCSE at MTD 0, Figure 2)
            cd = members[0]
            if pts:
                has_any = True
                # no std (one run): no error bar, whose bare caps make the legend's x an hourglass
                ax.errorbar([cd.cell.x], [cd.stats.mean], color=color,
                            yerr=[cd.stats.std] if cd.stats.std else None,
                            marker="x", ms=9, mew=2, capsize=3, ls="none",
                            label=f"{cd.cell.label}{tag} (ours)")
            if cd.cell.paper is not None:
                pax.plot([cd.cell.x], [cd.cell.paper], marker="x", ms=9, mew=2, color=color,
                         ls="none", label=f"{cd.cell.label} (paper)")
                pax.annotate(cd.cell.label, (cd.cell.x, cd.cell.paper), textcoords="offset points",
                             xytext=(6, -3), fontsize=8)
            continue
        if pts:
            has_any = True
            xs, ys, es = (np.array([p[i] for p in pts], dtype=float) for i in range(3))
            xs = _dodge(xs, i, len(names), log)
            if band:
                ax.plot(xs, ys, color=color, marker=marker, ms=5, lw=1.6,
                        ls=LINESTYLES[i % len(LINESTYLES)], label=named(name + tag, "ours"))
                if es.any():  # edges drawn as lines: a legend placed "best" then avoids the band
                    ax.fill_between(xs, ys - es, ys + es, color=color, alpha=0.15, lw=0)
                    for edge in (ys - es, ys + es):
                        ax.plot(xs, edge, color=color, lw=0.5, alpha=0.4, label="_band")
            else:
                ax.errorbar(xs, ys, yerr=es, color=color, marker=marker, ms=5, lw=1.6, capsize=3,
                            ls=LINESTYLES[i % len(LINESTYLES)], label=named(name + tag, "ours"))
            for x, (_, y, _, cd) in zip(xs, pts):
                if cd.n_collapsed:
                    ax.plot([x], [y], marker="x", ms=11, mew=2, color=PAPER_COLOR, ls="none")
        paper = [(cd.cell.x, cd.cell.paper) for cd in members if cd.cell.paper is not None]
        if paper:
            px, py = zip(*paper)
            pax.plot(_dodge(px, i, len(names), log), py, color=color, ls="--", marker=marker,
                     mfc="white", ms=5, lw=1.1, label=named(name, "paper"))
    refs = [cd for cd in cells if cd.cell.x is None and cd.stats.n]
    for cd, color in zip(refs, sns.color_palette("dark", max(len(refs), 1))):
        has_any = True
        tag = f" ({ADDITION})" if cd.addition else ""
        n = "one evaluation" if cd.fixed else f"n={cd.stats.n}"
        ax.axhline(cd.stats.mean, color=color, ls=":", lw=1.5,
                   label=f"{cd.cell.label}{tag} (ours, {n})")
        if cd.stats.std:
            ax.axhspan(cd.stats.mean - cd.stats.std, cd.stats.mean + cd.stats.std, color=color,
                       alpha=0.12)
    if log:
        for a in axes[0]:
            a.set_xscale("log", base=2)
            xs = sorted({cd.cell.x for cd in placed})
            a.set_xticks(xs)
            a.set_xticklabels([xfmt(x) for x in xs])
            a.minorticks_off()
    finish(ax, art, subtitle, has_any)
    if apart:
        _paper_panel(fig, ax, pax, art, subtitle)
    return fig


def _paper_panel(fig: plt.Figure, ax, pax, art: Artifact, subtitle: str) -> None:
    """Titles, labels and legend of the paper's own panel beside ours."""
    ax.set_title(f"ours: {subtitle.split(',')[0] or 'this profile'}", fontsize=9)
    pax.set_title("the paper's numbers (read off the slides; their own scale)", fontsize=9)
    pax.set_xlabel(art.x_label or art.col_title)
    pax.set_ylabel(f"paper: {ylabel(art)}")
    # one legend, ours then the paper's, beside the paper's panel: inside our panel it covered
    # our points or seed bands wherever it went
    handles, labels = ax.get_legend_handles_labels()
    theirs = pax.get_legend_handles_labels()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    if handles or theirs[0]:
        pax.legend(handles + theirs[0], labels + theirs[1], fontsize=8, loc="upper left",
                   bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle(f"{art.title}\n{subtitle}", fontsize=10)
    fig.tight_layout()


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


def _box_panel(ax, cells: Sequence[CellData], palette: dict, pax) -> bool:
    """Boxes per x category, one colour per series (``palette``: series -> colour, the same in
    every panel), the paper's values as diamonds in their series' colour at their boxes'
    positions, on ``pax`` (``ax``, or a twin axis with the paper's own scale); a run cell
    without a result is marked at its place."""
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
    width = 0.8 / max(len(hues), 1)

    def where(cd: CellData) -> float:  # the box's own (dodged) position
        return order.index(xfmt(cd.cell.x)) + (0.0 if one else
                                               -0.4 + width * (hues.index(series_of(cd)[0]) + 0.5))

    for cd in placed:  # each run a dot in its series' colour: a box of one run is a bare line
        values = cd.values()
        if values:  # "_run": matplotlib leaves labels starting with "_" out of legends
            ax.plot([where(cd)] * len(values), values, ls="none", marker="o", ms=4, mec="0.2",
                    color=sns.color_palette("tab10")[0] if one else palette[series_of(cd)[0]],
                    mew=0.5, zorder=4, label="_run")
    for hue in hues or [None]:
        mine = [cd for cd in placed if cd.cell.paper is not None
                and (hue is None or series_of(cd)[0] == hue)]
        if mine:
            color = PAPER_COLOR if one else palette[hue]
            pax.plot([where(cd) for cd in mine], [cd.cell.paper for cd in mine], ls="none",
                     marker="D", ms=7, mfc="none", mec=color, mew=1.6, color=color,
                     label="paper" if one else f"{hue} (paper)", zorder=5)
    for cd in placed:
        if cd.addition:
            ax.annotate(ADDITION, (order.index(xfmt(cd.cell.x)), 0), xycoords=("data", "axes fraction"),
                        xytext=(0, 3), textcoords="offset points", ha="center", fontsize=7,
                        color="0.4")
        elif cd.cell.run and not cd.stats.n:
            ax.annotate(not_run_text(cd), (where(cd), 0.02), xycoords=("data", "axes fraction"),
                        rotation=90, ha="center", va="bottom", fontsize=6,
                        color=palette.get(series_of(cd)[0], "0.4"))
    return bool(len(data))


def draw_box(art: Artifact, cells: Sequence[CellData], subtitle: str) -> plt.Figure:
    """Boxes over seeds per x (one per series), one subplot per panel of the artifact (Figure 12:
    a zoomed view and an overview) or a single one (Figure 10). Outside the paper profile the
    paper's diamonds sit on a twin axis with their own scale."""
    style()
    panels = art.panels or (None,)
    widths = [max(len({cd.cell.x for cd in _in_panel(cells, p)}), 1) for p in panels]
    placed = sorted((cd for cd in cells if cd.cell.x is not None), key=lambda cd: cd.cell.x)
    apart = profile_of(cells) != "paper" and any(cd.cell.paper is not None for cd in placed)
    fig, axes = plt.subplots(1, len(panels), figsize=(min(4.0 + 1.3 * sum(widths), 13.0)
                                                      + (1.2 if apart else 0.0), 4.8),
                             squeeze=False, gridspec_kw={"width_ratios": widths})
    hues = list(dict.fromkeys(series_of(cd)[0] for cd in placed))
    palette = dict(zip(hues, sns.color_palette("husl", len(hues))))
    has_any = False
    for ax, panel in zip(axes[0], panels):
        pax = paper_axis(ax, art) if apart else ax
        has_any |= _box_panel(ax, _in_panel(cells, panel), palette, pax)
        ax.set_xlabel(art.x_label)
        ax.set_ylabel(("ours: " if apart else "") + ylabel(art))
        if panel is not None:
            ax.set_title(panel.title, fontsize=9)
    no_data(axes[0][0], has_any)
    handles = []
    if len(hues) > 1:
        handles = [Patch(facecolor=c, edgecolor="0.3", label=f"{h} (ours)") for h, c in palette.items()]
    elif has_any:
        handles = [plt.Line2D([], [], ls="none", marker="o", ms=4, mec="0.2", mew=0.5,
                              color=sns.color_palette("tab10")[0], label="ours (a dot per run)")]
    for hue in hues if len(hues) > 1 else [None]:
        if any(cd.cell.paper is not None and (hue is None or series_of(cd)[0] == hue) for cd in placed):
            color = PAPER_COLOR if hue is None else palette[hue]
            handles.append(plt.Line2D([], [], ls="none", marker="D", mfc="none", mec=color,
                                      mew=1.6, label="paper" if hue is None else f"{hue} (paper)"))
    if handles:
        fig.legend(handles=handles, title=LEGEND_TITLES.get(art.name) or None, fontsize=7,
                   title_fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 0.9), frameon=False)
    fig.suptitle(f"{art.title}\n{subtitle}", fontsize=10)
    footnote(fig, art)
    return fig


# The legend title of a box plot's series where the slide prints one (slide 7: "begin_size").
LEGEND_TITLES = {"fig12": "begin_size"}


def _in_panel(cells: Sequence[CellData], panel) -> list[CellData]:
    return [cd for cd in cells if cd.cell.x is not None
            and (panel is None or not panel.xs or cd.cell.x in panel.xs)]


def _bar_limits(ax, values: Sequence[float], floor: float) -> None:
    """A y range near the bars (the slide's starts near the data, not at 0), at least
    ``floor`` of margin, so a few hundredths apart still read apart on their own axis."""
    values = [v for v in values if not math.isnan(v)]
    if values:
        lo, hi = min(values), max(values)
        pad = max(floor, 0.25 * (hi - lo))
        ax.set_ylim(lo - pad, hi + pad)


def draw_bar(art: Artifact, cells: Sequence[CellData], subtitle: str) -> plt.Figure:
    """Our mean (std error bar) beside the paper's bar, per cell, numbers printed on the bars.
    Outside the paper profile the paper's bars live on another scale: their own panel (the
    slide's, 72-78), ours zoomed on their own; a run cell without a result says so."""
    style()
    shown = [cd for cd in cells if cd.cell.run or cd.cell.paper is not None]
    paper = [cd.cell.paper if cd.cell.paper is not None else np.nan for cd in shown]
    both = any(not math.isnan(v) for v in paper)
    apart = both and profile_of(cells) != "paper"
    fig, axes = plt.subplots(1, 2 if apart else 1, figsize=(11.0 if apart else 6.4, 4.4),
                             squeeze=False)
    ax, pax = axes[0][0], axes[0][-1]
    pos = np.arange(len(shown))
    ours = [cd.stats.mean if cd.stats.n else np.nan for cd in shown]
    errs = [cd.stats.std or 0.0 for cd in shown]
    beside = both and not apart  # ours and the paper's side by side on one axis
    has_any = any(not math.isnan(v) for v in ours)
    if has_any:
        spread = any(errs)  # one run a cell: no error bar (bare caps at the bar's top)
        bars = ax.bar(pos - 0.2 if beside else pos, ours, 0.38 if beside else 0.5,
                      yerr=errs if spread else None, capsize=3,
                      label="ours (mean ± std)" if spread else "ours (one run each)",
                      color=["0.6" if cd.addition else sns.color_palette("tab10")[0]
                             for cd in shown])
        ax.bar_label(bars, labels=[f"{v:.2f}" if not math.isnan(v) else "" for v in ours],
                     fontsize=7, padding=2)
    for p, cd in zip(pos, shown):
        if cd.cell.run and not cd.stats.n:  # a run cell without a result, at its place
            ax.annotate(not_run_text(cd), (p - 0.2 if beside else p, 0.02),
                        xycoords=("data", "axes fraction"), rotation=90, ha="center",
                        va="bottom", fontsize=7, color="0.4")
    if both:
        bars = pax.bar(pos + 0.2 if beside else pos, paper, 0.38 if beside else 0.5,
                       color="white", edgecolor=PAPER_COLOR, hatch="//", label="paper")
        pax.bar_label(bars, labels=[f"{v:.2f}" if not math.isnan(v) else "" for v in paper],
                      fontsize=7, padding=2, color=PAPER_COLOR)
    for a in axes[0]:
        a.set_xticks(pos)
        a.set_xticklabels([cd.cell.col or cd.cell.label for cd in shown])
    if apart:
        reach = [m + s * k for m, s in zip(ours, errs) for k in (-1, 1)]
        _bar_limits(ax, reach, 0.001 * max((abs(v) for v in reach if not math.isnan(v)),
                                           default=1.0))
        _bar_limits(pax, paper, 1.0)
    else:
        _bar_limits(ax, ours + paper, 1.0)
    finish(ax, art, subtitle, has_any)
    if apart:
        _paper_panel(fig, ax, pax, art, subtitle)
    return fig


DRAW: dict[str, Callable] = {"line": draw_line, "band": draw_band, "box": draw_box, "bar": draw_bar,
                             "curves": draw_curves, "spectrum": draw_spectrum,
                             "align_uniform": draw_align_uniform}


def draw(art: Artifact, cells: Sequence[CellData], subtitle: str) -> plt.Figure:
    return DRAW[art.plot](art, cells, subtitle)
