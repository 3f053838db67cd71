"""Device strings normalised at the edge, GPU slots, and refusals before any work (no GPU needed:
CUDA is simulated where a test needs one)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mocose.config import ConfigError
from mocose.device import parse_device, resolve_device
from mocose.runner.slots import DEFAULT_GPU_SLOTS, available_cores, gpu_share, parse_devices

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def two_gpus(monkeypatch):
    """A machine with GPUs 0 and 1 whose current device is 1."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)


def test_device_strings_normalise_to_cpu_or_an_indexed_gpu(two_gpus):
    assert resolve_device("cpu") == resolve_device(" CPU ") == "cpu"
    assert resolve_device("cuda") == "cuda:1"  # the current device, as torch means it
    assert resolve_device("cuda:0") == "cuda:0"
    assert resolve_device(torch.device("cuda", 0)) == "cuda:0"
    assert resolve_device(None) == "cuda:1"  # the default where there is a GPU
    assert resolve_device(resolve_device("cuda")) == "cuda:1"  # idempotent: safe at every edge
    with pytest.raises(ConfigError, match="no GPU 2 here"):
        resolve_device("cuda:2")


def test_bad_or_unavailable_devices_are_refused(no_cuda):
    assert resolve_device(None) == "cpu"
    for bad in ("banana", "gpu", "cuda:", "cuda:x", "mps0", ""):
        with pytest.raises(ConfigError, match="device must be 'cpu', 'cuda'"):
            parse_device(bad) if bad else parse_device("  ")
    for text in ("cuda", "cuda:0"):
        with pytest.raises(ConfigError, match="no CUDA GPU is available here"):
            resolve_device(text)


def test_gpu_slots_several_jobs_per_gpu(two_gpus, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    slots = parse_devices("cuda:0x4,cuda:1x2")
    assert [s.label for s in slots] == ["cuda:0"] * 4 + ["cuda:1"] * 2
    assert [s.env["CUDA_VISIBLE_DEVICES"] for s in slots] == ["0"] * 4 + ["1"] * 2
    assert {s.device for s in slots} == {"cuda:0"}  # each child sees its one GPU as cuda:0
    assert all(s.threads == max(1, available_cores() // 6) for s in slots)
    assert gpu_share(slots) == pytest.approx(1 / 4)  # the Dask resource a job asks for
    assert gpu_share(parse_devices("cpu:2")) == 0.0
    # No K: the default number of jobs a GPU; 'cuda' is the current GPU (1 here).
    default = parse_devices("cuda")
    assert [s.label for s in default] == ["cuda:1"] * DEFAULT_GPU_SLOTS
    assert len(parse_devices("cuda:0x1")) == 1
    # Inside CUDA_VISIBLE_DEVICES=5,7 this process's cuda:1 is the machine's GPU 7.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    assert {s.env["CUDA_VISIBLE_DEVICES"] for s in parse_devices("cuda:1x2")} == {"7"}
    for bad in ("cuda:2", "cuda:0,cuda:0x3"):
        with pytest.raises(ConfigError):
            parse_devices(bad)


def test_cuda_slots_without_cuda_are_refused_here_but_left_to_dask_workers(no_cuda):
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        parse_devices("cuda:0x2")
    slots = parse_devices("cudax2", local=False)  # a Dask sweep: the workers hold the GPUs
    assert len(slots) == 2 and gpu_share(slots) == 0.5


def run_cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")  # no GPU, whatever the machine
    return subprocess.run([sys.executable, "-m", "mocose", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)


def test_cli_refuses_a_bad_device_before_any_work(tmp_path):
    """One line, exit 2, and nothing written: no run folder, no job launched."""
    for args in (["train", "--profile", "smoke", "--out", "run", "--device", "banana"],
                 ["eval", "tiny-random-bert", "--device", "cuda:0"],
                 ["reproduce", "table3", "--profile", "smoke", "--devices", "cuda:0x2",
                  "--results", "results", "--no-report"]):
        done = run_cli(*args, tmp_path=tmp_path)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mocose: error: device="), lines
    assert not (tmp_path / "run").exists() and not (tmp_path / "results").exists()


def test_precision_is_configuration_recorded_and_set_per_run(tmp_path, monkeypatch):
    """matmul_precision and autocast are validated config fields; a run sets them (bf16 autocast
    works on the CPU too), records them, and a later run with other values sets its own."""
    from mocose.training import loop as train_mod, validation as validation_mod
    from mocose.profiles import load_profile

    with pytest.raises(ConfigError, match="matmul_precision must be one of highest, high, medium"):
        load_profile("smoke").override({"matmul_precision": "tf32"})
    with pytest.raises(ConfigError, match="autocast must be one of none, bf16"):
        load_profile("smoke").override({"autocast": "fp16"})
    monkeypatch.setattr(validation_mod, "VALIDATION_SAMPLE", 32)
    small = {"train_sentences": 16, "batch_size": 8, "eval_steps": 2, "max_steps": 2, "queue_size": 16}
    before = torch.get_float32_matmul_precision()
    try:
        fast = train_mod.train(load_profile("smoke").override({**small, "matmul_precision": "high",
                                                               "autocast": "bf16"}),
                               tmp_path / "fast", device="cpu", progress=False)
        assert torch.get_float32_matmul_precision() == "high"
        assert fast["precision"] == {"matmul_precision": "high", "autocast": "bf16"}
        assert fast["device"] == "cpu" and fast["steps"] == 2 and fast["curve"]
        paper = train_mod.train(load_profile("smoke").override(small), tmp_path / "paper", device="cpu",
                                progress=False)
        assert torch.get_float32_matmul_precision() == "highest"  # not left over from the last run
        assert paper["precision"] == {"matmul_precision": "highest", "autocast": "none"}
    finally:
        torch.set_float32_matmul_precision(before)


def test_deterministic_sets_cublas_workspace_and_is_cleared_by_the_next_run(monkeypatch):
    from mocose.device import CUBLAS_WORKSPACE, set_deterministic

    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    try:
        set_deterministic(True)
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == CUBLAS_WORKSPACE == ":4096:8"
        assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic
        set_deterministic(False)  # a job process's next run, not deterministic
        assert not torch.are_deterministic_algorithms_enabled()
    finally:
        set_deterministic(False)
