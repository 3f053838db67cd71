"""The shape of a registry entry: an artifact of the paper (table or figure) as data over the config.

An :class:`Artifact` names its fixed recipe (``base`` overrides), its grid of :class:`Cell` s (each
with its own overrides and the paper's published value), how it is laid out (rows and columns of a
table, x and series of a figure) and the paper's :class:`Claim` s as checkable comparisons between
cells.  Every value here is a bare config field name (``mocose.config.field_names()``) or a cell
label, so a spec holds no code and the report can rebuild everything from result files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from mocose.config import Config, ConfigError, concern_of
from mocose.profiles import load_profile

KINDS = ("table", "figure")
# What a cell's number is: the STS or transfer average, an analysis, or one task's score.
METRICS = ("sts", "transfer", "alignment", "uniformity", "sv_auc")
STS_TASKS = ("STS12", "STS13", "STS14", "STS15", "STS16", "STSBenchmark", "SICKRelatedness")
TRANSFER_TASKS = ("MR", "CR", "SUBJ", "MPQA", "SST2", "TREC", "MRPC")
PLOTS = ("", "line", "mtd", "curves", "spectrum", "align_uniform")
OPS = (">", "~", "collapsed", "stable")


@dataclass(frozen=True)
class Cell:
    """One point of an artifact's grid: a recipe (overrides) and the paper's number for it.

    ``run=False`` marks a reference row (a published number with nothing the suite can run, e.g.
    GloVe in Table 1).  ``paper_tasks`` holds per-task published numbers for Tables 1 and 2.
    ``row``/``col`` place the cell in a table; ``x``/``series`` place it in a figure (a cell on
    several lines of a figure names them all, separated by ``|``).
    """

    label: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    paper: float | None = None
    row: str = ""
    col: str = ""
    x: float | None = None
    series: str = ""
    paper_tasks: Mapping[str, float] = field(default_factory=dict)
    run: bool = True


@dataclass(frozen=True)
class Check:
    """One checkable statement about cells.

    ``op``: ``>``: a's mean exceeds b's by more than ``margin`` points; ``~``: a and b lie within
    ``margin`` of each other; ``collapsed``: every run of a collapsed; ``stable``: no run of a did.
    ``metric`` ("" = the artifact's metric) is one of METRICS or a task name.
    """

    a: str
    b: str = ""
    op: str = ">"
    margin: float = 0.0
    metric: str = ""

    def describe(self, default_metric: str) -> str:
        metric = self.metric or default_metric
        if self.op == "collapsed":
            return f"{self.a} collapses"
        if self.op == "stable":
            return f"{self.a} does not collapse"
        if self.op == "~":
            return f"|{self.a} - {self.b}| <= {self.margin:g} ({metric})"
        extra = f" + {self.margin:g}" if self.margin else ""
        return f"{self.a} > {self.b}{extra} ({metric})"


@dataclass(frozen=True)
class Claim:
    """A statement the paper makes; it holds when every one of its checks holds."""

    text: str
    checks: tuple[Check, ...]


# -- claim builders (short names keep the specs readable) -----------------------------------------
def beats(a: str, b: str, margin: float = 0.0, metric: str = "") -> Check:
    return Check(a, b, ">", margin, metric)


def best(winner: str, others: list[str] | tuple[str, ...], metric: str = "") -> tuple[Check, ...]:
    """``winner`` beats each of ``others`` (the winner itself is skipped)."""
    return tuple(beats(winner, o, 0.0, metric) for o in others if o != winner)


def within(a: str, b: str, margin: float, metric: str = "") -> Check:
    return Check(a, b, "~", margin, metric)


def collapses(a: str) -> Check:
    return Check(a, op="collapsed")


def stable(a: str) -> Check:
    return Check(a, op="stable")


@dataclass(frozen=True)
class Artifact:
    """A table or figure of the paper: its recipe, grid, layout, claims and the evaluation it needs."""

    name: str
    title: str
    kind: str
    cells: tuple[Cell, ...]
    base: Mapping[str, Any] = field(default_factory=dict)
    claims: tuple[Claim, ...] = ()
    evaluation: str = "sts"  # the eval_tasks every run of this artifact needs
    metric: str = "sts"  # the number a cell shows
    task_columns: tuple[str, ...] = ()  # Tables 1-2: one column per task, then the average
    row_title: str = ""
    col_title: str = ""
    plot: str = ""  # how a figure is drawn (PLOTS)
    x_label: str = ""
    y_label: str = ""
    x_log: bool = False
    notes: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"{self.name}: kind={self.kind!r} must be one of {', '.join(KINDS)}")
        if self.plot not in PLOTS:
            raise ConfigError(f"{self.name}: plot={self.plot!r} must be one of {', '.join(PLOTS)}")
        if self.kind == "figure" and not self.plot:
            raise ConfigError(f"{self.name}: a figure needs plot (one of {', '.join(PLOTS[1:])})")
        labels = [c.label for c in self.cells]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ConfigError(f"{self.name}: duplicate cell labels {dup}")
        for name in list(self.base) + [k for c in self.cells for k in c.overrides]:
            concern_of(name)  # raises naming the unknown field and the known ones
        for claim in self.claims:
            for check in claim.checks:
                if check.op not in OPS:
                    raise ConfigError(f"{self.name}: check op {check.op!r} must be one of {OPS}")
                for label in (check.a, check.b) if check.op in (">", "~") else (check.a,):
                    if label not in labels:
                        raise ConfigError(f"{self.name}: claim {claim.text!r} names unknown cell "
                                          f"{label!r}; cells: {', '.join(labels)}")
                metric = check.metric or self.metric
                if metric not in METRICS + STS_TASKS + TRANSFER_TASKS:
                    raise ConfigError(f"{self.name}: metric {metric!r} must be one of "
                                      f"{', '.join(METRICS + STS_TASKS + TRANSFER_TASKS)}")

    # -- lookup ---------------------------------------------------------------------------------
    def cell(self, label: str) -> Cell:
        for c in self.cells:
            if c.label == label:
                return c
        raise ConfigError(f"{self.name} has no cell {label!r}; cells: "
                          + ", ".join(c.label for c in self.cells))

    @property
    def run_cells(self) -> tuple[Cell, ...]:
        """The cells the suite runs (reference rows excluded)."""
        return tuple(c for c in self.cells if c.run)

    @property
    def rows(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.row for c in self.cells))

    @property
    def cols(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.col for c in self.cells))

    # -- configurations -------------------------------------------------------------------------
    def config(self, cell: Cell | str, profile: str, seed: int | None = None) -> Config:
        """Profile, then evaluation, then the artifact's base recipe, then the cell, then the seed."""
        if isinstance(cell, str):
            cell = self.cell(cell)
        if not cell.run:
            raise ConfigError(f"{self.name}: cell {cell.label!r} is a reference row with no run")
        config = load_profile(profile).override({"eval_tasks": self.evaluation})
        config = config.override(dict(self.base)).override(dict(cell.overrides))
        if seed is not None:
            config = config.override({"seed": seed})
        return config

    def configs(self, profile: str, seeds: int = 1) -> list[tuple[Cell, Config]]:
        """Every run this artifact needs: seeds base, base+1, ... with base the profile's seed."""
        if seeds < 1:
            raise ConfigError(f"seeds={seeds} is not allowed: seeds must be >= 1")
        base_seed = load_profile(profile).train.seed
        return [(cell, self.config(cell, profile, base_seed + i))
                for cell in self.run_cells for i in range(seeds)]
