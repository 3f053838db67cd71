"""Model folders: a missing, empty, truncated or vocabulary-less folder is refused in one line naming it.

Every probe runs the real command (``mocose.cli.main``) and checks the message, the exit status
and that nothing was written (tests/faults_support.py)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from faults_support import NEEDS_DATA, offline, cli, one_line_error  # noqa: F401 (fixtures)
from mocose.model import encoders

pytestmark = NEEDS_DATA


def tiny_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(encoders.tiny_random_bert(), folder)
    return folder


@pytest.mark.parametrize("damage, expected", [
    ("empty", "the folder is empty"),
    ("no-config", "config.json is missing"),
    ("truncated-weights", "model.safetensors is truncated"),
    ("empty-weights", "model.safetensors is empty"),
    ("no-weights", "no weights"),
])
def test_eval_on_a_broken_folder_names_folder_and_fault(tmp_path, capsys, damage, expected):
    folder = tiny_copy(tmp_path)
    weights = folder / "model.safetensors"
    if damage == "empty":
        shutil.rmtree(folder)
        folder.mkdir()
    elif damage == "no-config":
        (folder / "config.json").unlink()
    elif damage == "truncated-weights":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif damage == "empty-weights":
        weights.write_bytes(b"")
    else:
        weights.unlink()
    out_json = tmp_path / "eval.json"
    code, _, err = cli(capsys, "eval", folder, "--tasks", "STSBenchmark", "--out", out_json)
    line = one_line_error(err)
    assert code == 2 and str(folder) in line and expected in line and not out_json.exists()


def test_missing_local_path_says_no_such_folder_and_hub_hint_only_for_hub_names(tmp_path, capsys):
    code, _, err = cli(capsys, "eval", "/local/path/that/does/not/exist")
    line = one_line_error(err)
    assert code == 2 and "no such folder: /local/path/that/does/not/exist" in line
    assert "hub" not in line and "--set" not in line
    code, _, err = cli(capsys, "eval", "./runs/not-there", "--tasks", "STSBenchmark")
    assert code == 2 and "no such folder" in one_line_error(err) and "hub" not in err
    code, _, err = cli(capsys, "eval", "some-org/some-model", "--tasks", "STSBenchmark")
    line = one_line_error(err)
    assert code == 2 and "no such folder 'some-org/some-model'" in line and "hub" in line
    assert "--set" not in line  # eval has no --set


def test_a_tokenizer_that_lost_its_vocabulary_is_refused(tmp_path, capsys):
    folder = tiny_copy(tmp_path)
    (folder / "tokenizer.json").unlink()  # left: tokenizer_config.json, so a 5-token vocabulary loads
    code, _, err = cli(capsys, "eval", folder, "--tasks", "STSBenchmark")
    line = one_line_error(err)
    assert code == 2 and "maps 100% of common English words to '[UNK]'" in line and str(folder) in line
    assert encoders.unknown_fraction(encoders.load("tiny-random-bert")[1]) == 0.0
