"""A saved checkpoint read by sentence-transformers gives the suite's embedding; eval uses the pooling a folder declares.

Every probe runs the real command (``mocose.cli.main``) and checks the message, the exit status
and that nothing was written (tests/faults_support.py)."""
from __future__ import annotations

import json
import shutil

import numpy as np

from faults_support import NEEDS_DATA, offline, cli, small_stsb, trained  # noqa: F401 (fixtures)
from mocose.model import encoders

pytestmark = NEEDS_DATA


def test_sentence_transformers_reads_a_checkpoint_as_the_papers_embedding(trained):
    """SentenceTransformer(checkpoint).encode equals the suite's cls_before_pooler vectors."""
    from sentence_transformers import SentenceTransformer

    from mocose.evaluation import SentenceEncoder

    sentences = ["a man is playing a guitar .", "two dogs run through the snow on a cold day",
                 "the cat sleeps"]
    model, tokenizer = encoders.load(str(trained / "best"))
    ours = SentenceEncoder(model, tokenizer, pooler="cls_before_pooler").encode(sentences)
    theirs = SentenceTransformer(str(trained / "best"), device="cpu").encode(sentences)
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-5)
    mean = SentenceEncoder(model, tokenizer, pooler="avg").encode(sentences)
    assert not np.allclose(theirs, mean, atol=1e-3)  # it is not sentence-transformers' default


def test_eval_uses_the_pooling_a_folder_declares_and_says_which(tmp_path, capsys, trained):
    folder = tmp_path / "st"
    shutil.copytree(trained / "best", folder)
    data = small_stsb(tmp_path / "data")
    code, out, _ = cli(capsys, "eval", folder, "--tasks", "STSBenchmark", "--data", data)
    assert code == 0 and "pooler: cls_before_pooler (declared by the folder's sentence-transformers" in out
    pooling = folder / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_cls_token=False, pooling_mode_mean_tokens=True)
    pooling.write_text(json.dumps(config))
    code, out, _ = cli(capsys, "eval", folder, "--tasks", "STSBenchmark", "--out", tmp_path / "r.json",
                       "--data", data)
    assert code == 0 and "pooler: avg (declared" in out
    assert json.loads((tmp_path / "r.json").read_text())["pooler"] == "avg"
    code, out, _ = cli(capsys, "eval", folder, "--tasks", "STSBenchmark", "--pooler", "cls_before_pooler",
                       "--data", data)
    assert code == 0 and "pooler:" not in out and "(cls_before_pooler" in out
    pooling.write_text(json.dumps({"embedding_dimension": 32, "pooling_mode": "mean"}))  # v6 keys
    assert encoders.choose_pooler(str(folder)) == ("avg", "declared by the folder's sentence-transformers Pooling config")
