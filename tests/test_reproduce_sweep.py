"""``mocose sweep NAME --set k=v1,v2``: writes the study file it runs, and that file reruns with
nothing trained (the fake experiment and registry of tests/test_reproduce_study_runs.py)."""
from __future__ import annotations

import json

import pytest
from test_reproduce_study_runs import PROFILE, env, mocose, trained  # noqa: F401 - env is a fixture

from ablations.study import load_study
from mocose.cli import main


def test_sweep_writes_the_study_it_runs_and_the_file_reruns_training_nothing(env):  # noqa: F811
    out = mocose(env, "sweep", "depth_by_eta", "--set", "pred_layers=0,2", "--set", "ema_decay=0.85,0.95",
                 "--set", "batch_size=8", "--profile", PROFILE, "--seeds", "1", "--no-report")
    study = env / "studies" / "depth_by_eta.yaml"
    assert f"wrote {study.relative_to(env)}" in out.stdout
    art = load_study(study)
    assert [c.label for c in art.cells] == [f"pred_layers={p}, ema_decay={e}" for p in (0, 2)
                                            for e in (0.85, 0.95)]
    assert dict(art.base) == {"batch_size": 8}  # a field with one value is shared by every cell
    assert len(trained(env)) == 4 and {line.split()[1] for line in trained(env)} == {"batch_size=8"}

    again = mocose(env, "reproduce", str(study), "--profile", PROFILE, "--seeds", "1", "--dry-run", "--json")
    assert json.loads(again.stdout.strip().splitlines()[-1])["to_train"] == 0
    mocose(env, "reproduce", str(study), "--profile", PROFILE, "--seeds", "1")
    assert len(trained(env)) == 4
    # the same sweep again finds its own file unchanged and trains nothing either
    mocose(env, "sweep", "depth_by_eta", "--set", "pred_layers=0,2", "--set", "ema_decay=0.85,0.95",
           "--set", "batch_size=8", "--profile", PROFILE, "--seeds", "1", "--no-report")
    assert len(trained(env)) == 4


@pytest.mark.parametrize("args, words", [
    (["s", "--set", "pred_layer=0,1"], "did you mean pred_layers"),
    (["s", "--set", "pred_layers=0,x"], "pred_layers='x' is not allowed"),
    (["s", "--set", "pred_layers=1,1"], "twice"),
    (["s", "--set", "pred_layers=,"], "lists no value"),
    (["s"], "give the grid"),
    (["table3", "--set", "pred_layers=0,1"], "a paper artifact's"),
    (["s", "--set", "pred_layers=0,1", "--seeds", "0"], "--seeds 0"),
])
def test_bad_sweeps_are_one_line_exit_2_and_write_nothing(args, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", *args, "--results", str(tmp_path / "results"), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err
    assert list(tmp_path.iterdir()) == []  # no study file, no results


def test_sweep_keeps_an_edited_study_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    edited = tmp_path / "studies" / "s.yaml"
    edited.parent.mkdir()
    edited.write_text("name: s\ngrid: {pred_layers: [0, 1]}\nclaims: [pred_layers=1 > pred_layers=0]\n")
    assert main(["sweep", "s", "--set", "pred_layers=0,1", "--results", str(tmp_path / "results"),
                 "--dry-run"]) == 2
    assert "exists and differs" in capsys.readouterr().err
    assert "claims: [pred_layers=1" in edited.read_text() and not (tmp_path / "results").exists()


def test_the_readme_command_table_names_study_files_and_sweep():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = [line for line in readme.splitlines() if line.startswith("| `mocose ")]
    assert any("FILE.yaml" in line and "docs/studies.md" in line for line in table)
    assert any(line.startswith("| `mocose sweep NAME --set") for line in table)
