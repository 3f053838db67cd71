"""``--classifier-seeds N``: the transfer classifier refitted with N seeds; its mean and std are
those of N single-seed fits, and the task's own score stays SentEval's seed 1111."""
from __future__ import annotations

import statistics

import pytest
import torch

import test_evaluation_classifiers as classifiers_tests
from test_evaluation_classifiers import BagOfWords


def write_trec(folder) -> None:
    """A small TREC (3 classes with a noisy cue word), declared by md5 as hand-made files."""
    classifiers_tests.write_trec(folder, 0, sizes=(60, 30), cue_rate=0.6)


@pytest.fixture
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_n_classifier_seeds_give_the_mean_and_std_of_n_single_seed_fits(tmp_path, one_thread):
    from mocose.evaluation.classifier_seeds import format_spread
    from mocose.evaluation.run import evaluate
    from mocose.evaluation.transfer import evaluate_transfer_task

    write_trec(tmp_path)
    enc = BagOfWords()
    out = evaluate(enc, "TREC", tmp_path, progress=False, classifier_seeds=3)
    task = out["tasks"]["TREC"]
    singles = [evaluate_transfer_task(enc, "TREC", tmp_path, seed=s) for s in (1111, 1112, 1113)]
    acc, dev = [r["acc"] for r in singles], [r["devacc"] for r in singles]
    assert len(set(acc + dev)) > 2  # the seeds do move the figures, so the spread is not trivially 0
    spread = task["classifier_seeds"]
    assert spread["seeds"] == [1111, 1112, 1113]
    assert spread["acc"] == acc and spread["devacc"] == dev
    assert spread["acc_spread"]["mean"] == pytest.approx(statistics.mean(acc), abs=1e-9)
    assert spread["acc_spread"]["std"] == pytest.approx(statistics.stdev(acc), abs=1e-9)
    assert spread["devacc_spread"]["mean"] == pytest.approx(statistics.mean(dev), abs=1e-9)
    assert spread["devacc_spread"]["std"] == pytest.approx(statistics.stdev(dev), abs=1e-9)
    # the task's own figures are seed 1111's, as without the option: the paper's number is unchanged
    assert (task["score"], task["devacc"]) == (singles[0]["acc"], singles[0]["devacc"])
    assert out["avg"]["transfer"] == singles[0]["acc"]
    rows = {line.split("|")[0].strip(): line.split("|")[1].strip() for line in format_spread(out).splitlines()[3:]}
    assert rows["test mean"] == "%.2f" % statistics.mean(acc) and rows["dev std"] == "%.2f" % statistics.stdev(dev)


def test_one_classifier_seed_adds_nothing_and_zero_is_refused(tmp_path, one_thread):
    from mocose.config import ConfigError
    from mocose.evaluation.classifier_seeds import seeds
    from mocose.evaluation.run import evaluate

    write_trec(tmp_path)
    out = evaluate(BagOfWords(), "TREC", tmp_path, progress=False)
    assert "classifier_seeds" not in out["tasks"]["TREC"]
    with pytest.raises(ConfigError, match="classifier_seeds"):
        seeds(0)
