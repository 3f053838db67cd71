"""``mocose report``: rebuild every table, figure and claim verdict from result files alone.

For each artifact of the registry (:mod:`ablations`) the report finds the runs of each cell by
recipe (the cell's full resolved config, every seed), and writes under ``RESULTS/<profile>/reports/``
a Markdown page, a CSV, a LaTeX table (tables) and a JSON dump, and under ``PLOTS/<profile>/`` a
PNG and a PDF (figures).  ``RESULTS/<profile>/REPORT.md`` indexes one profile; ``RESULTS/REPORT.md``
indexes the profiles.  Nothing is trained and nothing is filled in: a cell without a finished run
says so, and a claim whose cells lack runs says "not enough runs".
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import ablations
from ablations.spec import Artifact, Cell

from .claims import (FAILS, HOLDS, INCONCLUSIVE, NOT_ENOUGH, TEST_NOTE, ClaimResult, Stats,
                     evaluate_claims)
from .config import Config
from .profiles import load_profile

SELECTION_RULES = {
    "stsb_dev": "the checkpoint with the best STS-B dev Spearman (SimCSE's rule, the suite's default)",
    "sts_test_avg": "the checkpoint with the best average over the seven STS test sets (the "
                    "authors' rule: it selects on the test sets)",
}
COLLAPSE_MARK = "†"


# -- reading results -------------------------------------------------------------------------------
def load_runs(results_dir: str | os.PathLike, profile: str) -> tuple[dict[str, dict], dict[str, dict]]:
    """(finished runs, failure records) of ``profile``: run_id -> file contents (the runner's reader)."""
    from .runner.store import load_failures, load_results

    return load_results(results_dir, profile), load_failures(results_dir, profile)


def recipe_key(flat: Mapping[str, Any]) -> str:
    """A run's recipe without its seed: the runs of one cell share it, whatever their seeds."""
    return json.dumps({k: v for k, v in flat.items() if k != "seed"}, sort_keys=True, default=str)


def _flat_of(record: Mapping[str, Any]) -> dict[str, Any] | None:
    if isinstance(record.get("flat_config"), Mapping):
        return dict(record["flat_config"])
    if isinstance(record.get("config"), Mapping):
        try:
            return Config.from_dict(record["config"]).flat()
        except (TypeError, ValueError) as err:
            warnings.warn(f"skipping result {record.get('run_id')}: unreadable config ({err})")
    return None


def index_by_recipe(records: Mapping[str, Mapping[str, Any]]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for run_id, record in sorted(records.items()):
        flat = _flat_of(record)
        if flat is not None:
            out.setdefault(recipe_key(flat), []).append({"run_id": run_id, **record})
    for runs in out.values():
        runs.sort(key=lambda r: (r.get("seed") is None, r.get("seed"), r["run_id"]))
    return out


def metric_value(result: Mapping[str, Any], metric: str) -> float | None:
    """A run's number for ``metric``: an average (sts, transfer), an analysis, or a task's score."""
    metrics = result.get("metrics") or {}
    analysis = result.get("analysis") or {}
    if metric in ("sts", "transfer"):
        value = (metrics.get("avg") or {}).get(metric)
    elif metric in ("alignment", "uniformity"):
        value = analysis.get(metric)
    elif metric == "sv_auc":
        from .plots import normalised_spectrum

        spectrum = normalised_spectrum(dict(result))
        value = None if spectrum is None else float(spectrum.mean())
    else:
        task = (metrics.get("tasks") or {}).get(metric)
        value = task.get("score") if isinstance(task, Mapping) else task
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def is_collapsed(result: Mapping[str, Any]) -> bool:
    return result.get("status") == "collapsed" or bool((result.get("training") or {}).get("collapsed"))


# -- one cell ----------------------------------------------------------------------------------------
@dataclass
class CellData:
    """A cell with the runs and failure records found for it."""

    cell: Cell
    metric: str
    runs: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    config: Config | None = None

    def values(self, metric: str | None = None) -> list[float]:
        vals = (metric_value(r, metric or self.metric) for r in self.runs)
        return [v for v in vals if v is not None]

    def mean_of(self, metric: str) -> float | None:
        return Stats(tuple(self.values(metric))).mean

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


def collect(art: Artifact, profile: str, results: Mapping[str, Mapping],
            failures: Mapping[str, Mapping] | None = None) -> list[CellData]:
    """The runs (all seeds) and failures of every cell of ``art`` under ``profile``."""
    by_recipe = index_by_recipe(results)
    failed = index_by_recipe(failures or {})
    out = []
    for cell in art.cells:
        cd = CellData(cell, art.metric)
        if cell.run:
            cd.config = art.config(cell, profile)
            key = recipe_key(cd.config.flat())
            cd.runs = by_recipe.get(key, [])
            cd.failures = failed.get(key, [])
        out.append(cd)
    return out


def claim_inputs(art: Artifact, cells: Sequence[CellData]):
    """The per-run values and collapse flags that :func:`evaluate_claims` reads."""
    metrics = {c.metric or art.metric for claim in art.claims for c in claim.checks}
    values = {(cd.cell.label, m): cd.values(m) for cd in cells for m in metrics}
    collapsed = {cd.cell.label: [is_collapsed(r) for r in cd.runs] for cd in cells}
    return values, collapsed


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


def _entry(cd: CellData) -> str:
    """A grid entry: measured mean ± std (n), the paper's number and the difference."""
    if not cd.cell.run:
        measured = "not run"
    elif cd.stats.n:
        measured = fmt_stats(cd.stats) + (f" {COLLAPSE_MARK}" if cd.n_collapsed else "")
    else:
        measured = "failed" if cd.failures else "no result"
    if cd.cell.paper is None:
        return f"{measured}<br>paper -"
    return f"{measured}<br>paper {cd.cell.paper:.2f}, Δ {fmt_signed(cd.diff)}"


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _overrides(cell: Cell) -> str:
    if not cell.run:
        return "(reference row)"
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in cell.overrides.items()) or "(base recipe)"


def header_lines(art: Artifact | None, profile: str, cells: Sequence[CellData]) -> list[str]:
    """Profile, encoder, data size, checkpoint rule, seeds, provenance, and comparability."""
    config = next((cd.config for cd in cells if cd.config is not None), None) or load_profile(profile)
    runs = list({r["run_id"]: r for cd in cells for r in cd.runs}.values())  # shared runs once
    seeds = sorted({r.get("seed") for r in runs if isinstance(r.get("seed"), int)})
    data_size = config.train.train_sentences or "all"
    lines = [
        f"- **Profile**: `{profile}`. " + (
            "This is a reproduction at the paper's scale: measured numbers are comparable to the "
            "paper's." if profile == "paper" else
            f"**Not a reproduction**: the `{profile}` profile is smaller than the paper's setup, so "
            "its numbers are not comparable to the paper's; the paper's values and differences are "
            "shown for orientation only."),
        f"- **Encoder**: `{config.model.encoder}`; **training data**: `{config.train.train_file}`, "
        f"{data_size} sentences (train_sentences={config.train.train_sentences}), "
        f"batch {config.train.batch_size}, lr {config.train.learning_rate:g}"
        + (" (profile defaults; an artifact's base recipe may override some)" if art else "") + ".",
        f"- **Checkpoint selection**: `{config.train.selection}`: "
        f"{SELECTION_RULES.get(config.train.selection, config.train.selection)}.",
        f"- **Seeds found**: {', '.join(map(str, seeds)) if seeds else 'none'} "
        f"({len(runs)} distinct run{'s' if len(runs) != 1 else ''}).",
    ]
    commits = sorted({str(r.get("git_commit"))[:10] for r in runs if r.get("git_commit")})
    if commits:
        lines.append(f"- **Code**: git commit(s) {', '.join(commits)}.")
    return lines


# -- an artifact's report ---------------------------------------------------------------------------------
@dataclass
class ArtifactReport:
    art: Artifact
    profile: str
    cells: list[CellData]
    claims: list[ClaimResult]
    files: list[Path] = field(default_factory=list)

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
            failures: Mapping[str, Mapping] | None = None) -> ArtifactReport:
    """Cells and claim verdicts of ``art`` from the given result records (no files written)."""
    cells = collect(art, profile, results, failures)
    values, collapsed = claim_inputs(art, cells)
    return ArtifactReport(art, profile, cells, evaluate_claims(art, values, collapsed))


def _grid_md(rep: ArtifactReport) -> str:
    art = rep.art
    by_pos = {(cd.cell.row, cd.cell.col): cd for cd in rep.cells}
    cols = art.cols
    header = [art.row_title] + [f"{art.col_title} {c}".strip() if art.col_title else c
                                for c in cols]
    rows = [[r] + [_entry(by_pos[(r, c)]) if (r, c) in by_pos else "" for c in cols]
            for r in art.rows]
    return _md_table(header, rows)


def _tasks_md(rep: ArtifactReport) -> str:
    art = rep.art
    header = [art.row_title or "Model", "n"] + list(art.task_columns) + ["Avg."]
    rows = []
    for cd in rep.cells:
        if cd.cell.run:
            stats = [Stats(tuple(cd.values(t))) for t in art.task_columns] + [cd.stats]
            mark = f" {COLLAPSE_MARK}" if cd.n_collapsed else ""
            if cd.stats.n or any(s.n for s in stats):
                rows.append([f"{cd.cell.label} (measured){mark}", str(len(cd.runs))]
                            + [_mean_pm(s) for s in stats])
            else:
                rows.append([f"{cd.cell.label} (measured)", "0"]
                            + [cd.status] + [""] * len(art.task_columns))
        paper = [cd.cell.paper_tasks.get(t) for t in art.task_columns] + [cd.cell.paper]
        if any(p is not None for p in paper):
            tag = "paper" if cd.cell.run else "paper, not run"
            rows.append([f"{cd.cell.label} ({tag})", ""] + [fmt(p) for p in paper])
            if cd.cell.run and cd.stats.n:
                means = [Stats(tuple(cd.values(t))).mean for t in art.task_columns] + [cd.stats.mean]
                rows.append([f"{cd.cell.label} (Δ)", ""]
                            + [fmt_signed(m - p) if m is not None and p is not None else "-"
                               for m, p in zip(means, paper)])
    return _md_table(header, rows)


def _mean_pm(stats: Stats) -> str:
    if not stats.n:
        return "no result"
    return f"{stats.mean:.2f}" + (f" ± {stats.std:.2f}" if stats.n >= 2 else "")


def fgsm_changed(cd: CellData) -> float | None:
    """Mean fraction of embedding entries FGSM actually changed (SPEC section 3), if recorded."""
    vals = [((r.get("training") or {}).get("diagnostics") or {}).get("fgsm_changed_fraction")
            for r in cd.runs]
    vals = [v for v in vals if isinstance(v, (int, float)) and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


def _cells_md(rep: ArtifactReport) -> str:
    shown = [cd for cd in rep.cells if cd.cell.run or rep.art.kind == "table"]
    fgsm = any(cd.config is not None and cd.config.augment.fgsm_epsilon > 0
               and fgsm_changed(cd) is not None for cd in shown)
    header = ["Cell", "Overrides", "Paper", "Mean", "Std", "n", "Δ (mean - paper)", "Status"]
    header += ["FGSM changed (fraction of entries)"] if fgsm else []
    rows = [[cd.cell.label, _overrides(cd.cell), fmt(cd.cell.paper), fmt(cd.stats.mean),
             fmt(cd.stats.std), str(cd.stats.n), fmt_signed(cd.diff), cd.status]
            + ([fmt(fgsm_changed(cd), 4)] if fgsm else []) for cd in shown]
    return _md_table(header, rows)


def _claims_md(rep: ArtifactReport) -> str:
    if not rep.claims:
        return "_No claims recorded for this artifact._"
    parts = []
    for cr in rep.claims:
        parts.append(f"- **{cr.verdict}**: {cr.claim.text} (on the paper's own numbers: {cr.paper})")
        rows = []
        for ch in cr.checks:
            if ch.a is None:
                rows.append([ch.text, "-", "-", "-", "-", ch.verdict, ch.reason, ch.paper])
                continue
            rows.append([ch.text, fmt_stats(ch.a), fmt_stats(ch.b), fmt_signed(ch.diff),
                         f"{ch.check.margin:g}", ch.verdict, ch.reason, ch.paper])
        table = _md_table(["Check", "a", "b", "a - b", "margin", "Verdict", "Test", "Paper"], rows)
        parts.append("\n".join("  " + line for line in table.splitlines()))
    return "\n".join(parts)


def render_markdown(rep: ArtifactReport, plot_files: Sequence[Path] = (),
                    md_path: Path | None = None) -> str:
    art = rep.art
    out = [f"# {art.title}", "", f"Artifact `{art.name}` ({art.kind}); every number is "
           f"`{art.metric}` unless a column says otherwise; evaluation: `{art.evaluation}`.", ""]
    out += header_lines(art, rep.profile, rep.cells)
    if art.base:
        out.append(f"- **Base recipe of this artifact**: "
                   + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in art.base.items()) + ".")
    if art.notes:
        out += ["", f"> {art.notes}"]
    if art.kind == "table":
        out += ["", "## Table", "",
                "Measured mean ± sample std over seeds (n), then the paper's value and the "
                "difference Δ = measured - paper. " + f"{COLLAPSE_MARK}: some runs collapsed.", ""]
        out.append(_tasks_md(rep) if art.task_columns else _grid_md(rep))
    for path in plot_files:
        if path.suffix == ".png":
            rel = os.path.relpath(path, md_path.parent) if md_path else str(path)
            out += ["", "## Figure", "", f"![{art.name}]({rel})"]
    out += ["", "## Cells", "", _cells_md(rep), "", "## Claims", "", _claims_md(rep), "",
            f"_Test_: {TEST_NOTE}"]
    return "\n".join(out) + "\n"


def render_csv(rep: ArtifactReport) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["artifact", "profile", "cell", "row", "col", "x", "series", "metric", "paper",
                     "mean", "std", "n", "diff", "collapsed_runs", "status", "overrides"])
    metrics = list(rep.art.task_columns) + [rep.art.metric]
    for cd in rep.cells:
        for m in metrics:
            s = Stats(tuple(cd.values(m))) if cd.cell.run else Stats(())
            paper = cd.cell.paper if m == rep.art.metric else cd.cell.paper_tasks.get(m)
            diff = None if s.mean is None or paper is None else s.mean - paper
            writer.writerow([rep.art.name, rep.profile, cd.cell.label, cd.cell.row, cd.cell.col,
                             "" if cd.cell.x is None else cd.cell.x, cd.cell.series, m,
                             _num(paper), _num(s.mean), _num(s.std), s.n, _num(diff),
                             cd.n_collapsed, cd.status, _overrides(cd.cell)])
    return buf.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else repr(round(value, 6))


def _tex(text: str) -> str:
    repl = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
            "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
            "±": r"$\pm$", "Δ": r"$\Delta$", COLLAPSE_MARK: r"$^\dagger$"}
    return "".join(repl.get(ch, ch) for ch in str(text))


def _tex_entry(cd: CellData) -> str:
    if not cd.cell.run:
        measured = "--"
    elif cd.stats.n:
        measured = f"{cd.stats.mean:.2f}" + (f" $\\pm$ {cd.stats.std:.2f}" if cd.stats.n > 1 else "")
        measured += r"$^\dagger$" if cd.n_collapsed else ""
    else:
        measured = "n/a"
    paper = f" ({cd.cell.paper:.2f})" if cd.cell.paper is not None else ""
    return measured + paper


def render_tex(rep: ArtifactReport) -> str:
    art = rep.art
    lines = ["% generated by `mocose report` from result files; do not edit",
             r"\begin{table}[t]", r"\centering", r"\small"]
    if art.task_columns:
        cols = list(art.task_columns) + ["Avg."]
        lines += [r"\begin{tabular}{l" + "c" * len(cols) + "}", r"\hline",
                  " & ".join([_tex(art.row_title or "Model")] + [_tex(c) for c in cols])
                  + r" \\", r"\hline"]
        for cd in rep.cells:
            if cd.cell.run:
                stats = [Stats(tuple(cd.values(t))) for t in art.task_columns] + [cd.stats]
                lines.append(" & ".join([_tex(cd.cell.label)]
                                        + [f"{s.mean:.2f}" if s.n else "n/a" for s in stats])
                             + r" \\")
            paper = [cd.cell.paper_tasks.get(t) for t in art.task_columns] + [cd.cell.paper]
            if any(p is not None for p in paper):
                lines.append(" & ".join([_tex(f"{cd.cell.label} (paper)")]
                                        + [fmt(p) for p in paper]) + r" \\")
        caption = (f"{_tex(art.title)}. Rows are measured means over seeds (profile "
                   f"{_tex(rep.profile)}) and the paper's values; n/a: no result.")
    else:
        by_pos = {(cd.cell.row, cd.cell.col): cd for cd in rep.cells}
        lines += [r"\begin{tabular}{l" + "c" * len(art.cols) + "}", r"\hline",
                  " & ".join([_tex(art.row_title)] + [_tex(f"{art.col_title} {c}".strip())
                                                      for c in art.cols]) + r" \\", r"\hline"]
        for r in art.rows:
            lines.append(" & ".join([_tex(r)] + [_tex_entry(by_pos[(r, c)]) if (r, c) in by_pos
                                                 else "" for c in art.cols]) + r" \\")
        caption = (f"{_tex(art.title)}. Measured mean $\\pm$ std over seeds (profile {_tex(rep.profile)}), "
                   "the paper's value in parentheses; n/a: no result; $^\\dagger$: some runs "
                   "collapsed.")
    lines += [r"\hline", r"\end{tabular}", r"\caption{" + caption + "}",
              r"\label{tab:" + art.name + "}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _json_dump(rep: ArtifactReport) -> dict[str, Any]:
    return {
        "artifact": rep.art.name, "title": rep.art.title, "kind": rep.art.kind,
        "profile": rep.profile, "metric": rep.art.metric,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cells": [{"label": cd.cell.label, "overrides": dict(cd.cell.overrides), "run": cd.cell.run,
                   "paper": cd.cell.paper, "mean": cd.stats.mean, "std": cd.stats.std,
                   "n": cd.stats.n, "diff": cd.diff, "values": cd.values(),
                   "collapsed_runs": cd.n_collapsed, "status": cd.status, "seeds": cd.seeds,
                   "run_ids": [r["run_id"] for r in cd.runs]} for cd in rep.cells],
        "claims": [{"text": cr.claim.text, "verdict": cr.verdict, "paper": cr.paper,
                    "checks": [{"check": ch.text, "verdict": ch.verdict, "reason": ch.reason,
                                "a_mean": ch.a.mean if ch.a else None,
                                "a_std": ch.a.std if ch.a else None, "a_n": ch.a.n if ch.a else None,
                                "b_mean": ch.b.mean if ch.b else None,
                                "b_std": ch.b.std if ch.b else None, "b_n": ch.b.n if ch.b else None,
                                "diff": ch.diff, "margin": ch.check.margin,
                                "t": ch.test.t if ch.test else None,
                                "df": ch.test.df if ch.test else None,
                                "p": ch.test.p if ch.test else None, "paper": ch.paper}
                               for ch in cr.checks]} for cr in rep.claims],
    }


def _subtitle(profile: str, cells: Sequence[CellData]) -> str:
    config = next((cd.config for cd in cells if cd.config is not None), None) or load_profile(profile)
    seeds = sorted({s for cd in cells for s in cd.seeds})
    scope = "reproduction" if profile == "paper" else "not comparable to the paper"
    return (f"profile {profile} ({scope}), encoder {config.model.encoder}, "
            f"seeds {','.join(map(str, seeds)) if seeds else 'none'}")


def write_artifact(rep: ArtifactReport, results_dir: Path, plots_dir: Path) -> list[Path]:
    """Write the artifact's Markdown, CSV, JSON, and its LaTeX (tables) or PNG+PDF (figures)."""
    from . import plots

    out_dir = Path(results_dir) / rep.profile / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    name = rep.art.name
    files: list[Path] = []
    plot_files: list[Path] = []
    if rep.art.kind == "figure":
        fig = plots.draw(rep.art, rep.cells, _subtitle(rep.profile, rep.cells))
        plot_files = plots.save(fig, Path(plots_dir) / rep.profile / name)
    md_path = out_dir / f"{name}.md"
    _write(md_path, render_markdown(rep, plot_files, md_path))
    _write(out_dir / f"{name}.csv", render_csv(rep))
    files += [md_path, out_dir / f"{name}.csv"]
    if rep.art.kind == "table":
        _write(out_dir / f"{name}.tex", render_tex(rep))
        files.append(out_dir / f"{name}.tex")
    _write(out_dir / f"{name}.json", json.dumps(_json_dump(rep), indent=1, default=str) + "\n")
    files += [out_dir / f"{name}.json"] + plot_files
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
    counts = {v: sum(c.verdict == v for c in claims) for v in (HOLDS, FAILS, INCONCLUSIVE, NOT_ENOUGH)}
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "-"


def write_index(reports: Sequence[ArtifactReport], profile: str, results_dir: Path,
                plots_dir: Path) -> Path:
    """RESULTS/<profile>/REPORT.md: every artifact with its files and claim verdicts."""
    index = Path(results_dir) / profile / "REPORT.md"
    all_cells = [cd for rep in reports for cd in rep.cells]
    out = [f"# MoCoSE ablation reproduction: profile `{profile}`", "",
           f"Generated {datetime.now(timezone.utc).isoformat(timespec='seconds')} by "
           "`mocose report` from the result files under `runs/`.", ""]
    out += header_lines(None, profile, all_cells)
    rows = []
    for rep in reports:
        links = [f"[{p.suffix[1:]}]({os.path.relpath(p, index.parent)})" for p in rep.files]
        rows.append([f"`{rep.art.name}`", rep.art.title, rep.art.kind,
                     f"{rep.n_with_results}/{rep.n_cells}", str(rep.n_runs),
                     _verdict_counts(rep.claims), " ".join(links)])
    out += ["", "## Artifacts", "",
            _md_table(["Name", "Title", "Kind", "Cells with results", "Runs", "Claims", "Files"],
                      rows), "", "## Claims", ""]
    for rep in reports:
        for cr in rep.claims:
            out.append(f"- `{rep.art.name}`: **{cr.verdict}**: {cr.claim.text} "
                       f"(paper's own numbers: {cr.paper})")
    out += ["", f"_Test_: {TEST_NOTE}", ""]
    _write(index, "\n".join(out))
    return index


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
          plots_dir: str | os.PathLike = "plots") -> list[ArtifactReport]:
    """Report ``names`` (all artifacts when empty) of ``profile``; refreshes both indexes."""
    load_profile(profile)  # unknown profile -> ConfigError naming the valid ones
    arts = [ablations.get(n) for n in names] if names else ablations.all_artifacts()
    results, failures = load_runs(results_dir, profile)
    reports = []
    for art in arts:
        rep = analyse(art, profile, results, failures)
        write_artifact(rep, Path(results_dir), Path(plots_dir))
        reports.append(rep)
    if names:  # the index always covers every artifact, so rebuild the others' rows too
        done = {r.art.name for r in reports}
        others = [analyse(a, profile, results, failures) for a in ablations.all_artifacts()
                  if a.name not in done]
        for rep in others:
            rep.files = _existing_files(rep, Path(results_dir), Path(plots_dir))
        index_reports = sorted(reports + others, key=lambda r: ablations.names().index(r.art.name))
    else:
        index_reports = reports
    write_index(index_reports, profile, Path(results_dir), Path(plots_dir))
    write_top_index(Path(results_dir))
    return reports


def _existing_files(rep: ArtifactReport, results_dir: Path, plots_dir: Path) -> list[Path]:
    name, profile = rep.art.name, rep.profile
    candidates = [results_dir / profile / "reports" / f"{name}{ext}"
                  for ext in (".md", ".csv", ".tex", ".json")]
    candidates += [plots_dir / profile / f"{name}{ext}" for ext in (".png", ".pdf")]
    return [p for p in candidates if p.exists()]


def _cmd(args: argparse.Namespace) -> int:
    reports = build(args.names, args.profile, args.results, args.plots)
    for rep in reports:
        print(f"{rep.art.name}: {rep.n_with_results}/{rep.n_cells} cells with results, "
              f"{rep.n_runs} runs; claims: {_verdict_counts(rep.claims)}")
        for path in rep.files:
            print(f"  {path}")
    print(f"index: {Path(args.results) / args.profile / 'REPORT.md'}")
    return 0


def register(subparsers) -> None:
    """Add ``mocose report [NAME ...]``."""
    p = subparsers.add_parser(
        "report", help="rebuild tables, figures and claim verdicts from result files",
        description="Rebuild the report of one or more artifacts (all when none is named) from "
                    "the result files alone: Markdown/CSV/LaTeX tables, PNG/PDF figures, claim "
                    "verdicts, and the index RESULTS/<profile>/REPORT.md.")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help=f"artifacts to report (default: all): {', '.join(ablations.names())}")
    p.add_argument("--profile", default="cpu", help="profile whose results to read (default cpu)")
    p.add_argument("--results", default="results", type=Path,
                   help="results folder (default ./results)")
    p.add_argument("--plots", default="plots", type=Path, help="plots folder (default ./plots)")
    p.set_defaults(func=_cmd)
