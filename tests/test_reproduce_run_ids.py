"""Run ids: what they cover, and that an upgrade keeps a user's cached results.

The fixture ``tests/fixtures/results_d52c9b0`` is the results folder that commit d52c9b0 made with
``mocose reproduce table3 --profile smoke --seeds 1`` (its run files only): the present version
must find every one of them done and train nothing."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

import ablations
from mocose.cli import main
from mocose.config import IDENTITY_EXCLUDED, Config, identity
from mocose.profiles import load_profile

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "results_d52c9b0"
PROFILE = "smoke"


def by_hand(data: dict) -> str:
    """The run id as docs/results.md defines it: SHA-256 of the JSON with sorted keys, 12 digits."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]


def test_a_run_id_hashes_every_field_but_what_it_is_evaluated_on():
    config = load_profile(PROFILE)
    data = config.to_dict()
    data["eval"].pop("eval_tasks")
    data["eval"].pop("eval_last")
    data["eval"].pop("analysis_splits")
    assert config.digest() == by_hand(data)
    assert config.override({"eval_tasks": "transfer"}).digest() == config.digest()
    assert config.override({"eval_last": True}).digest() == config.digest()
    assert config.override({"analysis_splits": "train,dev,test"}).digest() == config.digest()
    assert config.override({"ema_decay": 0.9}).digest() != config.digest()
    assert IDENTITY_EXCLUDED == ("eval_tasks", "eval_last", "analysis_splits")


def test_a_field_at_its_neutral_value_hashes_as_if_it_were_not_there():
    """An upgrade adds a field whose default keeps the old behaviour: configs at that value keep
    the ids they had before the field existed; any other value is a new run."""
    data = load_profile(PROFILE).to_dict()
    before = {concern: dict(values) if isinstance(values, dict) else values for concern, values in data.items()}
    before["eval"].pop("eval_tasks")
    before["eval"].pop("eval_last")
    before["eval"].pop("analysis_splits")
    del before["train"]["compile"]  # as if `compile` had not existed yet
    neutral = {"compile": data["train"]["compile"]}
    assert by_hand(identity(data, IDENTITY_EXCLUDED, neutral)) == by_hand(before)
    moved = dict(data, train=dict(data["train"], compile="on" if data["train"]["compile"] != "on" else "off"))
    assert by_hand(identity(moved, IDENTITY_EXCLUDED, neutral)) != by_hand(before)


def test_the_fixture_ids_are_todays_ids():
    files = sorted((FIXTURE / PROFILE / "runs").glob("*.json"))
    assert len(files) == 6
    for path in files:
        record = json.loads(path.read_text())
        assert Config.from_dict(record["config"]).digest() == record["run_id"] == path.stem
    wanted = {c.digest() for _, c in ablations.get("table3").configs(PROFILE, 1)}
    assert wanted == {p.stem for p in files}


@pytest.fixture
def old_results(tmp_path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "results")
    return tmp_path / "results"


def test_results_of_d52c9b0_are_reused_with_nothing_trained(old_results, tmp_path, capsys):
    common = ["--profile", PROFILE, "--seeds", "1", "--results", str(old_results), "--quiet"]
    assert main(["reproduce", "table3", *common, "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"to_train": 0, "to_evaluate_only": 0,
                                                   "to_evaluate_more": 0, "done": 6}
    before = {p.name: p.read_bytes() for p in (old_results / PROFILE / "runs").glob("*.json")}
    # table3 and ema_curve in one call: nothing trains (ema_curve's runs are table3's), and each
    # gets its report
    assert main(["reproduce", "table3", "ema_curve", *common, "--plots", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    assert "0 to run" in out and "to train" not in out.replace("(0 to train", "")
    after = {p.name: p.read_bytes() for p in (old_results / PROFILE / "runs").glob("*.json")}
    assert after == before  # no run file written or rewritten
    for name in ("table3", "ema_curve"):
        assert (old_results / PROFILE / "reports" / f"{name}.md").is_file()
        assert f"report {name} [{PROFILE}]:" in out


def test_a_report_that_cannot_be_built_fails_the_command(old_results, tmp_path, monkeypatch, capsys):
    from mocose.report import build as build_module

    def broken(*args, **kwargs):
        raise RuntimeError("the figure could not be drawn")

    monkeypatch.setattr(build_module, "build", broken)
    code = main(["reproduce", "table3", "--profile", PROFILE, "--seeds", "1", "--results", str(old_results),
                 "--quiet", "--plots", str(tmp_path / "plots")])
    assert code == 1
    assert "the report of table3 failed: RuntimeError: the figure could not be drawn" in capsys.readouterr().err
