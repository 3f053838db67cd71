"""Alignment, uniformity and the singular spectrum against direct formulas."""
from __future__ import annotations

import numpy as np
import pytest

from mocose.evaluation.analysis import alignment, uniformity


@pytest.mark.parametrize("chunk", [7, 49, 50, 2048])  # blocks of the upper triangle, ragged or whole
def test_alignment_and_uniformity_match_the_definitions(chunk):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6))
    y = x + 0.1 * rng.normal(size=(50, 6))
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    v = y / np.linalg.norm(y, axis=1, keepdims=True)
    assert alignment(x, y) == pytest.approx(np.mean(np.sum((u - v) ** 2, axis=1)))
    d2 = [np.sum((u[i] - u[j]) ** 2) for i in range(50) for j in range(i + 1, 50)]
    assert uniformity(x, chunk=chunk) == pytest.approx(np.log(np.mean(np.exp(-2 * np.array(d2)))))


def test_uniformity_extremes():
    # all identical: every distance 0 -> log 1 = 0; two antipodal points: exp(-2 * 4) -> -8
    assert uniformity(np.ones((5, 3))) == pytest.approx(0.0, abs=1e-6)  # float32 distances
    assert uniformity(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(-8.0)


def test_the_analysis_reads_the_splits_it_is_told(tmp_path):
    """analysis_splits=dev: alignment over dev's pairs scored >= 4, uniformity and the spectrum over
    dev's distinct sentences (read here from the CSV), each recomputed from the encoder's vectors."""
    import os
    from pathlib import Path

    from mocose.evaluation.trained import evaluate_checkpoint
    from mocose.model import encoders
    from mocose.evaluation.encode import SentenceEncoder
    from mocose.profiles import load_profile

    data = Path(os.environ["MOCOSE_DATA"])
    config = load_profile("smoke").override({"analysis_splits": "dev", "eval_tasks": "STSBenchmark"})
    got = evaluate_checkpoint(config, "tiny-random-bert", data_dir=data, progress=False, analyse=True).analysis
    with open(data / "senteval/STS/STSBenchmark/sts-dev.csv", encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    pairs = [(r[5], r[6], float(r[4])) for r in rows]
    sentences = list(dict.fromkeys(s for a, b, _ in pairs for s in (a, b)))
    positive = [(a, b) for a, b, g in pairs if g >= 4.0]
    model, tokenizer = encoders.load("tiny-random-bert")
    enc = SentenceEncoder(model, tokenizer, pooler=config.eval.eval_pooler, batch_size=128)
    vectors = enc.encode(sentences).astype(np.float64)
    assert got["splits"] == ["dev"] and got["n_sentences"] == len(sentences) == len(vectors)
    assert got["n_positive_pairs"] == len(positive)
    # The random encoder's vectors nearly coincide (uniformity ~ -4e-5, the log of a mean near 1),
    # so float32 encoding noise moves it at 1e-5 relative; the sentence count fixes which split.
    assert got["uniformity"] == pytest.approx(uniformity(vectors), rel=1e-3)
    assert got["alignment"] == pytest.approx(alignment(enc.encode([a for a, _ in positive]),
                                                       enc.encode([b for _, b in positive])), rel=1e-5)
    spectrum = np.linalg.svd(vectors, compute_uv=False)  # the smallest, ~1e-6, at float32's noise
    assert got["singular_values"] == pytest.approx(spectrum.tolist(), rel=1e-6, abs=1e-6 * spectrum[0])
