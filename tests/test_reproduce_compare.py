"""``mocose compare A B``: two cells from their runs (means per task, the difference, the claim
test of A > B worked by hand), and two models evaluated now."""
from __future__ import annotations

import math

import pytest
from scipy import stats

from ablations.spec import Artifact, Cell, Registry
from mocose.cli import main
from mocose.runner import store

PROFILE = "smoke"
ART = Artifact("pair", "two cells", "table", (Cell("hi", {"ema_decay": 0.9}), Cell("lo", {"ema_decay": 0.8})),
               metric="STSBenchmark", evaluation="STSBenchmark")
REGISTRY = Registry((ART,))
SCORES = {"hi": (80.0, 81.0), "lo": (70.0, 71.0)}


@pytest.fixture
def results(tmp_path):
    folder = tmp_path / "results"
    for (cell, config) in ART.configs(PROFILE, 2):
        seed = config.train.seed - ART.configs(PROFILE, 1)[0][1].train.seed
        score = SCORES[cell.label][seed]
        store.atomic_write_json(store.result_path(folder, PROFILE, config.digest()), {
            "schema": 1, "run_id": config.digest(), "profile": PROFILE, "status": "ok",
            "config": config.to_dict(), "seed": config.train.seed,
            "metrics": {"tasks": {"STSBenchmark": {"score": score}}, "avg": {"sts": score}}})
    return folder


def test_two_cells_side_by_side_with_the_claim_test(results, capsys):
    code = main(["compare", "pair:hi", "pair:lo", "--tasks", "STSBenchmark", "--profile", PROFILE,
                 "--results", str(results)], registry=REGISTRY)
    out = capsys.readouterr().out
    assert code == 0
    a_row, b_row, diff_row = [line.split() for line in out.splitlines()[1:4]]
    assert a_row[-2:] == ["80.50", "80.50"] and b_row[-2:] == ["70.50", "70.50"] and diff_row[-2:] == ["10.00", "10.00"]
    # Welch by hand: variances 0.5 and 0.5 over 2 runs each: se = sqrt(0.25 + 0.25), df = 2
    se = math.sqrt(0.5)
    half = stats.t.ppf(0.975, 2) * se
    assert f"A > B on STSBenchmark: holds, interval of A - B [{10 - half:+.2f}, {10 + half:+.2f}]" in out


def test_a_cell_without_runs_is_named_with_the_command_that_makes_them(tmp_path, capsys):
    code = main(["compare", "pair:hi", "pair:lo", "--profile", PROFILE, "--results", str(tmp_path)],
                registry=REGISTRY)
    assert code == 2 and "mocose reproduce pair --profile smoke" in capsys.readouterr().err


def test_two_models_evaluated_now(capsys):
    assert main(["compare", "tiny-random-bert", "tiny-random-bert", "--tasks", "STSBenchmark"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:4]]
    assert rows[0][-1] == rows[1][-1] and rows[2][-1] in ("0.00", "-0.00")
