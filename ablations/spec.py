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

from mocose.config import COLLAPSE_DEV, Config, ConfigError, concern_of
from mocose.evaluation.tasks import STS_TASKS, TRANSFER_TASKS
from mocose.profiles import load_profile

KINDS = ("table", "figure")
# What a cell's number is: the STS or transfer average, an analysis (align_uniform: alignment +
# uniformity), or one task's score; "dev" is a run's mean STS-B dev Spearman x 100 over its
# validations in a window of steps (curve checks).
METRICS = ("sts", "transfer", "alignment", "uniformity", "align_uniform", "sv_auc", "dev")
# How a figure is drawn (mocose/report/plots.py): line (mean per x and series), band (mean line with a
# shaded band over seeds; a one-cell series is a labelled point), box (box plots over seeds, one
# box per series at each x), bar (one bar per cell, its paper number printed on it), curves
# (validation curves over training steps with a seed band), spectrum, align_uniform.
PLOTS = ("", "line", "band", "box", "bar", "curves", "spectrum", "align_uniform")
# >: a beats b by more than margin; ~: a and b within margin; collapsed: every validation of a in the step window has dev below COLLAPSE_DEV; recovers: a's
# mean dev over the window ``steps`` exceeds its mean over ``before`` by more than margin.
OPS = (">", "~", "collapsed", "recovers")
COMPARE_OPS = (">", "~")


@dataclass(frozen=True)
class Cell:
    """One point of an artifact's grid: a recipe (overrides) and the paper's number for it.

    ``run=False`` marks a reference row (a published number with nothing the suite can run, e.g.
    GloVe in Table 1).  ``paper_tasks`` holds per-task published numbers for Tables 1 and 2.
    ``row``/``col`` place the cell in a table (``group``: the group header its row falls under,
    e.g. "Unsupervised Models (Base)"); ``x``/``series`` place it in a figure (a cell on
    several lines of a figure names them all, separated by ``|``).
    ``approx``: the paper number was read off a plot, not printed (approximate).
    ``addition``: a suite addition the paper does not have: shown apart from the paper's grid,
    never named by a claim of the paper's cells (only by a claim with ``additions=True``).
    ``pool``: extra override sets whose runs count for this cell too (one plotted point pooled
    over several recipes, as Figure 2 pools Figure 3's batch sizes at each MTD).
    ``paper_curve``: (step, value) points read off the paper's validation curve (Figures 5, 6).
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
    group: str = ""
    approx: bool = False
    addition: bool = False
    pool: tuple[Mapping[str, Any], ...] = ()
    paper_curve: tuple[tuple[float, float], ...] = ()

    @property
    def recipes(self) -> tuple[Mapping[str, Any], ...]:
        """The override sets whose runs make up this cell (one unless pooled)."""
        if not self.pool:
            return (self.overrides,)
        return tuple({**self.overrides, **extra} for extra in self.pool)


@dataclass(frozen=True)
class Check:
    """One checkable statement about cells.

    ``op`` (OPS): ``>``: a's mean exceeds b's by more than ``margin`` points; ``~``: a and b lie
    within ``margin`` of each other; ``collapsed``: each run
    of a has dev below COLLAPSE_DEV at every validation in the window ``steps``; ``recovers``:
    each run's mean dev over ``steps`` exceeds its mean over ``before`` by more than ``margin``.
    ``metric`` ("" = the artifact's metric) is one of METRICS or a task name; with metric "dev"
    a run's number is its mean dev over the validations in ``steps``.  ``steps`` = (start, end)
    in training steps, end None = the run's end.
    """

    a: str
    b: str = ""
    op: str = ">"
    margin: float = 0.0
    metric: str = ""
    steps: tuple[int, int | None] | tuple = ()
    before: tuple[int, int | None] | tuple = ()

    def describe(self, default_metric: str) -> str:
        metric = self.metric or default_metric
        window = _window(self.steps)
        if self.op == "collapsed":
            return f"{self.a} collapses (dev < {COLLAPSE_DEV:g} at every validation{window})"
        if self.op == "recovers":
            return (f"{self.a} recovers: mean dev{window} > mean dev{_window(self.before)}"
                    + (f" + {self.margin:g}" if self.margin else ""))
        metric = metric + window
        if self.op == "~":
            return f"|{self.a} - {self.b}| <= {self.margin:g} ({metric})"
        extra = f" + {self.margin:g}" if self.margin else ""
        return f"{self.a} > {self.b}{extra} ({metric})"

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.a, self.b) if self.op in COMPARE_OPS else (self.a,)


def _window(steps: tuple) -> str:
    if not steps:
        return ""
    start, end = steps
    return f" over steps {start}-{'end' if end is None else end}"


@dataclass(frozen=True)
class Claim:
    """A statement the paper makes; it holds when every one of its checks holds.

    ``additions``: the claim needs cells the paper lacks (suite additions) to be tested at all.
    """

    text: str
    checks: tuple[Check, ...]
    additions: bool = False


# -- claim builders (short names keep the specs readable) -----------------------------------------
def beats(a: str, b: str, margin: float = 0.0, metric: str = "") -> Check:
    return Check(a, b, ">", margin, metric)


def best(winner: str, others: list[str] | tuple[str, ...], metric: str = "") -> tuple[Check, ...]:
    """``winner`` beats each of ``others`` (the winner itself is skipped)."""
    return tuple(beats(winner, o, 0.0, metric) for o in others if o != winner)


def within(a: str, b: str, margin: float, metric: str = "") -> Check:
    return Check(a, b, "~", margin, metric)


def collapses(a: str, steps: tuple[int, int | None] = (0, None)) -> Check:
    return Check(a, op="collapsed", metric="dev", steps=steps)


def recovers(a: str, steps: tuple[int, int | None], before: tuple[int, int | None],
             margin: float = 0.0) -> Check:
    return Check(a, op="recovers", margin=margin, metric="dev", steps=steps, before=before)


@dataclass(frozen=True)
class Panel:
    """One panel of a figure: its title and the x values it shows (empty: all)."""

    title: str
    xs: tuple[float, ...] = ()


@dataclass(frozen=True)
class Artifact:
    """A table or figure of the paper: its recipe, grid, layout, claims and the evaluation it needs.

    ``inference``: empty when the grid follows the slides exactly; else what the slides leave open
    and what the suite infers (the report and ``mocose list --json`` print it).  ``notes`` are
    printed under the artifact in the report.  ``panels``: a figure drawn as several panels
    (Figure 12: a zoomed view and an overview).  ``plot`` may be set on a table too (Table 6(b)
    is a bar chart on the slides).
    """

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
    inference: str = ""
    panels: tuple[Panel, ...] = ()

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
        for name in list(self.base) + [k for c in self.cells for r in c.recipes for k in r]:
            concern_of(name)  # raises naming the unknown field and the known ones
        additions = {c.label for c in self.cells if c.addition}
        for claim in self.claims:
            for check in claim.checks:
                if check.op not in OPS:
                    raise ConfigError(f"{self.name}: check op {check.op!r} must be one of {OPS}")
                for label in check.labels:
                    if label not in labels:
                        raise ConfigError(f"{self.name}: claim {claim.text!r} names unknown cell "
                                          f"{label!r}; cells: {', '.join(labels)}")
                    if label in additions and not claim.additions:
                        raise ConfigError(f"{self.name}: claim {claim.text!r} names the suite "
                                          f"addition {label!r}: set additions=True on the claim")
                metric = check.metric or self.metric
                if metric not in METRICS + STS_TASKS + TRANSFER_TASKS:
                    raise ConfigError(f"{self.name}: metric {metric!r} must be one of "
                                      f"{', '.join(METRICS + STS_TASKS + TRANSFER_TASKS)}")
                if check.op in ("collapsed", "recovers") and not check.steps:
                    raise ConfigError(f"{self.name}: a {check.op} check needs a window of steps")
                if check.op == "recovers" and not check.before:
                    raise ConfigError(f"{self.name}: a recovers check needs the window before")

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
    def paper_cells(self) -> tuple[Cell, ...]:
        """The paper's grid: every cell but the suite additions."""
        return tuple(c for c in self.cells if not c.addition)

    @property
    def addition_cells(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.addition)

    @property
    def rows(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.row for c in self.cells))

    @property
    def cols(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.col for c in self.cells))

    @property
    def groups(self) -> tuple[str, ...]:
        """Row group headers in table order ("" when the table has none)."""
        return tuple(dict.fromkeys(c.group for c in self.cells))

    # -- configurations -------------------------------------------------------------------------
    def cell_configs(self, cell: Cell | str, profile: str, seed: int | None = None) -> list[Config]:
        """Every recipe of a cell (one unless pooled): profile, then evaluation, then the
        artifact's base recipe, then the cell's overrides, then the seed."""
        if isinstance(cell, str):
            cell = self.cell(cell)
        if not cell.run:
            raise ConfigError(f"{self.name}: cell {cell.label!r} is a reference row with no run")
        base = load_profile(profile).override({"eval_tasks": self.evaluation}).override(dict(self.base))
        out = []
        for recipe in cell.recipes:
            config = base.override(dict(recipe))
            out.append(config if seed is None else config.override({"seed": seed}))
        return out

    def config(self, cell: Cell | str, profile: str, seed: int | None = None) -> Config:
        """The one recipe of an unpooled cell (see :meth:`cell_configs`)."""
        configs = self.cell_configs(cell, profile, seed)
        if len(configs) != 1:
            label = cell if isinstance(cell, str) else cell.label
            raise ConfigError(f"{self.name}: cell {label!r} pools {len(configs)} recipes: "
                              "use cell_configs")
        return configs[0]

    def configs(self, profile: str, seeds: int = 1) -> list[tuple[Cell, Config]]:
        """Every run this artifact needs: seeds base, base+1, ... with base the profile's seed; a
        cell that trains nothing (method none) once, at the base seed: its score does not depend
        on the seed."""
        if seeds < 1:
            raise ConfigError(f"seeds={seeds} is not allowed: seeds must be >= 1")
        base_seed = load_profile(profile).train.seed
        return [(cell, config) for cell in self.run_cells for i in range(seeds)
                for config in self.cell_configs(cell, profile, base_seed + i)
                if i == 0 or config.model.method != "none"]

    # -- as data ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The artifact as plain data (``mocose list --json``): every cell with its overrides and
        paper number (None where the paper has none) and whether the paper has the cell, and every
        claim with its checks."""
        return {
            "name": self.name, "title": self.title, "kind": self.kind, "plot": self.plot,
            "metric": self.metric, "evaluation": self.evaluation, "base": dict(self.base),
            "inference": self.inference, "notes": self.notes,
            "cells": [{
                "label": c.label, "overrides": dict(c.overrides),
                "pool": [dict(p) for p in c.pool], "paper": c.paper, "approx": c.approx,
                "in_paper": not c.addition, "run": c.run, "row": c.row, "col": c.col,
                "group": c.group, "x": c.x, "series": c.series, "paper_tasks": dict(c.paper_tasks),
            } for c in self.cells],
            "claims": [{
                "text": claim.text, "additions": claim.additions,
                "checks": [{"text": ch.describe(self.metric), "op": ch.op, "a": ch.a, "b": ch.b,
                            "margin": ch.margin, "metric": ch.metric or self.metric,
                            "steps": list(ch.steps), "before": list(ch.before)}
                           for ch in claim.checks],
            } for claim in self.claims],
        }


@dataclass(frozen=True)
class Registry:
    """The artifacts a reproduction can name, in the order they are listed and reported.

    ``ablations.REGISTRY`` is the paper's; a study file or a test builds its own. Every command
    that names artifacts takes one (default: the paper's)."""

    artifacts: tuple[Artifact, ...]

    def __post_init__(self) -> None:
        names = [a.name for a in self.artifacts]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"artifact(s) {dup} defined twice")

    def names(self) -> list[str]:
        """Every artifact name, in order."""
        return [a.name for a in self.artifacts]

    def get(self, name: str) -> Artifact:
        """The artifact called ``name``; an unknown name is refused naming the close ones."""
        for art in self.artifacts:
            if art.name == name:
                return art
        import difflib

        names = self.names()
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown artifact {name!r}{hint}; artifacts: {', '.join(names)}")

    def all_artifacts(self) -> list[Artifact]:
        return list(self.artifacts)

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def with_artifacts(self, extra: "tuple[Artifact, ...] | list[Artifact]") -> "Registry":
        """This registry and ``extra`` after it (an artifact already here is not added twice)."""
        return Registry(self.artifacts + tuple(a for a in extra if a.name not in self))
