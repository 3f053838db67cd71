"""`mocose eval` / `mocose analyze` through their argparse registration, on hand-made files."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from mocose.config import ConfigError
from mocose.data import DataError, write_manifest
from mocose.evaluation import commands


def parser():
    p = argparse.ArgumentParser(prog="mocose")
    commands.register(p.add_subparsers(dest="command"))
    return p


def make_stsb(root, n=40, seed=0):
    rng = np.random.default_rng(seed)
    words = "a man woman plays guitar piano dog runs cat sleeps the on".split()
    folder = root / "senteval" / "STS" / "STSBenchmark"
    folder.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        rows = []
        for i in range(n):
            a = " ".join(rng.choice(words, rng.integers(3, 8)))
            b = " ".join(rng.choice(words, rng.integers(3, 8)))
            rows.append(f"main-captions\tMSRvid\t2012test\t{i:04d}\t{rng.uniform(0, 5):.3f}\t{a}\t{b}\n")
        (folder / f"sts-{split}.csv").write_text("".join(rows))
    write_manifest(root / "senteval")  # hand-made files, not SentEval's: declared by md5
    return root


def test_eval_prints_table_and_writes_json(tmp_path, capsys):
    data = make_stsb(tmp_path / "data")
    out = tmp_path / "res.json"
    args = parser().parse_args(["eval", "tiny-random-bert", "--tasks", "STSBenchmark", "--pooler", "avg",
                                "--data", str(data), "--out", str(out), "--batch-size", "16"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "STS-B" in printed and "SICK-R" in printed and "Avg." in printed
    res = json.loads(out.read_text())
    assert res["pooler"] == "avg" and res["data_dir"] == str(data.resolve())
    assert set(res["tasks"]) == {"STSBenchmark"} and res["tasks"]["STSBenchmark"]["test"]["n"] == 40
    assert res["avg"]["sts"] == res["tasks"]["STSBenchmark"]["score"] and res["avg"]["transfer"] is None
    assert "torch" in res["versions"] and res["wall_time_s"] > 0


def test_analyze_writes_alignment_uniformity_spectrum(tmp_path):
    data = make_stsb(tmp_path / "data")
    out = tmp_path / "an.json"
    args = parser().parse_args(["analyze", "tiny-random-bert", "--data", str(data), "--out", str(out)])
    assert args.func(args) == 0
    res = json.loads(out.read_text())
    assert res["singular_values"][0] == 1.0 and len(res["singular_values"]) == 32
    assert all(a >= b for a, b in zip(res["singular_values"], res["singular_values"][1:]))
    assert 0 <= res["alignment"] <= 4 and -4 <= res["uniformity"] <= 0


def test_unknown_task_and_missing_data_are_clear_errors(tmp_path):
    data = make_stsb(tmp_path / "data")
    args = parser().parse_args(["eval", "tiny-random-bert", "--tasks", "STS17", "--data", str(data)])
    with pytest.raises(ConfigError, match="unknown evaluation task 'STS17'.*STS12"):
        args.func(args)
    args = parser().parse_args(["eval", "tiny-random-bert", "--tasks", "STS12", "--data", str(data)])
    with pytest.raises(DataError, match=r"STS12-en-test/STS.input.MSRpar.txt does not exist"):
        args.func(args)
