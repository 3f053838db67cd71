"""The environment a run records: the data files it read with their md5 (computed here from the
files), the accelerator and the library versions."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
import transformers

from mocose.data import files_read, forget_reads, read_sentences
from mocose.evaluation.readers import read_stsb, read_sts_subset
from mocose.runner.environment import environment, environment_key

DATA = Path(os.environ.get("MOCOSE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_the_files_a_run_reads_are_listed_with_their_md5(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("one sentence\nanother one\n")
    forget_reads()
    read_sentences(corpus)
    dev = DATA / "senteval" / "STS" / "STSBenchmark" / "sts-dev.csv"
    read_stsb(dev)
    read_stsb(dev)  # a cached read is listed too, once
    sts12 = DATA / "senteval" / "STS" / "STS12-en-test"
    read_sts_subset(sts12, "MSRpar")
    read = files_read()
    assert read == {str(corpus.resolve()): md5(corpus), str(dev.resolve()): md5(dev),
                    str((sts12 / "STS.input.MSRpar.txt").resolve()): md5(sts12 / "STS.input.MSRpar.txt"),
                    str((sts12 / "STS.gs.MSRpar.txt").resolve()): md5(sts12 / "STS.gs.MSRpar.txt")}
    forget_reads()
    assert files_read() == {}


def test_environment_names_the_machine_the_versions_and_the_data(tmp_path):
    corpus = tmp_path / "wiki" / "corpus.txt"
    corpus.parent.mkdir()
    corpus.write_text("x\n")
    env = environment({"torch": torch.__version__, "transformers": transformers.__version__,
                       "mocose": "0.1.0"}, "abc", {str(corpus): md5(corpus)}, tmp_path)
    assert env["data"] == {"wiki/corpus.txt": md5(corpus)}
    assert env["commit"] == "abc" and env["cuda"] == torch.version.cuda
    if not torch.cuda.is_available():
        assert env["gpu"] == "none" and env["gpu_count"] == 0
    key = environment_key(env)
    assert f"torch {torch.__version__}" in key and f"transformers {transformers.__version__}" in key
    other = dict(env, versions=dict(env["versions"], torch="2.4.0"))
    assert environment_key(other) != key and environment_key(None) == "not recorded"
