"""The paper's layout: where each cell of a table goes (its rows, columns, order, group headers
and short names), as pandas DataFrames of strings to print and of numbers to save, and how one
entry reads (our mean ± sample std over seeds, the paper's number in parentheses)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ablations.spec import Artifact, Cell

from ..evaluation.tasks import SHORT_NAMES, TRANSFER_TASKS
from .cells import COLLAPSE_MARK, ArtifactReport, CellData
from .runs import devacc_column, finite, run_row
from .stats import Stats
from .verdicts import REPRODUCED, Reproduction

DEV_MARK = "‡"
DEV_NOTE = (f"{DEV_MARK} compared on dev accuracy: the paper's MoCoSE transfer numbers are dev-set "
            "accuracies (its SST 86.35 is 753 of SST-2's 872 dev sentences), so these rows show our "
            "mean dev accuracy (`devacc`) beside them; every other row shows test accuracy.")


def paper_on_dev(art: Artifact, cell: Cell) -> bool:
    """Whether the paper's numbers of this row are dev accuracies: the MoCoSE rows of Table 2
    (see DEV_NOTE); the other rows are quoted from SimCSE's paper, which reports test accuracy."""
    return art.metric == "transfer" and cell.label.startswith("MoCoSE")


def compared_metric(art: Artifact, cell: Cell, metric: str) -> str:
    """The measured metric set beside the paper's ``metric`` of this cell (dev accuracy where the
    paper's number is one)."""
    if not paper_on_dev(art, cell):
        return metric
    if metric == "transfer":
        return "transfer_devacc"
    return devacc_column(metric) if metric in TRANSFER_TASKS else metric


def cell_reproduction(art: Artifact, cd: CellData) -> Reproduction | None:
    """The reproduction verdict of a cell's published number, on the metric set beside it."""
    return cd.reproduction(compared_metric(art, cd.cell, art.metric))


def reproduction_text(rep: ArtifactReport, cd: CellData) -> str:
    """A cell's reproduction verdict as printed ("-" without a published number), labelled
    "not comparable" outside the paper profile."""
    found = cell_reproduction(rep.art, cd)
    return "-" if found is None else found.text(rep.profile == "paper")


def reproduction_count(rep: ArtifactReport) -> str:
    """"9 of 12 numbers reproduced" over the cells with a published number and a run."""
    found = [r for r in (cell_reproduction(rep.art, cd) for cd in rep.cells) if r is not None]
    if not found:
        return "-"
    text = f"{sum(r.verdict == REPRODUCED for r in found)} of {len(found)} numbers reproduced"
    return text if rep.profile == "paper" else f"{text} (not comparable)"


def short_name(task: str) -> str:
    """The paper's column header of a task or average (STS-B, SICK-R, SST, Avg.)."""
    return "Avg." if task in ("sts", "transfer") else SHORT_NAMES.get(task, task)


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def fmt_signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def fmt_stats(stats: Stats) -> str:
    if stats.n == 0:
        return "no result"
    if stats.n == 1:
        return f"{stats.mean:.2f} (n=1)"
    return f"{stats.mean:.2f} ± {stats.std:.2f} (n={stats.n})"


def fmt_paper(cell: Cell, value: float | None) -> str:
    """The paper's number, with ~ where it was read off a plot (approximate)."""
    return "-" if value is None else f"{'~' if cell.approx else ''}{value:.2f}"


def entry(cd: CellData, metric: str, paper: float | None) -> str:
    """A table entry: our mean ± sample std over seeds, then the paper's number in parentheses."""
    stats = cd.stats_of(metric)
    if not cd.cell.run:
        ours = "—"
    elif stats.n:
        ours = f"{stats.mean:.2f}" + (f" ± {stats.std:.2f}" if stats.n > 1 else "")
        ours += f" {COLLAPSE_MARK}" if cd.n_collapsed else ""
    else:
        ours = "failed" if cd.failures else "no result"
    return ours if paper is None else f"{ours} ({fmt_paper(cd.cell, paper)})"


def recipe_text(cell: Cell) -> str:
    """A cell's recipe as key=value pairs (a pooled cell: its recipes joined by ' | ')."""
    if not cell.run:
        return "(reference row)"
    return " | ".join(", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                for k, v in recipe.items()) or "(base recipe)"
                      for recipe in cell.recipes)


def cell_runs_frame(rep: ArtifactReport) -> pd.DataFrame:
    """One tidy row per (cell, run): the cell's label and place, then the run's row
    (:func:`.runs.run_row`: config fields, seed, every metric)."""
    rows = []
    for cd in rep.cells:
        for run in cd.runs:
            place = {"cell": cd.cell.label, "row": cd.cell.row, "col": cd.cell.col, "x": cd.cell.x,
                     "series": cd.cell.series, "group": cd.group, "addition": cd.addition}
            rows.append({**place, **(run_row(run, run.get("run_id")) or {})})
    return pd.DataFrame(rows, columns=None if rows else ["cell", "row", "col", "run_id", "seed"])


@dataclass
class Layout:
    """A table in the paper's layout: row keys and value columns in the paper's order, the cell
    (and the measured metric) behind each entry, and where group headers go."""

    index: list[str]  # header(s) of the row-label column(s)
    rows: list[tuple[str, ...]]
    columns: list[str]
    column_title: str = ""  # a header spanning the value columns (Table 7's "Queue Size")
    groups: dict[int, str] = field(default_factory=dict)  # row position -> header before it
    at: dict[tuple, tuple[CellData, str, float | None]] = field(default_factory=dict)
    dev_rows: set[tuple[str, ...]] = field(default_factory=set)


# Tables the paper prints as label columns and one value column rather than a grid: Table 4 is
# "Proj. | Pred. | Corr." (slide 5). A spec may say so itself with ``layout = "long"``.
LONG_TABLES = {"table4": "Corr."}


def layout(rep: ArtifactReport) -> Layout:
    """Where each cell of the paper's grid goes (suite additions are left out: see additions())."""
    art = rep.art
    cells = [cd for cd in rep.cells if not cd.addition]
    if art.task_columns:
        metrics = list(art.task_columns) + [art.metric]
        out = Layout([art.row_title or "Model"], [], [short_name(m) for m in metrics])
        previous = None
        for cd in cells:
            key = (cd.cell.label,)
            if cd.group and cd.group != previous:
                out.groups[len(out.rows)] = cd.group
            previous = cd.group
            out.rows.append(key)
            if paper_on_dev(art, cd.cell) and cd.cell.run:
                out.dev_rows.add(key)
            for m in metrics:
                paper = cd.cell.paper if m == art.metric else cd.cell.paper_tasks.get(m)
                out.at[(key, short_name(m))] = (cd, compared_metric(art, cd.cell, m), paper)
        return out
    long_value = LONG_TABLES.get(art.name) or (
        (art.y_label or "Corr.") if getattr(art, "layout", "") == "long" else "")
    if long_value:
        out = Layout([art.row_title, art.col_title], [], [long_value])
        for cd in cells:
            key = (cd.cell.row, cd.cell.col)
            out.rows.append(key)
            out.at[(key, long_value)] = (cd, art.metric, cd.cell.paper)
        return out
    rows = list(dict.fromkeys(cd.cell.row for cd in cells))
    cols = list(dict.fromkeys(cd.cell.col for cd in cells))
    # One row (Tables 3, 9, 8, k-means): the paper heads the label column with the sweep's name.
    first = art.col_title or art.row_title if len(rows) == 1 else art.row_title
    out = Layout([first], [(r,) for r in rows], cols,
                 column_title=art.col_title if len(rows) > 1 else "")
    for cd in cells:
        out.at[((cd.cell.row,), cd.cell.col)] = (cd, art.metric, cd.cell.paper)
    return out


def display_frame(lay: Layout, emphasis: str = "") -> pd.DataFrame:
    """Strings as printed: our mean ± std (paper), group header rows (wrapped in ``emphasis``,
    e.g. ``**`` for Markdown), repeated labels blanked."""
    records = []
    previous: tuple[str, ...] = ()
    for i, key in enumerate(lay.rows):
        if i in lay.groups:
            records.append([f"{emphasis}{lay.groups[i]}{emphasis}"]
                           + [""] * (len(lay.index) - 1 + len(lay.columns)))
            previous = ()
        labels = [k if j == len(key) - 1 or previous[:j + 1] != key[:j + 1] else ""
                  for j, k in enumerate(key)]
        if key in lay.dev_rows:
            labels[-1] += f" {DEV_MARK}"
        values = [entry(*lay.at[(key, c)]) if (key, c) in lay.at else "" for c in lay.columns]
        records.append(labels + values)
        previous = key
    return pd.DataFrame(records, columns=lay.index + lay.columns)


def numbers_frame(lay: Layout) -> pd.DataFrame:
    """The numbers behind the display, in the same layout: per value column its mean, sample std,
    n, the paper's value and the metric measured (the CSV)."""
    records = []
    group = ""
    for i, key in enumerate(lay.rows):
        group = lay.groups.get(i, group)
        rec: dict[str, Any] = dict(zip(lay.index, key))
        if lay.groups:
            rec["group"] = group
        for c in lay.columns:
            if (key, c) not in lay.at:
                continue
            cd, metric, paper = lay.at[(key, c)]
            stats = cd.stats_of(metric)
            rec.update({f"{c} mean": stats.mean, f"{c} std": stats.std, f"{c} n": stats.n,
                        f"{c} paper": paper, f"{c} metric": metric if cd.cell.run else ""})
        records.append(rec)
    return pd.DataFrame(records)


def additions_frame(rep: ArtifactReport) -> pd.DataFrame:
    """The suite's own cells (not in the paper): label, recipe and our mean ± std."""
    rows = [{"Suite addition (not in the paper)": cd.cell.label, "Recipe": recipe_text(cd.cell),
             "Ours": entry(cd, cd.metric, None), "n": cd.stats.n, "Status": cd.status}
            for cd in rep.cells if cd.addition]
    return pd.DataFrame(rows)


def cells_frame(rep: ArtifactReport) -> pd.DataFrame:
    """Every cell with its recipe, the paper's value, our mean, std, n, difference and status."""
    shown = [cd for cd in rep.cells if cd.cell.run or rep.art.kind == "table"]
    fgsm = any(cd.config is not None and cd.config.augment.fgsm_epsilon > 0
               and fgsm_changed(cd) is not None for cd in shown)
    rows = []
    for cd in shown:
        row = {"Cell": cd.cell.label + (" (suite addition)" if cd.addition else ""),
               "Overrides": recipe_text(cd.cell), "Paper": fmt_paper(cd.cell, cd.cell.paper),
               "Mean": fmt(cd.stats.mean), "Std": fmt(cd.stats.std), "n": cd.stats.n,
               "Δ (mean - paper)": fmt_signed(cd.diff),
               "Reproduction": reproduction_text(rep, cd), "Status": cd.status}
        if fgsm:
            row["FGSM changed (fraction of entries)"] = fmt(fgsm_changed(cd), 4)
        rows.append(row)
    return pd.DataFrame(rows)


def fgsm_changed(cd: CellData) -> float | None:
    """Mean fraction of embedding entries FGSM actually changed (docs/model.md, \"Augmentations\"), if recorded."""
    vals = [((r.get("training") or {}).get("diagnostics") or {}).get("fgsm_changed_fraction")
            for r in cd.runs]
    vals = [v for v in map(finite, vals) if v is not None]
    return sum(vals) / len(vals) if vals else None
