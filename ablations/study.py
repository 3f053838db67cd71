"""A study file: a researcher's own ablation as YAML, read into an :class:`~ablations.spec.Artifact`.

    name: pred_depth_k4096          # report and results name; not a paper artifact's
    title: Predictor depth with a 4096 queue
    base: {queue_size: 4096}        # overrides every cell shares (bare config field names)
    metric: sts                     # sts | transfer | a task name | any metric of ablations.METRICS
    cells:                          # or instead: grid: {pred_layers: [0, 1, 2, 3]}
      - {label: no predictor, set: {pred_layers: 0}}
      - {label: 2 layers, set: {pred_layers: 2}, published: 77.3}
    claims:
      - 2 layers > no predictor
      - {a: 2 layers, b: no predictor, op: ">", margin: 0.5}
    figure: {x: pred_layers, plot: line}

A study is then named, run, reported and tested exactly as a paper artifact is (docs/studies.md).
Every error is one line naming the file, the line (or key) and the fix.
"""
from __future__ import annotations

import difflib
import itertools
import re
from pathlib import Path
from typing import Any, Mapping

from mocose.config import Config, ConfigError, field_names
from mocose.evaluation.tasks import STS_TASKS, TRANSFER_TASKS, parse_tasks

from .spec import COMPARE_OPS, METRICS, Artifact, Cell, Check, Claim

SUFFIXES = (".yaml", ".yml")
STUDY_KEYS = ("name", "title", "base", "metric", "evaluation", "cells", "grid", "published",
              "claims", "figure", "notes")
CELL_KEYS = ("label", "set", "published")
CLAIM_KEYS = ("a", "b", "op", "margin", "metric", "text")
FIGURE_KEYS = ("x", "plot", "x_label", "y_label", "x_log")
# How a study's figure may be drawn (the plots over cells at numeric x; ablations.spec.PLOTS).
STUDY_PLOTS = ("line", "band", "box", "bar")
# A name is a file name of the report: letters, digits, '_', '.', '-'.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


def is_study_path(name: str) -> bool:
    """Whether an artifact name given on the command line is a study file (ends in .yaml/.yml)."""
    return Path(name).suffix.lower() in SUFFIXES


def load_study(path: str | Path) -> Artifact:
    """The artifact a study file declares; a missing or bad file raises a one-line ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such study file; check the path (docs/studies.md shows the format)")
    return parse_study(path.read_text(), str(path))


def parse_study(text: str, source: str = "<study>") -> Artifact:
    """The artifact of a study file's ``text`` (``source``: the file, for the messages)."""
    import yaml

    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{where}: malformed YAML ({problem}); fix the syntax on that line") from None
    return _Reader(source, root).artifact(data)


class _Reader:
    """Reads the parsed data, naming the file and line of anything wrong (from the node marks)."""

    def __init__(self, source: str, root: Any) -> None:
        self.source, self.root = source, root
        self.data: dict = {}

    def at(self, *path: Any) -> str:
        """``file:line`` of the deepest node along ``path`` (mapping keys, list indices)."""
        import yaml

        node, line = self.root, 1
        for step in path:
            if node is None:
                break
            line = node.start_mark.line + 1
            if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                node = node.value[step]
                line = node.start_mark.line + 1  # the list item's own line
            elif isinstance(node, yaml.MappingNode):
                found = [(k, v) for k, v in node.value if k.value == str(step)]
                node = found[0][1] if found else None
                if found:
                    line = found[0][0].start_mark.line + 1  # the key's line, not its value's
            else:
                node = None
        return f"{self.source}:{line}"

    def fail(self, path: tuple, message: str) -> None:
        raise ConfigError(f"{self.at(*path)}: {message}")

    def mapping(self, value: Any, path: tuple, what: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"{what} must be a mapping (key: value), not {type(value).__name__}")
        return value

    def keys(self, data: Mapping, allowed: tuple[str, ...], path: tuple, what: str) -> None:
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                fix = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(allowed)}"
                self.fail(path + (key,), f"unknown {what} key {key!r}: {fix}")

    def fields(self, data: Mapping, path: tuple) -> dict:
        """Config overrides: every key a config field (did-you-mean otherwise)."""
        known = field_names()
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                fix = f"did you mean {close[0]!r}?" if close else "see `mocose train --help` for the fields"
                self.fail(path + (key,), f"unknown config field {key!r}: {fix}")
        return dict(data)

    # -- the whole file ---------------------------------------------------------------------------
    def artifact(self, data: Any) -> Artifact:
        if not isinstance(data, dict):
            self.fail((), "a study file is a mapping with at least name and cells (or grid); "
                          "see docs/studies.md")
        self.keys(data, STUDY_KEYS, (), "study")
        self.data = data
        name = self.name(data)
        base = self.fields(self.mapping(data.get("base"), ("base",), "base"), ("base",))
        metric = str(data.get("metric", "sts"))
        metrics = METRICS + STS_TASKS + TRANSFER_TASKS
        if metric not in metrics:
            close = difflib.get_close_matches(metric, metrics, n=1)
            self.fail(("metric",), f"metric {metric!r} is not known: "
                      + (f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(metrics)}"))
        evaluation = str(data.get("evaluation", _evaluation_of(metric)))
        try:
            parse_tasks(evaluation)
        except ConfigError as err:
            self.fail(("evaluation",), str(err))
        cells, row_title, col_title = self.cells(data, base)
        self.check_values(base, cells)
        figure = self.mapping(data.get("figure"), ("figure",), "figure")
        layout: dict[str, Any] = {"kind": "table", "row_title": row_title, "col_title": col_title}
        if figure:
            cells, layout = self.figure(figure, base, cells)
        claims = self.claims(data.get("claims"), [c.label for c in cells])
        notes = data.get("notes", "")
        try:
            return Artifact(name=name, title=str(data.get("title") or name), cells=tuple(cells),
                            base=base, claims=claims, evaluation=evaluation, metric=metric,
                            notes=str(notes or ""), **layout)
        except ConfigError as err:  # what the registry's own checks find
            raise ConfigError(f"{self.source}: {err}") from None

    def name(self, data: Mapping) -> str:
        import ablations

        name = data.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            self.fail(("name",) if "name" in data else (),
                      f"name {name!r} is not allowed: give the study a name of letters, digits, "
                      "'_', '.' and '-' (it names the report files)")
        if name in ablations.REGISTRY:
            self.fail(("name",), f"name {name!r} is a paper artifact's: give the study its own name")
        return name

    # -- cells --------------------------------------------------------------------------------------
    def cells(self, data: Mapping, base: Mapping) -> tuple[list[Cell], str, str]:
        """The cells of ``cells:`` or ``grid:``, and the table's row and column titles."""
        if ("cells" in data) == ("grid" in data):
            self.fail(("cells",) if "cells" in data else (),
                      "give either cells (a list) or grid (field: [values]), exactly one of them")
        if "grid" in data:
            return self.grid(data)
        if "published" in data:
            self.fail(("published",), "top-level published is for a grid; put published on each cell")
        items = data["cells"]
        if not isinstance(items, list) or not items:
            self.fail(("cells",), "cells must be a non-empty list of {label, set, published}")
        cells, seen = [], set()
        for i, item in enumerate(items):
            path = ("cells", i)
            item = self.mapping(item, path, "a cell")
            self.keys(item, CELL_KEYS, path, "cell")
            label = item.get("label")
            if not isinstance(label, (str, int, float)) or str(label).strip() == "":
                self.fail(path, "each cell needs a label (label: no predictor)")
            label = str(label).strip()
            if label in seen:
                self.fail(path + ("label",), f"duplicate label {label!r}: give each cell its own label")
            seen.add(label)
            overrides = self.fields(self.mapping(item.get("set"), path + ("set",), "set"), path + ("set",))
            paper = self.number(item.get("published"), path + ("published",))
            cells.append(Cell(label, overrides, paper, row="", col=label))
        return cells, "", ""

    def grid(self, data: Mapping) -> tuple[list[Cell], str, str]:
        grid = self.fields(self.mapping(data["grid"], ("grid",), "grid"), ("grid",))
        if not grid:
            self.fail(("grid",), "the grid is empty: give at least one field with its values "
                                 "(grid: {pred_layers: [0, 1, 2]})")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                self.fail(("grid", key), f"grid field {key!r} needs a non-empty list of values "
                                         f"({key}: [v1, v2])")
            dup = sorted({_fmt(v) for v in values if values.count(v) > 1})
            if dup:
                self.fail(("grid", key), f"grid field {key!r} lists {', '.join(dup)} twice: list each value once")
        keys = list(grid)
        cells = []
        for values in itertools.product(*grid.values()):
            overrides = dict(zip(keys, values))
            label = grid_label(overrides)
            row = grid_label(dict(zip(keys[:-1], values[:-1])))
            cells.append(Cell(label, overrides, row=row, col=_fmt(values[-1])))
        published = self.mapping(data.get("published"), ("published",), "published")
        labels = [c.label for c in cells]
        for label in published:
            if label not in labels:
                self.fail(("published", label), f"published names no cell {label!r}: "
                                                f"{_close(str(label), labels)}")
        cells = [Cell(c.label, c.overrides, self.number(published.get(c.label), ("published", c.label)),
                      row=c.row, col=c.col) for c in cells]
        return cells, ", ".join(keys[:-1]), keys[-1]

    def number(self, value: Any, path: tuple) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, f"published must be a number (the paper's value), not {value!r}")
        return float(value)

    def check_values(self, base: Mapping, cells: list[Cell]) -> None:
        """Each value a field can hold, as the config itself checks it: the base's, then each
        grid field's or cell's on top."""
        self.config(base, {}, ("base",))
        for key, values in (self.root_value("grid") or {}).items():
            for value in values:
                self.config(base, {key: value}, ("grid", key))
        for i, cell in enumerate(cells):
            path = ("cells", i, "set") if "cells" in (self.root_value() or {}) else ("grid",)
            self.config(base, cell.overrides, path, f"cell {cell.label!r}: ")

    def config(self, base: Mapping, overrides: Mapping, path: tuple, what: str = "") -> Config:
        try:
            return Config().override(base).override(dict(overrides))
        except ConfigError as err:
            self.fail(path, f"{what}{err}; fix the value")
            raise  # unreachable: fail raises

    def root_value(self, key: str = "") -> Any:
        """The parsed file (``key``: one of its top-level values)."""
        return self.data.get(key) if key else self.data

    # -- figure -------------------------------------------------------------------------------------
    def figure(self, figure: Mapping, base: Mapping, cells: list[Cell]) -> tuple[list[Cell], dict]:
        """Each cell placed at its value of ``x``, on the series of its other fields."""
        self.keys(figure, FIGURE_KEYS, ("figure",), "figure")
        x = figure.get("x")
        if x not in field_names():
            self.fail(("figure", "x") if "x" in figure else ("figure",),
                      f"figure x {x!r} must be the config field the cells vary along "
                      f"({_close(str(x), field_names())})")
        plot = figure.get("plot", "line")
        if plot not in STUDY_PLOTS:
            self.fail(("figure", "plot"), f"figure plot {plot!r} is not allowed: one of {', '.join(STUDY_PLOTS)}")
        placed = []
        for cell in cells:
            value = self.config(base, cell.overrides, ("figure",)).get(x)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(("figure", "x"), f"figure x {x!r} is {value!r} in cell {cell.label!r}: "
                                           "x must be a numeric field")
            series = grid_label({k: v for k, v in cell.overrides.items() if k != x})
            placed.append(Cell(cell.label, cell.overrides, cell.paper, row=cell.row, col=cell.col,
                               x=float(value), series=series))
        layout = {"kind": "figure", "plot": plot, "x_label": str(figure.get("x_label", x)),
                  "y_label": str(figure.get("y_label", "")), "x_log": bool(figure.get("x_log", False))}
        return placed, layout

    # -- claims -------------------------------------------------------------------------------------
    def claims(self, items: Any, labels: list[str]) -> tuple[Claim, ...]:
        if items is None:
            return ()
        if not isinstance(items, list):
            self.fail(("claims",), "claims must be a list ('A > B' or {a, b, op, margin})")
        out = []
        for i, item in enumerate(items):
            path = ("claims", i)
            if isinstance(item, str):
                parts = item.split(">")
                if len(parts) != 2 or not all(p.strip() for p in parts):
                    self.fail(path, f"claim {item!r} is not 'A > B': write it so, or as "
                                    "{a: A, b: B, op: '~', margin: M}")
                check, text = Check(parts[0].strip(), parts[1].strip(), ">"), item
            else:
                item = self.mapping(item, path, "a claim")
                self.keys(item, CLAIM_KEYS, path, "claim")
                op = item.get("op", ">")
                if op not in COMPARE_OPS:
                    self.fail(path + ("op",), f"claim op {op!r} is not allowed: '>' (a beats b) or "
                                              "'~' (a and b within margin)")
                margin = item.get("margin", 0.0)
                if isinstance(margin, bool) or not isinstance(margin, (int, float)) or margin < 0:
                    self.fail(path + ("margin",), f"margin {margin!r} must be a number >= 0 (points)")
                if op == "~" and margin <= 0:
                    self.fail(path, "a '~' claim needs margin > 0: how close a and b must be")
                metric = str(item.get("metric", ""))
                if metric and metric not in METRICS + STS_TASKS + TRANSFER_TASKS:
                    self.fail(path + ("metric",), f"claim metric {metric!r} is not known: "
                                                  f"{_close(metric, METRICS + STS_TASKS + TRANSFER_TASKS)}")
                check = Check(str(item.get("a", "")).strip(), str(item.get("b", "")).strip(), op,
                              float(margin), metric)
                text = str(item.get("text") or "") or (
                    f"{check.a} > {check.b}" + (f" + {check.margin:g}" if check.margin else "")
                    if op == ">" else f"{check.a} ~ {check.b} (within {check.margin:g})")
            for label in check.labels:
                if label not in labels:
                    self.fail(path, f"claim names no cell {label!r}: {_close(label, labels)}")
            out.append(Claim(text, (check,)))
        return tuple(out)


def _evaluation_of(metric: str) -> str:
    """The eval_tasks a study's runs need for its metric: the transfer tasks for transfer, one
    transfer task for itself, the STS tasks for the rest (analyses come with every run)."""
    if metric == "transfer" or metric in TRANSFER_TASKS:
        return metric
    return "sts"


def _fmt(value: Any) -> str:
    """A value as a study label shows it (YAML's spelling of booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def grid_label(overrides: Mapping[str, Any]) -> str:
    """A grid cell's label: ``k=v, k2=v2`` in the grid's order."""
    return ", ".join(f"{k}={_fmt(v)}" for k, v in overrides.items())


def _close(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(map(str, options))}"


def study_text(name: str, grid: Mapping[str, list], base: Mapping[str, Any] | None = None,
               title: str = "", metric: str = "sts", header: str = "") -> str:
    """The YAML of a grid study (what ``mocose sweep`` writes), a comment ``header`` on top."""
    import yaml

    data: dict[str, Any] = {"name": name, "title": title or f"Sweep over {', '.join(grid)}"}
    if base:
        data["base"] = dict(base)
    data["metric"] = metric
    data["grid"] = {k: list(v) for k, v in grid.items()}
    data["claims"] = []
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None)
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + body
