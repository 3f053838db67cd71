"""``build``: rebuild every table, figure and claim verdict of a profile from result files alone.

For each artifact of the registry (:mod:`ablations`) the report finds the runs of each cell by
recipe (:func:`.claims.cell_runs`: every seed, every recipe of a pooled cell), pivots them into
the paper's layout (:mod:`.tables`) and writes, under ``RESULTS/<profile>/reports/``: ``NAME.md``,
``NAME.csv`` and ``NAME.tex`` (tables), ``NAME.runs.csv`` (one row per run) and ``NAME.json``
(:mod:`.render`); under ``PLOTS/<profile>/`` a PNG and a PDF (figures, and tables the slides draw
as charts: :mod:`.plots`). ``RESULTS/<profile>/REPORT.md`` indexes one profile;
``RESULTS/REPORT.md`` the profiles. Every header names the profile, the model-selection rule and
the preset (:mod:`.provenance`). Nothing is trained and nothing is filled in: a cell without a
finished run says so, and a claim whose cells lack runs says "not enough runs".
"""
from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

import ablations
from ablations.spec import Registry

from ..config import ConfigError
from ..presets import preset_values
from ..profiles import load_profile
from ..runner.store import load_failures, load_results
from . import figure, plots
from .cells import ArtifactReport, analyse, config_of, runs_of
from .claims import ClaimResult, note_for
from .seeds import recorded_design
from .studies import with_run_sources
from .verdicts import REPRODUCED
from .provenance import provenance_lines, provenance_subtitle
from .render import json_record, render_markdown, render_tex, to_markdown
from .tables import cell_runs_frame, layout, numbers_frame, reproduction_count

def read_records(results_dir: str | os.PathLike, profile: str) -> tuple[dict[str, dict], dict[str, dict]]:
    """(finished runs, failure records) of ``profile``: run_id -> file contents (the runner's reader).

    For a DataFrame of the finished runs use :func:`mocose.load_runs`.
    """
    return load_results(results_dir, profile), load_failures(results_dir, profile)


def report_dirs(results_dir: Path, plots_dir: Path, profile: str, preset: str = "clean",
                checkpoint: str = "best") -> tuple[Path, Path]:
    """Where a profile's reports and plots go: ``reports/`` and ``PLOTS/<profile>/`` for the clean
    runs' selected checkpoints, ``reports-<preset>/`` and ``PLOTS/<profile>/<preset>/`` for another
    preset's, with ``-last`` and ``/last`` for the runs' last checkpoints."""
    suffix = [] if preset == "clean" else [preset]
    suffix += [] if checkpoint == "best" else [checkpoint]
    if not suffix:
        return Path(results_dir) / profile / "reports", Path(plots_dir) / profile
    return (Path(results_dir) / profile / ("reports-" + "-".join(suffix)),
            Path(plots_dir).joinpath(profile, *suffix))


CHECKPOINTS = ("best", "last")


def at_checkpoint(results: Mapping[str, Mapping], checkpoint: str) -> tuple[dict[str, Mapping], int]:
    """The finished runs with the scores of ``checkpoint``: ``best`` as recorded (the model the
    selection rule chose, as the paper reports); ``last`` each run's final model (its ``last``
    record), leaving out the runs that did not record it. Returns (runs, how many left out)."""
    if checkpoint not in CHECKPOINTS:
        raise ConfigError(f"--checkpoint {checkpoint!r} is not allowed: one of {', '.join(CHECKPOINTS)}")
    if checkpoint == "best":
        return dict(results), 0
    out = {}
    for run_id, r in results.items():
        last = r.get("last")
        if isinstance(last, Mapping) and last.get("metrics"):
            out[run_id] = {**r, "metrics": last["metrics"], "analysis": last.get("analysis", r.get("analysis"))}
    return out, len(results) - len(out)


def write_artifact(rep: ArtifactReport, results_dir: Path, plots_dir: Path) -> list[Path]:
    """Write the artifact's Markdown, its CSVs (the paper's layout for tables, and one tidy row per
    run), JSON, its LaTeX (tables) and its PNG+PDF (figures, and tables the paper draws)."""
    out_dir, plot_dir = report_dirs(results_dir, plots_dir, rep.profile, rep.preset, rep.checkpoint)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = rep.art.name
    plot_files: list[Path] = []
    if rep.art.plot:
        subtitle = provenance_subtitle(rep.profile, runs_of(rep.cells), config_of(rep.cells))
        fig = plots.draw(rep.art, rep.cells, subtitle)
        plot_files = figure.save(fig, plot_dir / name)
    md_path = out_dir / f"{name}.md"
    _write(md_path, render_markdown(rep, plot_files, md_path))
    files = [md_path]
    if rep.art.kind == "table":
        lay = layout(rep)
        _write(out_dir / f"{name}.csv", numbers_frame(lay).to_csv(index=False))
        _write(out_dir / f"{name}.tex", render_tex(rep))
        files += [out_dir / f"{name}.csv", out_dir / f"{name}.tex"]
    _write(out_dir / f"{name}.runs.csv", cell_runs_frame(rep).to_csv(index=False))
    _write(out_dir / f"{name}.json", json.dumps(json_record(rep), indent=1, default=str) + "\n")
    files += [out_dir / f"{name}.runs.csv", out_dir / f"{name}.json"] + plot_files
    rep.files = files
    return files


def _write(path: Path, text: str) -> None:
    """Write through a temporary file so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf8")
    os.replace(tmp, path)


def verdict_counts(claims: Sequence[ClaimResult]) -> str:
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
    out += provenance_lines(profile, runs_of(all_cells))
    rows = [{"Name": f"`{rep.art.name}`", "Title": rep.art.title, "Kind": rep.art.kind,
             "Cells with results": f"{rep.n_with_results}/{rep.n_cells}", "Runs": rep.n_runs,
             "Claims": verdict_counts(rep.claims), "Published numbers": reproduction_count(rep),
             "Files": " ".join(f"[{_file_kind(p)}]({os.path.relpath(p, index.parent)})"
                               for p in rep.files)} for rep in reports]
    out += ["", "## Artifacts", "", to_markdown(pd.DataFrame(rows)), "", "## Claims", ""]
    for rep in reports:
        on_paper = {id(cr.claim): cr.verdict for cr in rep.paper}
        for cr in rep.claims:
            out.append(f"- `{rep.art.name}`: **{cr.verdict}**: {cr.claim.text} "
                       f"(paper's own numbers: {on_paper.get(id(cr.claim), '-')})")
    design = next((rep.design for rep in reports if rep.design is not None), None)
    out += ["", f"_Test_: {note_for(design)}", ""]
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
        out += [f"  - `{name}`: {count}" for name, count in reproduced_counts(index.parent / "reports")]
    _write(top, "\n".join(out) + "\n")
    return top


def reproduced_counts(reports_dir: Path) -> list[tuple[str, str]]:
    """(artifact, "9 of 12 numbers reproduced") for every report JSON of a profile with a
    published number among its cells (the cells' "reproduction" entries)."""
    out = []
    for path in sorted(reports_dir.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf8"))
            found = [c["reproduction"] for c in record["cells"] if c.get("reproduction")]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if found:
            text = (f"{sum(r['verdict'] == REPRODUCED for r in found)} of {len(found)} numbers "
                    "reproduced")
            comparable = all(r.get("comparable") for r in found)
            out.append((record.get("artifact", path.stem), text if comparable else f"{text} (not comparable)"))
    return out


def build(names: Sequence[str] | None, profile: str, results_dir: str | os.PathLike = "results",
          plots_dir: str | os.PathLike = "plots", preset: str = "clean",
          registry: Registry | None = None, checkpoint: str = "best") -> list[ArtifactReport]:
    """Report ``names`` (all artifacts of ``registry`` when empty; default: the paper's) of
    ``profile``, from the runs made under ``preset``; refreshes both indexes. ``checkpoint``
    ``last``: the runs' last models instead of their selected ones, in their own folders
    (:func:`report_dirs`), the indexes left as they are."""
    registry = registry or ablations.REGISTRY
    load_profile(profile)  # unknown profile -> ConfigError naming the valid ones
    preset_values(preset)  # unknown preset -> ConfigError naming the valid ones
    arts = [registry.get(n) for n in names] if names else registry.all_artifacts()
    results, failures = read_records(results_dir, profile)
    if checkpoint != "best":
        results, missing = at_checkpoint(results, checkpoint)
        reports = []
        for art in arts:
            rep = analyse(art, profile, results, failures, preset, recorded_design(results_dir, profile, art.name))
            rep.checkpoint, rep.not_recorded = checkpoint, missing
            rep.files = write_artifact(rep, Path(results_dir), Path(plots_dir))
            reports.append(rep)
        return reports
    reports = []
    for art in arts:
        art = with_run_sources(art, registry, profile, preset)  # a study's cells: whose runs
        rep = analyse(art, profile, results, failures, preset,
                      recorded_design(results_dir, profile, art.name))
        write_artifact(rep, Path(results_dir), Path(plots_dir))
        reports.append(rep)
    if names:  # the index always covers every artifact, so rebuild the others' rows too
        done = {r.art.name for r in reports}
        others = [analyse(a, profile, results, failures, preset,
                          recorded_design(results_dir, profile, a.name)) for a in registry.all_artifacts()
                  if a.name not in done]
        for rep in others:
            rep.files = _existing_files(rep, Path(results_dir), Path(plots_dir))
        index_reports = sorted(reports + others, key=lambda r: registry.names().index(r.art.name))
    else:
        index_reports = reports
    write_index(index_reports, profile, Path(results_dir), Path(plots_dir), preset)
    write_top_index(Path(results_dir))
    return reports


def _existing_files(rep: ArtifactReport, results_dir: Path, plots_dir: Path) -> list[Path]:
    name = rep.art.name
    out_dir, plot_dir = report_dirs(results_dir, plots_dir, rep.profile, rep.preset, rep.checkpoint)
    candidates = [out_dir / f"{name}{ext}" for ext in (".md", ".csv", ".tex", ".runs.csv", ".json")]
    candidates += [plot_dir / f"{name}{ext}" for ext in (".png", ".pdf")]
    return [p for p in candidates if p.exists()]
