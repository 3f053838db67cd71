"""Study files (ablations/study.py): YAML read into the same Artifact a paper table is, and every
bad input refused in one line naming the file, the line and the fix, with exit 2 and nothing
written (the commands are called in this process: no run starts before the refusal)."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import ablations
from ablations.spec import Check
from ablations.study import load_study, parse_study
from mocose.cli import main
from mocose.config import Config, ConfigError

EXAMPLES = Path(__file__).resolve().parents[1] / "ablations" / "examples"

ISSUE_FORM = """\
name: pred_depth_k4096
title: Predictor depth with a 4096 queue
base: {queue_size: 4096}
metric: sts
cells:
  - {label: no predictor, set: {pred_layers: 0}}
  - {label: 2 layers, set: {pred_layers: 2}, published: 77.3}
claims:
  - 2 layers > no predictor
  - {a: 2 layers, b: no predictor, op: ">", margin: 0.5}
"""


def test_the_issue_form_is_an_artifact_like_a_paper_table():
    art = parse_study(ISSUE_FORM, "s.yaml")
    assert (art.name, art.kind, art.metric, art.evaluation) == ("pred_depth_k4096", "table", "sts", "sts")
    assert dict(art.base) == {"queue_size": 4096}
    assert [(c.label, dict(c.overrides), c.paper) for c in art.cells] == [
        ("no predictor", {"pred_layers": 0}, None), ("2 layers", {"pred_layers": 2}, 77.3)]
    assert [c.checks for c in art.claims] == [(Check("2 layers", "no predictor", ">", 0.0),),
                                              (Check("2 layers", "no predictor", ">", 0.5),)]
    # the recipe of a cell: profile, then base, then the cell's own fields
    config = art.config("2 layers", "smoke")
    assert (config.queue.queue_size, config.model.pred_layers) == (4096, 2)


def test_a_grid_is_the_product_labelled_by_its_values_with_published_numbers():
    text = ("name: g\ngrid:\n  pred_layers: [0, 2]\n  ema_decay: [0.85, 0.95]\n"
            "published: {'pred_layers=2, ema_decay=0.95': 70.5}\n")
    art = parse_study(text, "g.yaml")
    want = [f"pred_layers={p}, ema_decay={e}" for p, e in itertools.product([0, 2], [0.85, 0.95])]
    assert [c.label for c in art.cells] == want
    assert [c.paper for c in art.cells] == [None, None, None, 70.5]
    # a two-field grid is a table: rows by the first field, columns by the last
    assert {(c.row, c.col) for c in art.cells} == {(f"pred_layers={p}", str(e))
                                                   for p, e in itertools.product([0, 2], [0.85, 0.95])}
    assert (art.row_title, art.col_title) == ("pred_layers", "ema_decay")


def test_a_figure_places_cells_at_their_x_on_the_series_of_the_other_fields():
    text = ("name: f\nbase: {ema_decay: 0.9}\ngrid: {queue_size: [64, 256], pred_layers: [1, 2]}\n"
            "figure: {x: queue_size, plot: line}\n")
    art = parse_study(text, "f.yaml")
    assert (art.kind, art.plot, art.x_label) == ("figure", "line", "queue_size")
    assert [(c.x, c.series) for c in art.cells] == [(64.0, "pred_layers=1"), (64.0, "pred_layers=2"),
                                                   (256.0, "pred_layers=1"), (256.0, "pred_layers=2")]
    # x from the base or the default when no cell sets it
    art = parse_study("name: f\nbase: {queue_size: 128}\ngrid: {pred_layers: [1, 2]}\n"
                      "figure: {x: queue_size, plot: box}\n", "f.yaml")
    assert {c.x for c in art.cells} == {128.0}
    art = parse_study("name: f\ngrid: {pred_layers: [1, 2]}\nfigure: {x: ema_decay}\n", "f.yaml")
    assert {c.x for c in art.cells} == {Config().ema.ema_decay} and art.plot == "line"


def test_metric_sets_the_evaluation_the_runs_need():
    for metric, evaluation in (("transfer", "transfer"), ("TREC", "TREC"), ("STSBenchmark", "sts"),
                               ("align_uniform", "sts")):
        art = parse_study(f"name: m\nmetric: {metric}\ngrid: {{pred_layers: [1]}}\n", "m.yaml")
        assert (art.metric, art.evaluation) == (metric, evaluation)


def test_the_shipped_examples_load():
    examples = sorted(EXAMPLES.glob("*.yaml"))
    assert len(examples) >= 2
    for path in examples:
        art = load_study(path)
        assert art.name not in ablations.REGISTRY and art.claims
        for cell in art.run_cells:
            art.config(cell, "smoke")  # every recipe is a valid config


# -- bad input: (file text, the line it names counted in the text, words of the message) -----------
def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


BAD = {
    "malformed YAML": ("name: x\ncells:\n  - {label: a, set: {pred_layers: 0}\n  - {label: b}\n",
                       "- {label: b}", ["malformed YAML"]),
    "unknown field": ("name: x\ncells:\n  - {label: a, set: {pred_layer: 0}}\n", "pred_layer",
                      ["unknown config field 'pred_layer'", "did you mean 'pred_layers'"]),
    "unknown key": ("name: x\ncels:\n  - {label: a}\n", "cels", ["unknown study key", "did you mean 'cells'"]),
    "bad value": ("name: x\ncells:\n  - {label: a}\n  - {label: b, set: {ema_decay: 1.5}}\n", "label: b",
                  ["cell 'b'", "ema_decay", "fix the value"]),
    "bad grid value": ("name: x\ngrid:\n  pred_layers: [1, 2]\n  batch_size: [16, zero]\n", "batch_size",
                       ["batch_size", "fix the value"]),
    "duplicate label": ("name: x\ncells:\n  - {label: a}\n  - {label: a, set: {pred_layers: 1}}\n",
                        "pred_layers: 1", ["duplicate label 'a'"]),
    "claim naming no cell": ("name: x\ncells:\n  - {label: a}\n  - {label: bb}\nclaims:\n  - a > b\n",
                             "a > b", ["claim names no cell 'b'", "did you mean 'bb'"]),
    "empty grid": ("name: x\ngrid: {}\n", "grid", ["the grid is empty"]),
    "empty grid field": ("name: x\ngrid:\n  pred_layers: []\n", "pred_layers", ["non-empty list"]),
    "paper name": ("name: table3\ngrid: {pred_layers: [1, 2]}\n", "name", ["a paper artifact's"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_naming_the_file_and_line(case, tmp_path):
    text, needle, words = BAD[case]
    path = tmp_path / "study.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_study(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line_of(text, needle)}: "), message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("command", ["reproduce", "report", "claims", "seeds"])
@pytest.mark.parametrize("case", ["unknown field", "duplicate label", "claim naming no cell", "paper name"])
def test_every_command_refuses_a_bad_study_with_exit_2_writing_nothing(case, command, tmp_path, capsys):
    path = tmp_path / "study.yaml"
    path.write_text(BAD[case][0])
    results = tmp_path / "results"
    extra = {"reproduce": ["--profile", "smoke", "--data", str(tmp_path)], "report": ["--profile", "smoke"],
             "claims": ["--profile", "smoke"], "seeds": ["--profile", "smoke"]}[command]
    assert main([command, str(path), "--results", str(results), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"mocose: error: {path}:"), err
    assert not results.exists()


def test_a_missing_study_file_is_one_line(tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["reproduce", str(tmp_path / "nope.yml"), "--results", str(results), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no such study file" in err and not results.exists()


def test_a_study_named_like_an_artifact_of_the_given_registry_is_refused(tmp_path):
    from ablations.spec import Artifact, Cell, Registry
    from mocose.report.studies import resolve

    path = tmp_path / "s.yaml"
    path.write_text("name: mine\ngrid: {pred_layers: [1, 2]}\n")
    registry = Registry((Artifact("mine", "t", "table", (Cell("a", col="a"),)),))
    with pytest.raises(ConfigError, match="already an artifact's"):
        resolve([str(path)], registry)
    registry, names = resolve([str(path)], ablations.REGISTRY)
    assert names == ["mine"] and registry.names()[:-1] == ablations.REGISTRY.names()
