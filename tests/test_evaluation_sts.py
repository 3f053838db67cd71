"""STS readers and aggregation against hand-worked figures and naive recomputation."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from mocose.config import ConfigError
from mocose.data import DataError, write_manifest
from mocose.evaluation import evaluate, parse_tasks
from mocose.evaluation.readers import read_sick, read_stsb, read_sts_subset
from mocose.evaluation.sts import aggregate, cosine_rows
from mocose.evaluation.tasks import STS_SUBSETS, TASKS


@pytest.fixture(scope="module")
def tiny_encoder():
    from mocose.model.encoders import load
    from mocose.evaluation import SentenceEncoder

    model, tokenizer = load("tiny-random-bert")
    return SentenceEncoder(model, tokenizer, pooler="avg", batch_size=4)


def write_sts_subset(folder, name, pairs, golds):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"STS.input.{name}.txt").write_text("".join(f"{a}\t{b}\n" for a, b in pairs), encoding="utf8")
    (folder / f"STS.gs.{name}.txt").write_text("".join(f"{g}\n" for g in golds), encoding="utf8")


def test_gold_empty_pairs_are_dropped_and_text_is_whitespace_normalised(tmp_path):
    write_sts_subset(tmp_path, "x", [("a  b", "c"), ("d", "e\tf"), ("g", "h")], ["1.5", "", "4"])
    with pytest.raises(DataError, match=r"STS.input.x.txt:2: expected 2 tab-separated"):
        read_sts_subset(tmp_path, "x")
    write_sts_subset(tmp_path, "y", [("a  b ", "c"), ("d", "e"), ("g", " h")], ["1.5", "", "4"])
    p = read_sts_subset(tmp_path, "y")
    assert p.a == ("a b", "g") and p.b == ("c", "h")
    assert p.gold.tolist() == [1.5, 4.0]


def test_malformed_and_missing_files_name_file_and_line(tmp_path):
    write_sts_subset(tmp_path, "z", [("a", "b"), ("c", "d")], ["1", "x2"])
    with pytest.raises(DataError, match=r"STS.gs.z.txt:2: gold score 'x2' is not a number"):
        read_sts_subset(tmp_path, "z")
    bad = tmp_path / "sts-test.csv"
    bad.write_text("g\tf\ty\t1\t3.0\ta b\tc d\ng\tf\ty\t2\t3.0\tonly six\n")
    with pytest.raises(DataError, match=r"sts-test.csv:2: expected at least 7"):
        read_stsb(bad)
    sick = tmp_path / "SICK_test.txt"
    sick.write_text("pair_ID\tA\tB\tscore\n1\ta\tb\t4.5\n2\tc\td\tfour\n")
    with pytest.raises(DataError, match=r"SICK_test.txt:3: relatedness score 'four'"):
        read_sick(sick)
    with pytest.raises(DataError, match=r"STS.input.missing.txt does not exist"):
        read_sts_subset(tmp_path, "missing")


def test_stsb_and_sick_columns(tmp_path):
    f = tmp_path / "sts-dev.csv"
    f.write_text("main\tMSRvid\t2012\t1\t2.5\ta  girl .\ta boy .\textra\n")
    p = read_stsb(f)
    assert (p.a, p.b, p.gold.tolist()) == (("a girl .",), ("a boy .",), [2.5])
    s = tmp_path / "SICK_trial.txt"
    s.write_text("pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment\n7\tA x\tB y\t3.3\tNEUTRAL\n")
    p = read_sick(s)
    assert (p.a, p.b, p.gold.tolist()) == (("A x",), ("B y",), [3.3])


def test_all_is_the_spearman_of_the_concatenation_not_the_mean():
    # Each subset is perfectly ranked (Spearman 1), but the concatenation is not: with ranks
    # x = 1..6 and y = (1.5, 3.5, 5.5, 1.5, 3.5, 5.5), r = 8 / sqrt(17.5 * 16).
    sims = [np.array([0.1, 0.2, 0.3]), np.array([0.7, 0.8, 0.9])]
    golds = [np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])]
    res = aggregate(["A", "B"], sims, golds)
    assert res["mean"]["spearman"] == pytest.approx(100.0)
    assert res["score"] == res["all"]["spearman"] == pytest.approx(100 * 8 / np.sqrt(17.5 * 16))
    assert res["all"]["n"] == 6


def test_wmean_weights_by_pair_count():
    sims = [np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.3, 0.2, 0.1])]
    golds = [np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0])]
    res = aggregate(["A", "B"], sims, golds)
    assert res["wmean"]["spearman"] == pytest.approx((4 * 100 + 3 * -100) / 7)
    assert res["mean"]["spearman"] == pytest.approx(0.0)


def test_cosine_of_zero_vector_is_zero_as_in_senteval():
    x = np.array([[0.0, 0.0], [1.0, 0.0]])
    y = np.array([[1.0, 1.0], [1.0, 1.0]])
    assert cosine_rows(x, y) == pytest.approx([0.0, 1 / np.sqrt(2)])


def test_unknown_task_lists_valid_ones():
    with pytest.raises(ConfigError) as err:
        parse_tasks("STS12,STS17")
    assert "STS17" in str(err.value) and all(t in str(err.value) for t in TASKS)
    assert parse_tasks("sts") == list(TASKS)[:7]
    assert parse_tasks(["MRPC", "stsbenchmark", "STS12"]) == ["STS12", "STSBenchmark", "MRPC"]
    assert parse_tasks("transfer,all") == list(TASKS)


def test_sts_year_end_to_end_matches_naive_recomputation(tmp_path, tiny_encoder):
    """STS13 from hand-made files: gold-empty pairs are dropped, and every figure equals a
    recomputation from one-sentence-at-a-time embeddings."""
    year = tmp_path / "senteval" / "STS" / "STS13-en-test"
    rng = np.random.default_rng(0)
    words = "the a cat dog runs sleeps on mat under table red big small".split()
    data = {}
    for name in STS_SUBSETS["STS13"]:
        pairs = [(" ".join(rng.choice(words, rng.integers(2, 9))), " ".join(rng.choice(words, rng.integers(2, 9))))
                 for _ in range(12)]
        golds = [f"{g:.2f}" for g in rng.uniform(0, 5, 12)]
        golds[3] = ""
        write_sts_subset(year, name, pairs, golds)
        data[name] = [(a, b, float(g)) for (a, b), g in zip(pairs, golds) if g]
    write_manifest(tmp_path / "senteval")  # hand-made files, not SentEval's: declared by md5
    res = evaluate(tiny_encoder, "STS13", tmp_path, progress=False)["tasks"]["STS13"]
    single = lambda s: tiny_encoder.encode([s])[0]
    sims, golds = [], []
    for name in STS_SUBSETS["STS13"]:
        tiny_encoder.clear_cache()
        s = np.array([np.dot(single(a), single(b)) / np.linalg.norm(single(a)) / np.linalg.norm(single(b))
                      for a, b, _ in data[name]])
        g = np.array([x[2] for x in data[name]])
        assert res["subsets"][name]["n"] == 11
        assert res["subsets"][name]["spearman"] == pytest.approx(100 * spearmanr(s, g)[0], abs=1e-6)
        sims.append(s)
        golds.append(g)
    assert res["score"] == pytest.approx(100 * spearmanr(np.concatenate(sims), np.concatenate(golds))[0], abs=1e-6)
    json.dumps(res)  # the result is plain JSON


def test_correlations_match_scipy_with_ties_and_constants():
    """The suite's own Pearson/Spearman against scipy.stats, the independent reference."""
    import warnings

    from scipy.stats import pearsonr, spearmanr

    from mocose.evaluation.sts import correlations

    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.integers(0, 6, 200).astype(float)  # many ties, like gold scores
        y = x + rng.normal(0, 2, 200).round(1)
        got = correlations(y, x)
        assert got["spearman"] == pytest.approx(100 * spearmanr(y, x)[0], abs=1e-9)
        assert got["pearson"] == pytest.approx(100 * pearsonr(y, x)[0], abs=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(correlations(np.ones(5), np.arange(5.0))["spearman"])
