"""Figures a reader can read (issue 27): read back through matplotlib's objects, each figure keeps
the paper's numbers on an axis of their own outside the paper profile, keeps overlapping series
visible and marks what was not run; `mocose report all` names every artifact."""
from __future__ import annotations

import argparse

import matplotlib.colors as mcolors
import pytest
import seaborn as sns
from matplotlib.container import BarContainer, ErrorbarContainer
from test_report_build import _cells, write_result

import ablations
from mocose.config import ConfigError
from mocose.report import commands, plots


def _rgb(color) -> tuple:
    return tuple(round(c, 3) for c in mcolors.to_rgb(color))


def test_box_runs_are_dots_in_their_series_colour(tmp_path):
    """A box of one run is a bare median line: each run is also a dot, in its series' colour,
    and the paper's hollow diamond over it lets it show through."""
    root = tmp_path / "results"
    write_result(root, "fig10", "d 768", 0, 70.0)
    write_result(root, "fig10", "d 256", 0, 71.0)
    fig = plots.draw(ablations.get("fig10"), _cells("fig10", root), "")
    ax = fig.axes[0]
    dots = [ln for ln in ax.get_lines() if ln.get_label() == "_run"]
    assert sorted(float(ln.get_ydata()[0]) for ln in dots) == [70.0, 71.0]
    assert {_rgb(ln.get_color()) for ln in dots} == {_rgb(sns.color_palette("tab10")[0])}
    [paper] = [ln for a in fig.axes for ln in a.get_lines() if ln.get_label() == "paper"]
    assert paper.get_markerfacecolor() == "none"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["ours (a dot per run)", "paper"]
    for size in (128, 1024):  # Figure 12: one colour per begin size, dots and diamonds alike
        write_result(root, "fig12", f"K {size}, begin {size // 4}", 0, 70.0)
        write_result(root, "fig12", f"K {size}, begin {size}", 0, 71.0)
    fig = plots.draw(ablations.get("fig12"), _cells("fig12", root), "")
    zoom = fig.axes[0]
    dots = {float(ln.get_xdata()[0]): _rgb(ln.get_color())
            for ln in zoom.get_lines() if ln.get_label() == "_run"}
    assert len(dots) == 4 and len(set(dots.values())) == 4  # begin 32, 128, 256, 1024
    diamonds = {_rgb(ln.get_markeredgecolor()) for a in fig.axes for ln in a.get_lines()
                if ln.get_marker() == "D"}
    assert set(dots.values()) <= diamonds


def test_coinciding_spectra_stay_apart_by_style(tmp_path):
    """BERT, SimCSE and MoCoSE with the same spectrum (the tiny smoke encoder): three lines,
    each its own colour, line style and marker, so the last drawn does not hide the others."""
    root = tmp_path / "results"
    for label in ("BERT", "SimCSE", "MoCoSE"):
        write_result(root, "fig7", label, 0, 70.0, analysis={"singular_values": [9.0, 1.0, 0.5]})
    fig = plots.draw_spectrum(ablations.get("fig7"), _cells("fig7", root), "")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3
    for key in (lambda ln: _rgb(ln.get_color()), lambda ln: ln.get_linestyle(),
                lambda ln: ln.get_marker()):
        assert len({key(ln) for ln in lines}) == 3


def test_curve_legend_keeps_off_the_points_and_additions_are_grey(tmp_path):
    """Figure 5 at smoke: a curve that ends top right (where a fixed legend sat) stays in view,
    and the default MoCoSE curve, a suite addition, is grey as in the line plots."""
    root = tmp_path / "results"
    rising = [{"step": s, "dev_spearman": v} for s, v in ((8, 10.0), (16, 20.0))]
    flat = [{"step": s, "dev_spearman": 11.0} for s in (8, 16)]
    write_result(root, "fig5", "symmetric, eta 0", 0, 20.0, curve=rising)
    write_result(root, "fig5", "MoCoSE (eta 0.85)", 0, 20.0, curve=flat)
    fig = plots.draw(ablations.get("fig5"), _cells("fig5", root), "")
    ours = fig.axes[0]
    fig.canvas.draw()
    box = ours.get_legend().get_window_extent()
    for line in ours.get_lines():
        for x, y in line.get_transform().transform(line.get_xydata()):
            assert not box.contains(x, y), line.get_label()
    [addition] = [ln for ln in ours.get_lines() if ln.get_label().startswith("MoCoSE")]
    assert _rgb(addition.get_color()) == _rgb("0.55")


def test_line_legend_sits_beside_the_panels_not_on_our_band(tmp_path):
    """Figure 2 at smoke: one legend, ours then the paper's, right of the paper's panel (inside
    ours it covered the seed band); SimCSE's one run has no error bar to draw."""
    root = tmp_path / "results"
    for i, v in enumerate((76.0, 77.0)):
        write_result(root, "fig3", "eta 0.85, K 512, B 64", i, v)
    write_result(root, "fig2", "SimCSE-unsup-bert-base", 0, 75.0)
    fig = plots.draw(ablations.get("fig2"), _cells("fig2", root), "")
    ours, theirs = fig.axes[:2]
    assert ours.get_legend() is None
    labels = [t.get_text() for t in theirs.get_legend().get_texts()]
    assert labels.index("SimCSE-unsup-bert-base (ours)") < labels.index("MoCoSE (paper)")
    assert labels.index("SimCSE-unsup-bert-base (paper)") > labels.index("MoCoSE (ours)")
    fig.canvas.draw()
    box = theirs.get_legend().get_window_extent()
    assert box.x0 >= theirs.get_window_extent().x1  # off both panels
    [simcse] = [c for c in ours.containers if isinstance(c, ErrorbarContainer)
                and c.get_label().startswith("SimCSE")]
    assert not simcse.has_yerr


def test_align_uniform_names_coinciding_grid_points_and_keeps_labels_inside(tmp_path):
    """MTD points on one another (the smoke encoder barely moves) share one label listing their
    MTDs; a named model at the right edge is labelled on its left, inside the axes."""
    root = tmp_path / "results"
    same = {"alignment": 0.2, "uniformity": -2.0, "singular_values": [1.0]}
    write_result(root, "fig3", "eta 0.85, K 512, B 64", 0, 70.0, analysis=same)  # MTD 14.67
    write_result(root, "fig3", "eta 0.85, K 256, B 64", 0, 70.0, analysis=same)  # MTD 10.67
    write_result(root, "align_uniform", "MoCoSE", 0, 70.0,
                 analysis={"alignment": 0.3, "uniformity": -1.0, "singular_values": [1.0]})
    fig = plots.draw(ablations.get("align_uniform"), _cells("align_uniform", root), "")
    ax = fig.axes[0]
    texts = {t.get_text(): t for t in ax.texts}
    assert "10.67, 14.67" in texts
    assert texts["MoCoSE"].get_ha() == "right"
    fig.canvas.draw()
    assert texts["MoCoSE"].get_window_extent().x1 <= ax.get_window_extent().x1


def test_bars_of_one_run_draw_no_error_bar(tmp_path):
    """Table 6(b) with one run a cell: no std, so no error bar, and the legend says so."""
    root = tmp_path / "results"
    for label, v in (("B 32", 33.98), ("B 64", 33.99)):
        write_result(root, "table6b", label, 0, v)
    fig = plots.draw(ablations.get("table6b"), _cells("table6b", root), "")
    [ours] = [c for c in fig.axes[0].containers if isinstance(c, BarContainer)]
    assert ours.errorbar is None and ours.get_label() == "ours (one run each)"
    low, high = fig.axes[0].get_ylim()  # zoomed on ours: 0.01 apart reads apart
    assert 33.9 < low < 33.98 and 33.99 < high < 34.1


def test_spectrum_dwarfed_by_its_first_value_gets_a_log_inset(tmp_path):
    """One singular value 100 times the next (the smoke encoder): the slide's linear axes stay,
    and an inset shows the rest from index 1 on a log scale; a spread spectrum gets none."""
    root = tmp_path / "results"
    write_result(root, "fig7", "MoCoSE", 0, 70.0,
                 analysis={"singular_values": [100.0, 1.0, 0.5, 0.0]})
    fig = plots.draw_spectrum(ablations.get("fig7"), _cells("fig7", root), "")
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear"
    [inset] = ax.child_axes
    assert inset.get_yscale() == "log"
    [line] = inset.get_lines()
    assert list(line.get_xdata()) == [1, 2] and list(line.get_ydata()) == [1.0, 0.5]  # 0: off a log
    flat = tmp_path / "flat"
    write_result(flat, "fig7", "MoCoSE", 0, 70.0, analysis={"singular_values": [4.0, 2.0, 1.0]})
    fig = plots.draw_spectrum(ablations.get("fig7"), _cells("fig7", flat), "")
    assert not fig.axes[0].child_axes


def test_report_all_names_every_artifact():
    """`mocose report all`, as `mocose reproduce all`: every artifact (no names); 'all' beside
    other names is refused."""
    registry, names = commands.named(argparse.Namespace(names=["all"]))
    assert registry is ablations.REGISTRY and names == []
    with pytest.raises(ConfigError, match="'all' already names every artifact"):
        commands.named(argparse.Namespace(names=["all", "fig2"]))
    assert commands.named(argparse.Namespace(names=["fig2"]))[1] == ["fig2"]
