"""An artifact's cells with the runs found for each, and its claim verdicts: what every table,
figure and index of the report is made from (no files are read or written here)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from ablations.spec import Artifact, Cell

from ..config import Config
from .claims import ClaimResult, cell_runs, evaluate_claims, paper_claims
from .runs import is_collapsed, seeds_of
from .seeds import ClaimSeeds, seeds_of_results
from .sequential import SequentialDesign
from .runs import metric as metric_of
from .stats import Stats
from .verdicts import Reproduction, reproduction

COLLAPSE_MARK = "†"


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
        vals = (metric_of(r, metric or self.metric) for r in self.runs)
        return [v for v in vals if v is not None]

    def stats_of(self, metric: str) -> Stats:
        return Stats(tuple(self.values(metric)))

    def mean_of(self, metric: str) -> float | None:
        return self.stats_of(metric).mean

    @property
    def stats(self) -> Stats:
        return Stats(tuple(self.values()))

    @property
    def fixed(self) -> bool:
        """The cell trains nothing (an untrained encoder): one evaluation, an exact number."""
        return self.config is not None and self.config.model.method == "none"

    def reproduction(self, metric: str | None = None) -> Reproduction | None:
        """Where the paper's number of this cell falls against the interval of our mean of
        ``metric`` (default the cell's; :func:`.verdicts.reproduction`); None without a number."""
        if not self.cell.run:
            return None
        return reproduction(self.values(metric), self.cell.paper, self.fixed)

    @property
    def n_collapsed(self) -> int:
        return sum(is_collapsed(r) for r in self.runs)

    @property
    def diff(self) -> float | None:
        mean = self.stats.mean
        return None if mean is None or self.cell.paper is None else mean - self.cell.paper

    @property
    def seeds(self) -> list[int]:
        return seeds_of(self.runs)

    @property
    def status(self) -> str:
        if not self.cell.run:
            return "paper only (not run)"
        if not self.runs:
            if self.failures:
                error = str(self.failures[-1].get("error") or "unknown error").strip()
                return f"no result (failed: {error.splitlines()[0][:160] if error else '?'})"
            return "no result"
        parts = [f"{len(self.runs)} run{'s' if len(self.runs) != 1 else ''}"
                 + (" (trains nothing: evaluated once)" if self.fixed else "")]
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
    under ``profile``, matched by recipe (:func:`.claims.cell_runs`)."""
    return collect_runs(art, profile, cell_runs(art, profile, results, preset),
                        cell_runs(art, profile, failures or {}, preset))


def collect_runs(art: Artifact, profile: str, runs: Mapping[str, Sequence[Mapping]],
                 failed: Mapping[str, Sequence[Mapping]] | None = None) -> list[CellData]:
    """Every cell of ``art`` with the runs (and failures) already matched to it by label."""
    out = []
    for cell in art.cells:
        cd = CellData(cell, art.metric)
        if cell.run:
            cd.config = art.cell_configs(cell, profile)[0]
            cd.runs = _by_seed(runs.get(cell.label, []))
            cd.failures = _by_seed((failed or {}).get(cell.label, []))
        out.append(cd)
    return out


def runs_of(cells: Sequence[CellData]) -> list[dict]:
    """Every run of these cells once (cells may share runs)."""
    return list({r.get("run_id"): r for cd in cells for r in cd.runs}.values())


def config_of(cells: Sequence[CellData]) -> Config | None:
    return next((cd.config for cd in cells if cd.config is not None), None)


@dataclass
class ArtifactReport:
    art: Artifact
    profile: str
    cells: list[CellData]
    claims: list[ClaimResult]
    paper: list[ClaimResult] = field(default_factory=list)  # the same claims on the paper's numbers
    files: list[Path] = field(default_factory=list)
    preset: str = "clean"  # the preset whose runs the cells hold (mocose.presets)
    seeds: list[ClaimSeeds] = field(default_factory=list)  # per claim, in the order of claims
    design: SequentialDesign | None = None  # the sequential design of the tests, if any
    checkpoint: str = "best"  # whose scores the cells hold: each run's selected or last model
    not_recorded: int = 0  # checkpoint "last": runs that did not record their last model's scores

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
            failures: Mapping[str, Mapping] | None = None, preset: str = "clean",
            design: SequentialDesign | None = None) -> ArtifactReport:
    """Cells, claim verdicts and seeds per claim of ``art`` from the given result records (no
    files written); ``design``: the sequential design the runs were planned with (None: the
    tests are fixed-sample)."""
    cells = collect(art, profile, results, failures, preset)
    runs = {cd.cell.label: cd.runs for cd in cells if cd.cell.run}
    measured = evaluate_claims(art, runs, design)
    return ArtifactReport(art, profile, cells, measured, paper_claims(art), preset=preset,
                          seeds=seeds_of_results(art, measured, runs, design), design=design)
