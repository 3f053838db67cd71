"""Naming an encoder: a close miss of an alias is answered with the alias, a training run folder
with its best checkpoint (one line each, exit 2, before any evaluation)."""
from __future__ import annotations

import shutil

from mocose.cli import main
from mocose.model.encoders import tiny_random_bert


def test_a_misspelt_alias_gets_the_alias(capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["eval", "tiny-random-brt", "--tasks", "STSBenchmark"]) == 2
    assert "did you mean tiny-random-bert?" in capsys.readouterr().err


def test_a_run_folder_points_at_its_best_checkpoint(tmp_path, capsys):
    run = tmp_path / "runs" / "cpu"
    shutil.copytree(tiny_random_bert(), run / "best")
    (run / "metrics.jsonl").write_text("")
    assert main(["eval", str(run), "--tasks", "STSBenchmark"]) == 2
    err = capsys.readouterr().err
    assert "is a training run folder" in err and f"{run / 'best'}" in err
