"""``mocose report``: rebuild every table, figure and claim verdict from result files alone.

For each artifact of the registry (:mod:`ablations`) the report finds the runs of each cell by
recipe (:func:`mocose.claims.cell_runs`: every seed, every recipe of a pooled cell), makes them a
tidy DataFrame (one row per run, :mod:`mocose.frame`), pivots it into the paper's layout (its rows,
columns, order, group headers and short names; our mean ± std beside the paper's number) and
writes with pandas' own writers, under ``RESULTS/<profile>/reports/``: ``NAME.md``, ``NAME.csv``
and ``NAME.tex`` (tables), ``NAME.runs.csv`` (the runs) and ``NAME.json``; under
``PLOTS/<profile>/`` a PNG and a PDF (figures, and tables the slides draw as charts).
``RESULTS/<profile>/REPORT.md`` indexes one profile; ``RESULTS/REPORT.md`` the profiles.  Every
header names the profile, the model-selection rule and the preset (:func:`provenance_lines`).
Nothing is trained and nothing is filled in: a cell without a finished run says so, and a claim
whose cells lack runs says "not enough runs".
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

import ablations
from ablations.spec import SHORT_NAMES, TRANSFER_TASKS, Artifact, Cell

from .claims import TEST_NOTE, ClaimResult, Stats, cell_runs, evaluate_claims, paper_claims
from .config import COLLAPSE_DEV, Config, ConfigError
from .frame import (DEFAULT_PRESET, devacc_column, flat_config, is_collapsed, preset_of, run_row,
                    metric as metric_value)
from .profiles import load_profile

SELECTION_RULES = {
    "stsb_dev": "the checkpoint with the best STS-B dev Spearman (SimCSE's rule, the suite's default)",
    "sts_test_avg": "the checkpoint with the best average over the seven STS test sets (the "
                    "authors' rule: it selects on the test sets)",
}
COLLAPSE_MARK = "†"
DEV_MARK = "‡"
DEV_NOTE = (f"{DEV_MARK} compared on dev accuracy: the paper's MoCoSE transfer numbers are dev-set "
            "accuracies (its SST 86.35 is 753 of SST-2's 872 dev sentences), so these rows show our "
            "mean dev accuracy (`devacc`) beside them; every other row shows test accuracy.")


# -- reading results -------------------------------------------------------------------------------
def read_records(results_dir: str | os.PathLike, profile: str) -> tuple[dict[str, dict], dict[str, dict]]:
    """(finished runs, failure records) of ``profile``: run_id -> file contents (the runner's reader).

    For a DataFrame of the finished runs use :func:`mocose.load_runs`.
    """
    from .runner.store import load_failures, load_results

    return load_results(results_dir, profile), load_failures(results_dir, profile)


# -- how the registry places a cell -----------------------------------------------------------------
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


def short_name(task: str) -> str:
    """The paper's column header of a task or average (STS-B, SICK-R, SST, Avg.)."""
    return "Avg." if task in ("sts", "transfer") else SHORT_NAMES.get(task, task)


# -- one cell ----------------------------------------------------------------------------------------
@dataclass
class CellData:
    """A cell with the runs and failure records found for it."""

    cell: Cell
    metric: str
    runs: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    config: Config | None = None

    @property
    def addition(self) -> bool:
        """A suite addition: shown apart from the paper's grid."""
        return self.cell.addition

    @property
    def group(self) -> str:
        return self.cell.group

    def values(self, metric: str | None = None) -> list[float]:
        vals = (metric_value(r, metric or self.metric) for r in self.runs)
        return [v for v in vals if v is not None]

    def stats_of(self, metric: str) -> Stats:
        return Stats(tuple(self.values(metric)))

    def mean_of(self, metric: str) -> float | None:
        return self.stats_of(metric).mean

    @property
    def stats(self) -> Stats:
        return Stats(tuple(self.values()))

    @property
    def n_collapsed(self) -> int:
        return sum(is_collapsed(r) for r in self.runs)

    @property
    def diff(self) -> float | None:
        mean = self.stats.mean
        return None if mean is None or self.cell.paper is None else mean - self.cell.paper

    @property
    def seeds(self) -> list[int]:
        return sorted({r.get("seed") for r in self.runs if isinstance(r.get("seed"), int)})

    @property
    def status(self) -> str:
        if not self.cell.run:
            return "paper only (not run)"
        if not self.runs:
            if self.failures:
                error = str(self.failures[-1].get("error") or "unknown error").strip()
                return f"no result (failed: {error.splitlines()[0][:160] if error else '?'})"
            return "no result"
        parts = [f"{len(self.runs)} run{'s' if len(self.runs) != 1 else ''}"]
        if self.n_collapsed:
            parts.append(f"{self.n_collapsed} collapsed {COLLAPSE_MARK}")
        missing = len(self.runs) - self.stats.n
        if missing:
            parts.append(f"{missing} without {self.metric}")
        if self.failures:
            parts.append(f"{len(self.failures)} failed")
        return ", ".join(parts)


def _by_seed(runs: Sequence[Mapping[str, Any]]) -> list[dict]:
    return sorted((dict(r) for r in runs),
                  key=lambda r: (r.get("seed") is None, r.get("seed") or 0, str(r.get("run_id"))))


def collect(art: Artifact, profile: str, results: Mapping[str, Mapping],
            failures: Mapping[str, Mapping] | None = None, preset: str = "clean") -> list[CellData]:
    """The runs (all seeds, every recipe of a pooled cell) and failures of every cell of ``art``
    under ``profile``, matched by recipe (:func:`mocose.claims.cell_runs`)."""
    runs = cell_runs(art, profile, results, preset)
    failed = cell_runs(art, profile, failures or {}, preset)
    out = []
    for cell in art.cells:
        cd = CellData(cell, art.metric)
        if cell.run:
            cd.config = art.cell_configs(cell, profile)[0]
            cd.runs = _by_seed(runs.get(cell.label, []))
            cd.failures = _by_seed(failed.get(cell.label, []))
        out.append(cd)
    return out


# -- provenance: THE function that builds the lines naming how a report's numbers were made ----------
def provenance(profile: str, runs: Sequence[Mapping[str, Any]], config: Config | None = None) -> dict:
    """Profile, model-selection rule(s), preset(s), seeds and code of ``runs`` (read from each run's
    config; the profile's defaults where no run exists yet, and preset ``clean`` when a config names
    none)."""
    config = config or load_profile(profile)
    flats = [flat_config(r) or {} for r in runs]
    selections = sorted({str(f.get("selection")) for f in flats if f.get("selection")}) \
        or [config.train.selection]
    presets = sorted({preset_of(r) for r in runs}) or [str(config.flat().get("preset") or DEFAULT_PRESET)]
    return {"profile": profile, "selection": selections, "preset": presets, "config": config,
            "seeds": sorted({r.get("seed") for r in runs if isinstance(r.get("seed"), int)}),
            "runs": len({r.get("run_id") for r in runs}),
            "commits": sorted({str(r.get("git_commit"))[:10] for r in runs if r.get("git_commit")})}


def provenance_lines(profile: str, runs: Sequence[Mapping[str, Any]],
                     config: Config | None = None, recipe_note: bool = False) -> list[str]:
    """The header every report page carries: profile (and whether it is comparable to the paper),
    encoder and data, the model-selection rule, the preset, seeds and code commit."""
    p = provenance(profile, runs, config)
    config = p["config"]
    lines = [
        f"- **Profile**: `{profile}`. " + (
            "This is a reproduction at the paper's scale: measured numbers are comparable to the "
            "paper's." if profile == "paper" else
            f"**Not a reproduction**: the `{profile}` profile is smaller than the paper's setup, so "
            "its numbers are not comparable to the paper's; the paper's values are shown for "
            "orientation only."),
        "- **Model selection**: " + "; ".join(
            f"`{s}`: {SELECTION_RULES.get(s, s)}" for s in p["selection"]) + ".",
        "- **Preset**: " + ", ".join(f"`{x}`" for x in p["preset"]) + (
            " (the runs' configs name no preset: the suite's own clean recipe)."
            if p["preset"] == [DEFAULT_PRESET] else "."),
        f"- **Encoder**: `{config.model.encoder}`; **training data**: `{config.train.train_file}`, "
        f"{config.train.train_sentences or 'all'} sentences, batch {config.train.batch_size}, "
        f"lr {config.train.learning_rate:g}"
        + (" (the artifact's base recipe and cells may override these)" if recipe_note else "") + ".",
        f"- **Seeds found**: {', '.join(map(str, p['seeds'])) if p['seeds'] else 'none'} "
        f"({p['runs']} distinct run{'s' if p['runs'] != 1 else ''}).",
    ]
    if p["commits"]:
        lines.append(f"- **Code**: git commit(s) {', '.join(p['commits'])}.")
    return lines


def provenance_subtitle(profile: str, runs: Sequence[Mapping[str, Any]],
                        config: Config | None = None) -> str:
    """The same provenance in one line, for a figure's title."""
    p = provenance(profile, runs, config)
    scope = "reproduction" if profile == "paper" else "not comparable to the paper"
    return (f"profile {profile} ({scope}), selection {'/'.join(p['selection'])}, "
            f"preset {'/'.join(p['preset'])}, encoder {p['config'].model.encoder}, "
            f"seeds {','.join(map(str, p['seeds'])) if p['seeds'] else 'none'}")


def _runs_of(cells: Sequence[CellData]) -> list[dict]:
    """Every run of these cells once (cells may share runs)."""
    return list({r.get("run_id"): r for cd in cells for r in cd.runs}.values())


def _config_of(cells: Sequence[CellData]) -> Config | None:
    return next((cd.config for cd in cells if cd.config is not None), None)


# -- formatting ----------------------------------------------------------------------------------------
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


def _overrides(cell: Cell) -> str:
    """A cell's recipe as key=value pairs (a pooled cell: its recipes joined by ' | ')."""
    if not cell.run:
        return "(reference row)"
    return " | ".join(", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                for k, v in recipe.items()) or "(base recipe)"
                      for recipe in cell.recipes)


# -- an artifact's report ---------------------------------------------------------------------------------
@dataclass
class ArtifactReport:
    art: Artifact
    profile: str
    cells: list[CellData]
    claims: list[ClaimResult]
    paper: list[ClaimResult] = field(default_factory=list)  # the same claims on the paper's numbers
    files: list[Path] = field(default_factory=list)
    preset: str = "clean"  # the preset whose runs the cells hold (mocose.presets)

    @property
    def n_with_results(self) -> int:
        return sum(1 for cd in self.cells if cd.cell.run and cd.stats.n)

    @property
    def n_cells(self) -> int:
        return sum(1 for cd in self.cells if cd.cell.run)

    @property
    def n_runs(self) -> int:
        return sum(len(cd.runs) for cd in self.cells)


def analyse(art: Artifact, profile: str, results: Mapping[str, Mapping],
            failures: Mapping[str, Mapping] | None = None, preset: str = "clean") -> ArtifactReport:
    """Cells and claim verdicts of ``art`` from the given result records (no files written)."""
    cells = collect(art, profile, results, failures, preset)
    measured = evaluate_claims(art, {cd.cell.label: cd.runs for cd in cells if cd.cell.run})
    return ArtifactReport(art, profile, cells, measured, paper_claims(art), preset=preset)


def report_dirs(results_dir: Path, plots_dir: Path, profile: str, preset: str = "clean") -> tuple[Path, Path]:
    """Where a profile's reports and plots go: ``reports/`` and ``PLOTS/<profile>/`` for the clean
    runs, ``reports-<preset>/`` and ``PLOTS/<profile>/<preset>/`` for another preset's."""
    if preset == "clean":
        return Path(results_dir) / profile / "reports", Path(plots_dir) / profile
    return Path(results_dir) / profile / f"reports-{preset}", Path(plots_dir) / profile / preset


# -- the tidy run table of an artifact and its pivots into the paper's layout --------------------------
def cell_runs_frame(rep: ArtifactReport) -> pd.DataFrame:
    """One tidy row per (cell, run): the cell's label and place, then the run's row
    (:func:`mocose.frame.run_row`: config fields, seed, every metric)."""
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
    rows = [{"Suite addition (not in the paper)": cd.cell.label, "Recipe": _overrides(cd.cell),
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
               "Overrides": _overrides(cd.cell), "Paper": fmt_paper(cd.cell, cd.cell.paper),
               "Mean": fmt(cd.stats.mean), "Std": fmt(cd.stats.std), "n": cd.stats.n,
               "Δ (mean - paper)": fmt_signed(cd.diff), "Status": cd.status}
        if fgsm:
            row["FGSM changed (fraction of entries)"] = fmt(fgsm_changed(cd), 4)
        rows.append(row)
    return pd.DataFrame(rows)


def fgsm_changed(cd: CellData) -> float | None:
    """Mean fraction of embedding entries FGSM actually changed (SPEC section 3), if recorded."""
    vals = [((r.get("training") or {}).get("diagnostics") or {}).get("fgsm_changed_fraction")
            for r in cd.runs]
    vals = [v for v in vals if isinstance(v, (int, float)) and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


# -- writers: pandas' own Markdown, LaTeX and CSV ---------------------------------------------------------
def to_markdown(frame: pd.DataFrame) -> str:
    """A pipe table (pandas -> tabulate), with '|' inside entries escaped and strings kept as is."""
    safe = frame.map(lambda v: v.replace("|", "\\|") if isinstance(v, str) else v)
    safe.columns = [str(c).replace("|", "\\|") for c in safe.columns]
    return safe.to_markdown(index=False, disable_numparse=True)


_TEX_SYMBOLS = {"±": r"$\pm$", "Δ": r"$\Delta$", "—": "--", COLLAPSE_MARK: r"$^\dagger$",
                DEV_MARK: r"$^\ddagger$"}


def to_latex(lay: Layout, caption: str, label: str) -> str:
    """The table as LaTeX (pandas' writer), group headers as centred rows spanning the table."""
    frame = display_frame(lay)
    if lay.column_title:
        frame.columns = pd.MultiIndex.from_tuples(
            [(c, "") for c in lay.index] + [(lay.column_title, c) for c in lay.columns])
    tex = frame.to_latex(index=False, escape=True, caption=caption, label=label, position="t",
                         column_format="l" * len(lay.index) + "c" * len(lay.columns),
                         multicolumn_format="c")
    width = len(lay.index) + len(lay.columns)
    for header in lay.groups.values():
        tex = _group_row(tex, header, width)
    for symbol, tex_symbol in _TEX_SYMBOLS.items():
        tex = tex.replace(symbol, tex_symbol)
    return "% generated by `mocose report` from result files; do not edit\n" + tex


def _tex_escape(text: str) -> str:
    """Escape as pandas' ``to_latex(escape=True)`` does for the characters labels may hold."""
    return "".join({"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                    "}": r"\}"}.get(ch, ch) for ch in text)


def _group_row(tex: str, header: str, width: int) -> str:
    """Replace pandas' 'Header &  & ... \\\\' line by a centred row spanning the table."""
    text = _tex_escape(header)
    pattern = re.compile(r"^" + re.escape(text) + r"(?:\s*&)+\s*\\\\\s*$", re.M)
    return pattern.sub(lambda _: rf"\multicolumn{{{width}}}{{c}}{{{text}}} \\", tex)


def _stats_text(stats: Stats | None) -> str:
    return "-" if stats is None else fmt_stats(stats)


def claims_frame(claim: ClaimResult) -> pd.DataFrame:
    """One row per check: our numbers, the smallest difference the runs could detect, the paper's
    gap, the verdict and the test behind it."""
    return pd.DataFrame([{
        "Check": ch.text, "a": _stats_text(ch.a), "b": _stats_text(ch.b),
        "a - b": fmt_signed(ch.diff), "detectable": fmt(ch.detectable),
        "paper gap": fmt_signed(ch.paper_gap), "Verdict": ch.verdict, "Test": ch.reason or "-",
    } for ch in claim.checks])


def claims_markdown(rep: ArtifactReport) -> str:
    if not rep.claims:
        return "_No claims recorded for this artifact._"
    on_paper = {id(cr.claim): cr.verdict for cr in rep.paper}
    parts = []
    for cr in rep.claims:
        addition = " (needs suite additions)" if cr.claim.additions else ""
        parts.append(f"- **{cr.verdict}**: {cr.claim.text}{addition} (on the paper's own numbers: "
                     f"{on_paper.get(id(cr.claim), '-')})")
        table = to_markdown(claims_frame(cr))
        parts.append("\n".join("  " + line for line in table.splitlines()))
    return "\n".join(parts)


def short_run_note(rep: ArtifactReport) -> str:
    """For EMA-decay-0 cells (Figures 5, 6): how far the decay rises in the runs found, against the
    ~step 10,000 where the authors' cosine (horizon 15,000) lifts it to 0.75 and Figure 6 recovers."""
    from .ema import ema_decay_at

    lines = []
    for cd in rep.cells:
        cfg = cd.config
        if cfg is None or cfg.ema.ema_decay != 0.0 or not cd.runs:
            continue
        steps = max(int((r.get("training") or {}).get("steps") or 0) for r in cd.runs)
        horizon = cfg.ema.ema_total_steps or steps
        reached = ema_decay_at(steps, 0.0, horizon) if horizon else 0.0
        lines.append(f"`{cd.cell.label}`: {steps} steps, decay schedule horizon {horizon}: the decay "
                     f"reaches {reached:.3f} by the last step" + (
                         "; far below the ~10,000 steps where the paper's curve leaves 0, so the "
                         "recovery of Figure 6 cannot appear at this profile." if steps < 10000
                         else "."))
    return "\n".join(f"- {line}" for line in lines)


def render_markdown(rep: ArtifactReport, plot_files: Sequence[Path] = (),
                    md_path: Path | None = None) -> str:
    art = rep.art
    out = [f"# {art.title}", "", f"Artifact `{art.name}` ({art.kind}); every number is "
           f"`{art.metric}` unless a column says otherwise; evaluation: `{art.evaluation}`.", ""]
    out += provenance_lines(rep.profile, _runs_of(rep.cells), _config_of(rep.cells), recipe_note=True)
    if art.base:
        out.append(f"- **Base recipe of this artifact**: "
                   + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in art.base.items()) + ".")
    if art.inference:
        out += ["", f"**Inference**: {art.inference}."]
    if art.notes:
        out += ["", f"> {art.notes}"]
    note = short_run_note(rep)
    if note:
        out += ["", "**EMA decay 0 at this profile's length:**", "", note]
    if art.kind == "table":
        lay = layout(rep)
        out += ["", "## Table", "",
                "Each entry: our mean ± sample std over seeds, the paper's number in parentheses; "
                f"— : the paper's row, not run; {COLLAPSE_MARK}: some runs collapsed (STS-B dev "
                f"below {COLLAPSE_DEV:g} at a validation)."
                + (f" Columns: {lay.column_title}." if lay.column_title else ""), ""]
        if lay.dev_rows:
            out += [DEV_NOTE, ""]
        out.append(to_markdown(display_frame(lay, emphasis="**")))
    for path in plot_files:
        if path.suffix == ".png":
            rel = os.path.relpath(path, md_path.parent) if md_path else str(path)
            out += ["", "## Figure", "", f"![{art.name}]({rel})"]
    if any(cd.addition for cd in rep.cells):
        out += ["", "## Suite additions", "",
                "Cells the paper does not have, run by the suite for context: never part of the "
                "paper's grid, and named only by claims marked as needing them.", "",
                to_markdown(additions_frame(rep))]
    out += ["", "## Cells", "", to_markdown(cells_frame(rep)), "", "## Claims", "",
            claims_markdown(rep), "", f"_Test_: {TEST_NOTE}"]
    return "\n".join(out) + "\n"


def render_tex(rep: ArtifactReport) -> str:
    art = rep.art
    p = provenance(rep.profile, _runs_of(rep.cells), _config_of(rep.cells))
    caption = (f"{art.title}. Our mean $\\pm$ sample std over seeds (profile {rep.profile}, "
               f"selection {'/'.join(p['selection'])}, preset {'/'.join(p['preset'])}), the "
               "paper's value in parentheses; --: not run; $^\\dagger$: some runs collapsed.")
    lay = layout(rep)
    if lay.dev_rows:
        caption += " $^\\ddagger$: dev accuracy, as the paper's MoCoSE rows."
    return to_latex(lay, _tex_escape(caption).replace(r"\$", "$"), f"tab:{art.name}")


def _json_dump(rep: ArtifactReport) -> dict[str, Any]:
    p = provenance(rep.profile, _runs_of(rep.cells), _config_of(rep.cells))
    on_paper = {id(cr.claim): cr.verdict for cr in rep.paper}
    return {
        "artifact": rep.art.name, "title": rep.art.title, "kind": rep.art.kind,
        "profile": rep.profile, "metric": rep.art.metric, "selection": p["selection"],
        "preset": p["preset"], "inference": rep.art.inference, "notes": rep.art.notes,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cells": [{"label": cd.cell.label, "overrides": dict(cd.cell.overrides), "run": cd.cell.run,
                   "addition": cd.addition, "group": cd.group,
                   "paper": cd.cell.paper, "approx": cd.cell.approx, "mean": cd.stats.mean, "std": cd.stats.std,
                   "n": cd.stats.n, "diff": cd.diff, "values": cd.values(),
                   "collapsed_runs": cd.n_collapsed, "status": cd.status, "seeds": cd.seeds,
                   "run_ids": [r.get("run_id") for r in cd.runs]} for cd in rep.cells],
        "claims": [{"text": cr.claim.text, "verdict": cr.verdict,
                    "paper": on_paper.get(id(cr.claim)),
                    "checks": [{"check": ch.text, "metric": ch.metric, "verdict": ch.verdict,
                                "reason": ch.reason,
                                "a_mean": ch.a.mean if ch.a else None,
                                "a_std": ch.a.std if ch.a else None, "a_n": ch.a.n if ch.a else None,
                                "b_mean": ch.b.mean if ch.b else None,
                                "b_std": ch.b.std if ch.b else None, "b_n": ch.b.n if ch.b else None,
                                "diff": ch.diff, "margin": ch.check.margin, "p": ch.p,
                                "p_holm": ch.p_holm, "detectable": ch.detectable,
                                "paper_gap": ch.paper_gap}
                               for ch in cr.checks]} for cr in rep.claims],
    }


def write_artifact(rep: ArtifactReport, results_dir: Path, plots_dir: Path) -> list[Path]:
    """Write the artifact's Markdown, its CSVs (the paper's layout for tables, and one tidy row per
    run), JSON, its LaTeX (tables) and its PNG+PDF (figures, and tables the paper draws)."""
    from . import plots

    out_dir, plot_dir = report_dirs(results_dir, plots_dir, rep.profile, rep.preset)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = rep.art.name
    plot_files: list[Path] = []
    if rep.art.plot:
        subtitle = provenance_subtitle(rep.profile, _runs_of(rep.cells), _config_of(rep.cells))
        fig = plots.draw(rep.art, rep.cells, subtitle)
        plot_files = plots.save(fig, plot_dir / name)
    md_path = out_dir / f"{name}.md"
    _write(md_path, render_markdown(rep, plot_files, md_path))
    files = [md_path]
    if rep.art.kind == "table":
        lay = layout(rep)
        _write(out_dir / f"{name}.csv", numbers_frame(lay).to_csv(index=False))
        _write(out_dir / f"{name}.tex", render_tex(rep))
        files += [out_dir / f"{name}.csv", out_dir / f"{name}.tex"]
    _write(out_dir / f"{name}.runs.csv", cell_runs_frame(rep).to_csv(index=False))
    _write(out_dir / f"{name}.json", json.dumps(_json_dump(rep), indent=1, default=str) + "\n")
    files += [out_dir / f"{name}.runs.csv", out_dir / f"{name}.json"] + plot_files
    rep.files = files
    return files


def _write(path: Path, text: str) -> None:
    """Write through a temporary file so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf8")
    os.replace(tmp, path)


# -- the indexes --------------------------------------------------------------------------------------------
def _verdict_counts(claims: Sequence[ClaimResult]) -> str:
    counts = Counter(c.verdict for c in claims)
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"


def write_index(reports: Sequence[ArtifactReport], profile: str, results_dir: Path,
                plots_dir: Path, preset: str = "clean") -> Path:
    """RESULTS/<profile>/REPORT.md (REPORT-<preset>.md): every artifact with its files and claim verdicts."""
    index = Path(results_dir) / profile / ("REPORT.md" if preset == "clean" else f"REPORT-{preset}.md")
    all_cells = [cd for rep in reports for cd in rep.cells]
    out = [f"# MoCoSE ablation reproduction: profile `{profile}`", "",
           f"Generated {datetime.now(timezone.utc).isoformat(timespec='seconds')} by "
           "`mocose report` from the result files under `runs/`.", ""]
    out += provenance_lines(profile, _runs_of(all_cells))
    rows = [{"Name": f"`{rep.art.name}`", "Title": rep.art.title, "Kind": rep.art.kind,
             "Cells with results": f"{rep.n_with_results}/{rep.n_cells}", "Runs": rep.n_runs,
             "Claims": _verdict_counts(rep.claims),
             "Files": " ".join(f"[{_file_kind(p)}]({os.path.relpath(p, index.parent)})"
                               for p in rep.files)} for rep in reports]
    out += ["", "## Artifacts", "", to_markdown(pd.DataFrame(rows)), "", "## Claims", ""]
    for rep in reports:
        on_paper = {id(cr.claim): cr.verdict for cr in rep.paper}
        for cr in rep.claims:
            out.append(f"- `{rep.art.name}`: **{cr.verdict}**: {cr.claim.text} "
                       f"(paper's own numbers: {on_paper.get(id(cr.claim), '-')})")
    out += ["", f"_Test_: {TEST_NOTE}", ""]
    _write(index, "\n".join(out))
    return index


def _file_kind(path: Path) -> str:
    return "runs.csv" if path.name.endswith(".runs.csv") else path.suffix[1:]


def write_top_index(results_dir: Path) -> Path:
    """RESULTS/REPORT.md: one line per profile that has a report."""
    results_dir = Path(results_dir)
    top = results_dir / "REPORT.md"
    out = ["# MoCoSE ablation reproduction: reports", "",
           "One report per profile; only the `paper` profile is a reproduction of the paper's "
           "numbers, the others check the machinery and the direction of effects at a smaller "
           "scale.", ""]
    for index in sorted(results_dir.glob("*/REPORT.md")):
        profile = index.parent.name
        scope = "reproduction" if profile == "paper" else "not comparable to the paper"
        out.append(f"- [`{profile}`]({index.relative_to(results_dir).as_posix()}) ({scope})")
    _write(top, "\n".join(out) + "\n")
    return top


# -- entry points -----------------------------------------------------------------------------------------
def build(names: Sequence[str] | None, profile: str, results_dir: str | os.PathLike = "results",
          plots_dir: str | os.PathLike = "plots", preset: str = "clean") -> list[ArtifactReport]:
    """Report ``names`` (all artifacts when empty) of ``profile``, from the runs made under
    ``preset``; refreshes both indexes."""
    from .presets import preset_values

    load_profile(profile)  # unknown profile -> ConfigError naming the valid ones
    preset_values(preset)  # unknown preset -> ConfigError naming the valid ones
    arts = [ablations.get(n) for n in names] if names else ablations.all_artifacts()
    results, failures = read_records(results_dir, profile)
    reports = []
    for art in arts:
        rep = analyse(art, profile, results, failures, preset)
        write_artifact(rep, Path(results_dir), Path(plots_dir))
        reports.append(rep)
    if names:  # the index always covers every artifact, so rebuild the others' rows too
        done = {r.art.name for r in reports}
        others = [analyse(a, profile, results, failures, preset) for a in ablations.all_artifacts()
                  if a.name not in done]
        for rep in others:
            rep.files = _existing_files(rep, Path(results_dir), Path(plots_dir))
        index_reports = sorted(reports + others, key=lambda r: ablations.names().index(r.art.name))
    else:
        index_reports = reports
    write_index(index_reports, profile, Path(results_dir), Path(plots_dir), preset)
    write_top_index(Path(results_dir))
    return reports


def _existing_files(rep: ArtifactReport, results_dir: Path, plots_dir: Path) -> list[Path]:
    name = rep.art.name
    out_dir, plot_dir = report_dirs(results_dir, plots_dir, rep.profile, rep.preset)
    candidates = [out_dir / f"{name}{ext}" for ext in (".md", ".csv", ".tex", ".runs.csv", ".json")]
    candidates += [plot_dir / f"{name}{ext}" for ext in (".png", ".pdf")]
    return [p for p in candidates if p.exists()]


def profiles_with_results(results_dir: str | os.PathLike) -> list[str]:
    """The known profiles that have at least one result file under ``results_dir``."""
    from .profiles import profile_names

    root = Path(results_dir)
    return [p for p in profile_names() if any((root / p / "runs").glob("*.json"))]


def report_profiles(args: argparse.Namespace) -> list[str]:
    """The profiles ``mocose report`` reads: the --profile given, which must have results; without
    one, every profile that has results. Never an empty report beside the real one."""
    have = profiles_with_results(args.results)
    if args.profile:
        load_profile(args.profile)  # unknown profile -> ConfigError naming the valid ones
        if args.profile not in have:
            hint = (f"profiles with results there: {', '.join(have)} (pass --profile "
                    f"{have[0]})" if have else "no profile has results there yet: run `mocose reproduce NAME` first")
            raise ConfigError(f"no results of profile {args.profile!r} in {args.results}; {hint}")
        return [args.profile]
    if not have:
        raise ConfigError(f"no results in {args.results}: run `mocose reproduce NAME` first "
                          "(or pass --results DIR)")
    return have


def _cmd(args: argparse.Namespace) -> int:
    for profile in report_profiles(args):
        reports = build(args.names, profile, args.results, args.plots, args.preset)
        for rep in reports:
            print(f"{rep.art.name} [{profile}]: {rep.n_with_results}/{rep.n_cells} cells with results, "
                  f"{rep.n_runs} runs; claims: {_verdict_counts(rep.claims)}")
            for path in rep.files:
                print(f"  {path}")
        index = "REPORT.md" if args.preset == "clean" else f"REPORT-{args.preset}.md"
        print(f"index: {Path(args.results) / profile / index}")
    return 0


def register(subparsers) -> None:
    """Add ``mocose report [NAME ...]``."""
    p = subparsers.add_parser(
        "report", help="rebuild tables, figures and claim verdicts from result files",
        description="Rebuild the report of one or more artifacts (all when none is named) from "
                    "the result files alone: tables in the paper's layout (Markdown, CSV, LaTeX), "
                    "one CSV row per run, PNG/PDF figures, claim verdicts, and the index "
                    "RESULTS/<profile>/REPORT.md.")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help=f"artifacts to report (default: all): {', '.join(ablations.names())}")
    p.add_argument("--profile", default=None,
                   help="profile whose results to read (default: every profile that has results)")
    p.add_argument("--preset", default="clean", choices=("clean", "authors"),
                   help="report the runs made under this preset (mocose/presets.py; default clean)")
    p.add_argument("--results", default="results", type=Path,
                   help="results folder (default ./results)")
    p.add_argument("--plots", default="plots", type=Path, help="plots folder (default ./plots)")
    p.set_defaults(func=_cmd)
