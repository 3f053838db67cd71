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


def test_the_report_names_the_environments_and_flags_a_cell_of_mixed_ones(tmp_path):
    """table3's runs made by d52c9b0 (no environment recorded) and a second seed of one cell made
    under another torch: the page names both environments and flags that cell, one line."""
    import json
    import shutil

    from mocose.config import Config
    from mocose.report.build import build

    fixture = Path(__file__).resolve().parent / "fixtures" / "results_d52c9b0"
    results = tmp_path / "results"
    shutil.copytree(fixture, results)
    first = json.loads(sorted((results / "smoke" / "runs").glob("*.json"))[0].read_text())
    config = Config.from_dict(first["config"])
    config = config.override({"seed": config.train.seed + 1})
    second = dict(first, run_id=config.digest(), seed=config.train.seed, config=config.to_dict(),
                  environment=environment({"torch": "2.4.0", "transformers": "4.40.0", "mocose": "0.1.0"}, None, {}))
    (results / "smoke" / "runs" / f"{config.digest()}.json").write_text(json.dumps(second))
    build(["table3"], "smoke", results, tmp_path / "plots")
    page = (results / "smoke" / "reports" / "table3.md").read_text()
    key = environment_key(second["environment"])
    assert f"{key} (1 run)" in page and "not recorded (6 runs)" in page
    flagged = [line for line in page.splitlines() if "seeds from 2 environments" in line]
    assert len(flagged) == 1 and key in flagged[0] and "not recorded" in flagged[0]
    data = json.loads((results / "smoke" / "reports" / "table3.json").read_text())
    assert data["environments"] == {key: 1, "not recorded": 6}
