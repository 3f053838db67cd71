"""The fast training step on CPU: the compiled step against the eager one, and the loop that reads
the device only at its log points against a step-by-step reference (``pytest -k compile``)."""
import json

import pytest
import torch

from mocose.data import read_sentences, resolve_data_dir, training_file
from mocose.model import encoders
from mocose.model.factory import build_model
from mocose.profiles import load_profile
from mocose.training import loop as loop_mod, validation as validation_mod
from mocose.training.batches import Batches
from mocose.training.optimizer import build_optimizer
from mocose.training.step import TrainStep, compile_enabled, compiled_graphs

SMALL = {"train_sentences": 160, "batch_size": 8, "eval_steps": 10, "max_steps": 20, "queue_size": 32}


def eager_and_compiled_losses(config, steps: int) -> tuple[list[float], list[float], int, int]:
    """Per-step losses of the same seeded run, eager then compiled, on batches padded to the
    maximum length; and the graphs compiled by step 2 and by the last step."""
    sentences = read_sentences(training_file(resolve_data_dir(None), config.train.train_file,
                                             config.train.train_sentences), config.train.train_sentences)
    runs: list[list[float]] = []
    graphs = []
    for compiled in (False, True):
        torch.manual_seed(0)
        encoder, tokenizer = encoders.load(config.model.encoder)
        model = build_model(encoder, config, torch.Generator().manual_seed(0)).train()
        if compiled:
            model.compile_encoder_passes()
        step_once = TrainStep(model, build_optimizer(model, config), config, steps, "cpu")
        batches = Batches(sentences, tokenizer, config, pad_to_max=True)
        start, losses = compiled_graphs(), []
        for s in range(1, steps + 1):
            losses.append(float(step_once(s, batches.batch(s)).loss))
            if s == 2:
                graphs.append(compiled_graphs() - start)
        graphs.append(compiled_graphs() - start)
        runs.append(losses)
    return runs[0], runs[1], graphs[2], graphs[3]


def test_compiled_step_equals_the_eager_step_with_dropout():
    """20 MoCoSE steps of the tiny random BERT, dropout on: the compiled step draws eager's masks
    (inductor's fallback_random) and gives its losses to 1e-5; no graph is added after step 2
    (one per encoder: online and target)."""
    eager, compiled, by_step_2, by_end = eager_and_compiled_losses(load_profile("smoke").override(SMALL), 20)
    assert max(abs(a - b) for a, b in zip(eager, compiled)) < 1e-5
    assert len(set(eager)) > 10  # a real trajectory, not a constant
    assert by_step_2 == by_end == 2


def test_compile_is_on_for_cuda_only_by_default():
    auto = load_profile("smoke")
    assert compile_enabled(auto, "cuda:0") and not compile_enabled(auto, "cpu")
    assert compile_enabled(auto.override({"compile": "on"}), "cpu")
    assert not compile_enabled(auto.override({"compile": "off"}), "cuda:1")


def test_a_compiled_run_records_its_graphs(tmp_path, monkeypatch):
    monkeypatch.setattr(validation_mod, "VALIDATION_SAMPLE", 32)
    config = load_profile("smoke").override({**SMALL, "max_steps": 4, "eval_steps": 4, "compile": "on"})
    torch._dynamo.reset()  # graphs an earlier test compiled would be reused, and not counted
    summary = loop_mod.train(config, tmp_path / "run", progress=False)
    assert summary["compile"] == {"enabled": True, "graphs": 2}
    assert summary["attention"] == "sdpa"
    assert json.loads((tmp_path / "run" / "train.json").read_text())["compile"]["enabled"] is True


def test_the_loop_reads_the_loss_only_where_it_logs(tmp_path, monkeypatch):
    """Log every 5 steps, validate every 10: the device is read at steps 5, 10, 15, 20 only, and
    what is logged is what a step-by-step loop that reads every loss gives at those steps."""
    monkeypatch.setattr(validation_mod, "VALIDATION_SAMPLE", 32)
    monkeypatch.setattr(loop_mod, "LOG_EVERY", 5)
    read_at = []
    real = loop_mod._step_record
    monkeypatch.setattr(loop_mod, "_step_record", lambda run, step, out: read_at.append(step) or real(run, step, out))
    config = load_profile("smoke").override(SMALL)
    loop_mod.train(config, tmp_path / "run", progress=False)
    assert read_at == [5, 10, 15, 20]
    logged = {r["step"]: r["loss"] for r in map(json.loads, (tmp_path / "run" / "metrics.jsonl").read_text().splitlines())}

    run = loop_mod._prepare(config, tmp_path / "ref", resolve_data_dir(None), "cpu", False)
    step_once = TrainStep(run.model, run.optimizer, config, run.total, "cpu")
    reference = {s: float(step_once(s, run.batches.batch(s)).loss) for s in range(1, 21)}
    assert sorted(logged) == [5, 10, 15, 20]
    # the validations in between draw nothing from the training generators: the same numbers
    assert all(logged[s] == pytest.approx(reference[s], abs=1e-6) for s in logged)


def test_the_gpu_step_benchmark_runs_and_writes_its_figures(tmp_path):
    """benchmarks/gpu_step.py on the CPU at its smallest: every figure it promises is in the JSON."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_step.py"
    out = tmp_path / "gpu_step.json"
    done = subprocess.run([sys.executable, str(script), "--device", "cpu", "--encoder", "tiny-random-bert",
                           "--steps", "2", "--warmup", "1", "--settings", "eager-fp32", "--quality-steps", "2",
                           "--quality-seeds", "1", "--quality-encoder", "tiny-random-bert", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    (row,) = result["steps"]
    assert row["setting"] == "eager-fp32" and row["steps"] == 2 and row["ms_median"] > 0 and row["validation_s"] > 0
    q = result["quality"]
    assert q["fastest"] == "eager-fp32" and len(q["runs"]) == 2 and q["runs"][0]["curve"][-1][0] == 2
    assert q["within_seed_noise"] is (q["fp32_range"][0] <= q["fast_mean_final"] <= q["fp32_range"][1])
