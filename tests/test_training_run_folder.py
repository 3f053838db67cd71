"""Run folders: resume, overwrite and damaged state are refused or recovered, each in one line.

Every probe runs the real command (``mocose.cli.main``) and checks the message, the exit status
and that nothing was written (tests/faults_support.py)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from faults_support import NEEDS_DATA, offline, SMALL_SETS, cli, one_line_error, run_copy, snapshot, trained  # noqa: F401 (fixtures)

pytestmark = NEEDS_DATA


def train_cli(capsys, folder: Path, *extra: str) -> tuple[int, str, str]:
    return cli(capsys, "train", "--profile", "smoke", "--out", folder, "--quiet", *SMALL_SETS, *extra)


@pytest.mark.parametrize("missing", ["state.safetensors", "state.json", "state"])
def test_resume_with_missing_state_is_refused_naming_it(run_copy, capsys, missing):
    target = run_copy / "state" / missing if missing != "state" else run_copy / "state"
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    before = snapshot(run_copy)
    code, _, err = train_cli(capsys, run_copy, "--resume")
    line = one_line_error(err)
    assert code == 2 and str(target) in line and "missing" in line
    assert snapshot(run_copy) == before  # no silent restart: nothing touched


def test_resume_with_damaged_state_is_refused(run_copy, capsys):
    tensors = run_copy / "state" / "state.safetensors"
    tensors.write_bytes(tensors.read_bytes()[:1000])
    code, _, err = train_cli(capsys, run_copy, "--resume")
    assert code == 2 and "state.safetensors is truncated" in one_line_error(err)
    (run_copy / "state" / "state.json").write_text('{"__dict__": [["step", 3')
    code, _, err = train_cli(capsys, run_copy, "--resume")
    assert code == 2 and "state.json is damaged" in one_line_error(err)


def test_resume_with_other_settings_is_refused_unless_allowed(run_copy, capsys):
    before = snapshot(run_copy)
    code, _, err = train_cli(capsys, run_copy, "--resume", "--set", "ema_decay=0.9", "--set", "queue_size=32")
    line = one_line_error(err)
    assert code == 2 and "ema_decay: 0.85 -> 0.9" in line and "queue_size: 16 -> 32" in line
    assert "--allow-config-change" in line and snapshot(run_copy) == before
    code, _, err = train_cli(capsys, run_copy, "--resume", "--set", "ema_decay=0.9", "--allow-config-change")
    assert code == 0 and "resuming" in err and "ema_decay: 0.85 -> 0.9" in err
    summary = json.loads((run_copy / "train.json").read_text())
    assert summary["config_changes"] == ["ema_decay: 0.85 -> 0.9"]


def test_resume_after_the_best_checkpoint_was_deleted_says_so(run_copy, capsys):
    (run_copy / "best" / "model.safetensors").unlink()
    code, _, err = train_cli(capsys, run_copy, "--resume")
    line = one_line_error(err)
    assert code == 2 and "best checkpoint of step" in line and "no weights (model.safetensors" in line
    assert "--overwrite" in line


@pytest.mark.slow  # trains again: seconds on a quiet machine
def test_train_over_an_existing_run_needs_overwrite(run_copy, capsys):
    before = snapshot(run_copy)
    code, _, err = train_cli(capsys, run_copy)
    line = one_line_error(err)
    assert code == 2 and "already holds a run" in line and "--overwrite" in line and "--resume" in line
    assert snapshot(run_copy) == before
    (run_copy / "notes.txt").write_text("mine")
    old_log = (run_copy / "metrics.jsonl").read_text()
    code, out, _ = train_cli(capsys, run_copy, "--overwrite", "--set", "seed=7", "--set", "max_steps=3")
    assert code == 0 and "trained mocose" in out
    assert (run_copy / "notes.txt").read_text() == "mine"  # only the run's own files replaced
    assert (run_copy / "metrics.jsonl").read_text() != old_log


def test_resume_of_a_folder_without_a_run_is_refused(tmp_path, capsys):
    code, _, err = train_cli(capsys, tmp_path / "nothing", "--resume")
    assert code == 2 and "holds no run" in one_line_error(err) and not (tmp_path / "nothing").exists()


@pytest.mark.slow  # trains again: seconds on a quiet machine
def test_a_metrics_log_that_does_not_parse_is_set_aside_on_resume(run_copy, capsys):
    log = run_copy / "metrics.jsonl"
    lines = log.read_text().splitlines()
    log.write_text(lines[0] + "\n" + lines[1][:7] + "\n")
    code, _, err = train_cli(capsys, run_copy, "--resume")
    assert code == 0 and "had lines that do not parse" in err
    assert (run_copy / "metrics.jsonl.broken-1").read_text() == lines[0] + "\n" + lines[1][:7] + "\n"
    for line in log.read_text().splitlines():
        json.loads(line)  # every line of the new log parses


@pytest.mark.slow  # trains again: seconds on a quiet machine
def test_kill_between_the_two_renames_of_a_folder_replacement_recovers_the_old_copy(run_copy, capsys):
    """replace_folder moves the old state aside, then the new one in: a kill in between leaves no
    state/ but .state-old-PID, which a resume puts back instead of restarting silently."""
    os.replace(run_copy / "state", run_copy / ".state-old-12345")
    (run_copy / ".state-abcd").mkdir()  # a half-built temporary folder
    code, _, err = train_cli(capsys, run_copy, "--resume")
    assert code == 0, err
    assert (run_copy / "state").is_dir() and not list(run_copy.glob(".state-*"))
