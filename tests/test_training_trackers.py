"""``--report-to``: each tracker, read back with its own reader offline, holds the losses of
metrics.jsonl at their steps, plus the final scores; a missing tracker package is one line."""
from __future__ import annotations

import importlib.util
import json
import os
import struct
import time
from pathlib import Path

import pytest

from mocose.cli import main
from mocose.training import loop as loop_mod, trackers, validation as validation_mod

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MOCOSE_DATA") or ROOT.parent / "shared" / "data")
# 4 steps on 32 sentences, every step logged, validated at step 4: seconds
SMALL = {"train_sentences": 32, "batch_size": 8, "eval_steps": 4, "max_steps": 4, "queue_size": 16, "seed": 7}
SETS = [x for k, v in SMALL.items() for x in ("--set", f"{k}={v}")]

pytestmark = pytest.mark.skipif(not (DATA / "senteval" / "STS" / "STSBenchmark").is_dir(),
                                reason="needs the SentEval data folder")


def needs(package: str):
    return pytest.mark.skipif(importlib.util.find_spec(package) is None, reason=f"{package} is not installed")


@pytest.fixture(autouse=True)
def small_run(monkeypatch):
    monkeypatch.setattr(validation_mod, "VALIDATION_SAMPLE", 32)
    monkeypatch.setattr(loop_mod, "LOG_EVERY", 1)


def wandb_records(path: Path):
    """The protobuf records of a wandb run file (``run-<id>.wandb``), in order. Its framing is
    LevelDB's log format, as wandb writes it: a 7-byte header (``:W&B``, magic 0xBEE1, version),
    then 32 KiB blocks of chunks, each with a 7-byte header (crc32, length, type 1 full / 2 first /
    3 middle / 4 last); a block's tail shorter than a header is padding. The records are parsed with
    wandb's own protobuf definitions (wandb 0.31 ships no Python reader of the file)."""
    data = path.read_bytes()
    assert struct.unpack("<4sH", data[:6]) == (b":W&B", 0xBEE1)
    pos, parts = 7, b""
    while pos + 7 <= len(data):
        left = 32768 - pos % 32768
        crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if left < 7 or (length, kind) == (0, 0):  # block padding
            pos += left
            continue
        parts += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            yield parts
            parts = b""


def train_with(tracker: str, out: Path, capsys) -> dict[int, float]:
    """Train the tiny run with ``--report-to tracker``; metrics.jsonl's loss per step."""
    code = main(["train", "--profile", "smoke", "--out", str(out), "--data", str(DATA), "--quiet",
                 "--report-to", tracker, *SETS])
    capsys.readouterr()
    assert code == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 5))
    return {r["step"]: r["loss"] for r in records}, json.loads((out / "train.json").read_text())


@needs("tensorboard")
def test_tensorboard_event_files_hold_the_losses_of_metrics_jsonl(tmp_path, capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    losses, summary = train_with("tensorboard", out, capsys)
    folder = out / "runs" / "train" / "run" / "seed7"  # <out>/runs/<artifact>/<cell>/seed<N>
    acc = EventAccumulator(str(folder))
    acc.Reload()
    events = acc.Scalars("train/loss")
    assert {e.step: e.value for e in events} == pytest.approx(losses, rel=1e-6)  # float32 in the file
    assert {"train/lr", "train/ema_decay", "train/queue_fill", "train/dev_spearman"} <= set(acc.Tags()["scalars"])
    assert acc.Scalars("final/best_score")[0].value == pytest.approx(summary["best_score"], rel=1e-6)


@needs("wandb")
def test_wandb_offline_run_holds_the_losses_of_metrics_jsonl(tmp_path, capsys, monkeypatch):
    from wandb.proto import wandb_internal_pb2

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    losses, summary = train_with("wandb", tmp_path / "run", capsys)
    (run_file,) = (tmp_path / "wandb").glob("offline-run-*/run-*.wandb")
    for _ in range(600):  # wandb's service may still be writing the file: wait for its exit record
        records = [wandb_internal_pb2.Record.FromString(data) for data in wandb_records(run_file)]
        if any(r.WhichOneof("record_type") == "exit" for r in records):
            break
        time.sleep(0.1)
    history, final, run_info = {}, {}, None
    for record in records:
        kind = record.WhichOneof("record_type")
        if kind == "history":
            items = {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item}
            if "train/loss" in items:
                history[items["_step"]] = items["train/loss"]
        elif kind == "summary":
            final.update({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.summary.update})
        elif kind == "run":
            run_info = record.run
    assert history == pytest.approx(losses, rel=1e-12), (history, losses)
    assert final["final/best_score"] == pytest.approx(summary["best_score"], rel=1e-12)
    assert (run_info.display_name, run_info.run_group) == ("train/run/seed7", "train")


@needs("mlflow")
def test_mlflow_file_store_run_holds_the_losses_of_metrics_jsonl(tmp_path, capsys, monkeypatch):
    from mlflow.tracking import MlflowClient

    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3.x keeps the file store behind this
    losses, summary = train_with("mlflow", tmp_path / "run", capsys)
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("train").experiment_id])
    assert run.info.run_name == "train/run/seed7" and run.info.status == "FINISHED"
    history = client.get_metric_history(run.info.run_id, "train/loss")
    assert {m.step: m.value for m in history} == pytest.approx(losses, rel=1e-12)
    assert run.data.metrics["final/best_score"] == pytest.approx(summary["best_score"], rel=1e-12)
    assert run.data.params["seed"] == "7"


def test_a_missing_tracker_package_is_one_line_naming_the_extra(capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(SystemExit) as stop:
        main(["train", "--profile", "smoke", "--out", "never-made", "--report-to", "wandb"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and not Path("never-made").exists()
    assert err.strip().splitlines() == ["mocose: error: --report-to wandb needs the wandb package: "
                                        "pip install 'mocose[wandb]'"]


def test_records_give_their_finite_numbers_only():
    record = {"step": 3, "loss": 1.5, "collapsed": False, "selection": "stsb_dev", "score": float("nan"), "lr": 2}
    assert trackers.scalars(record) == {"loss": 1.5, "collapsed": 0.0, "lr": 2.0}


@needs("tensorboard")
def test_a_reproduce_job_s_tracker_is_named_by_artifact_cell_and_seed(tmp_path):
    """The job spec's entry names the run <artifact>/<cell>/seed<N> and puts TensorBoard's files
    under the results' profile folder (a run's work folder is removed when it ends)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from mocose.profiles import load_profile

    config = load_profile("smoke").override({"seed": 3})
    entry = trackers.spec_entry("tensorboard", "table1", ["MoCoSE"], tmp_path / "smoke")
    tracker = trackers.open_from_spec(entry, config)
    tracker.log({"step": 1, "loss": 2.5})
    tracker.log_final({"avg_sts": 70.0})
    tracker.close()
    acc = EventAccumulator(str(tmp_path / "smoke" / "tensorboard" / "table1" / "MoCoSE" / "seed3"))
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("train/loss")] == [(1, 2.5)]
    assert trackers.spec_entry("none", "table1", ["MoCoSE"], tmp_path) is None


def test_reproduce_takes_report_to():
    from mocose.cli import build_parser

    assert build_parser().parse_args(["reproduce", "table1", "--report-to", "none"]).report_to == "none"
