"""SentEval's three validation schemes: C chosen as specified, and numbers identical to a plain
sequential transcription of SentEval's loops."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from mocose.data import write_manifest
from mocose.evaluation import classifiers as C


class OracleAtC:
    """An estimator whose accuracy is known by construction: it predicts the true label (held in
    column 0) when fitted with C == best, the wrong one otherwise; with C == second it is right on
    rows whose column 1 is positive (half of them)."""

    def __init__(self, c, best, second):
        self.c, self.best, self.second = c, best, second

    def fit(self, X, y):
        return self

    def predict(self, X):
        truth = X[:, 0].astype(int)
        if self.c == self.best:
            return truth
        if self.c == self.second:
            return np.where(X[:, 1] > 0, truth, 1 - truth)
        return 1 - truth

    def score(self, X, y):
        return float(np.mean(self.predict(X) == y))


def oracle(best, second=None):
    return lambda c, seed: OracleAtC(c, best, second)


def data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = np.c_[y, rng.choice([-1.0, 1.0], n), rng.normal(size=(n, 3))]
    return X, y


def test_grids_are_senteval_s():
    assert C.INNER_KFOLD_GRID == (0.25, 0.5, 1, 2, 4, 8)
    assert C.SPLIT_GRID == (0.25, 0.5, 1, 2, 4, 8)
    assert C.KFOLD_GRID == (0.5, 1, 2, 4, 8, 16, 32)


@pytest.mark.parametrize("best", C.INNER_KFOLD_GRID)
def test_inner_kfold_chooses_the_best_c_in_every_fold(best):
    X, y = data()
    res = C.inner_kfold(X, y, k=5, make=oracle(best), n_jobs=1)
    assert res.C == [best] * 5 and res.dev_acc == 100.0 and res.test_acc == 100.0


@pytest.mark.parametrize("best", C.KFOLD_GRID)
def test_kfold_chooses_the_best_c(best):
    X, y = data()
    Xt, yt = data(50, seed=1)
    res = C.kfold(X, y, Xt, yt, k=5, make=oracle(best, second=2.0 if best != 2.0 else 4.0), n_jobs=1)
    assert res.C == best and res.dev_acc == 100.0 and res.test_acc == 100.0
    assert res.dev_scores[16.0 if best != 16.0 else 32.0] == 0.0


def test_split_chooses_c_on_dev_and_ties_go_to_the_smallest():
    X, y = data()
    Xd, yd = data(60, seed=1)
    Xt, yt = data(60, seed=2)
    res = C.split(X, y, Xd, yd, Xt, yt, make=oracle(best=8.0, second=0.5), n_jobs=1)
    assert res.C == 8.0 and res.test_acc == 100.0
    assert res.dev_scores[0.5] == round(100 * np.mean(Xd[:, 1] > 0), 2)
    # two equally good C values: SentEval's argmax keeps the first (smallest)
    tie = lambda c, seed: OracleAtC(c, best=c if c in (1.0, 4.0) else -1, second=None)
    assert C.split(X, y, Xd, yd, Xt, yt, make=tie, n_jobs=1).C == 1.0


def reference_inner_kfold(X, y, k):
    """SentEval's InnerKFoldClassifier loop, sequential, as written there."""
    regs = [2 ** t for t in range(-2, 4)]
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=1111)
    inner = StratifiedKFold(n_splits=k, shuffle=True, random_state=1111)
    dev, test = [], []
    for tr, te in skf.split(X, y):
        Xtr, Xte, ytr, yte = X[tr], X[te], y[tr], y[te]
        scores = []
        for reg in regs:
            s = []
            for a, b in inner.split(Xtr, ytr):
                s.append(LogisticRegression(C=reg, random_state=1111).fit(Xtr[a], ytr[a]).score(Xtr[b], ytr[b]))
            scores.append(round(100 * np.mean(s), 2))
        opt = regs[np.argmax(scores)]
        dev.append(np.max(scores))
        test.append(round(100 * LogisticRegression(C=opt, random_state=1111).fit(Xtr, ytr).score(Xte, yte), 2))
    return round(np.mean(dev), 2), round(np.mean(test), 2)


def reference_kfold(X, y, Xt, yt, k):
    regs = [2 ** t for t in range(-1, 6)]
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=1111)
    scores = []
    for reg in regs:
        s = [LogisticRegression(C=reg, random_state=1111).fit(X[a], y[a]).score(X[b], y[b]) for a, b in skf.split(X, y)]
        scores.append(round(100 * np.mean(s), 2))
    opt = regs[np.argmax(scores)]
    acc = LogisticRegression(C=opt, random_state=1111).fit(X, y).score(Xt, yt)
    return np.max(scores), round(100 * acc, 2), opt


def noisy(n, d, seed, classes=2):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(d, classes))
    X = rng.normal(size=(n, d)) * 0.3
    y = np.argmax(X @ w + rng.normal(scale=1.0, size=(n, classes)), axis=1)
    return X, y


def test_inner_kfold_matches_senteval_loop_with_real_logistic_regression():
    X, y = noisy(150, 8, 0)
    res = C.inner_kfold(X, y, k=3, n_jobs=2)
    assert (res.dev_acc, res.test_acc) == reference_inner_kfold(X, y, 3)


def test_kfold_matches_senteval_loop_with_real_logistic_regression():
    X, y = noisy(160, 6, 1, classes=3)
    Xt, yt = noisy(60, 6, 2, classes=3)
    res = C.kfold(X, y, Xt, yt, k=4, n_jobs=2)
    assert (res.dev_acc, res.test_acc, res.C) == reference_kfold(X, y, Xt, yt, 4)


# --- SentEval's PyTorch path: the batched classifiers against SentEval's one-at-a-time loop -------
import torch  # noqa: E402

from mocose.config import ConfigError  # noqa: E402
from mocose.evaluation import senteval_torch as T  # noqa: E402

from senteval_torch_reference import MLP, PARAMS  # noqa: E402
import senteval_torch_reference as ref  # noqa: E402

# Small data, short runs: SentEval's loop trains one nn.Linear at a time and is slow.
FAST = {**PARAMS, "max_epoch": 16}
FAST_CFG = T.TorchClassifierConfig(kfold=3, max_epoch=16)


@pytest.fixture
def one_thread():
    """SentEval's loop runs thousands of tiny ops: on shared cores a second thread only spins."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def separable(n, d, seed, classes=2):
    """Learnable but not separable data, so dev accuracy moves from check to check."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(d, classes))
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = np.argmax(X @ w + rng.normal(scale=1.5, size=(n, classes)), axis=1)
    return X, y


def as_weights(clf) -> torch.Tensor:
    lin = clf.model[0]
    return torch.cat([lin.weight.T, lin.bias[None]]).detach()


def test_torch_grid_and_parameters_are_senteval_s():
    cfg = T.TorchClassifierConfig()
    assert T.L2_GRID == (1e-5, 1e-4, 1e-3, 1e-2)
    assert (cfg.kfold, cfg.batch_size, cfg.tenacity, cfg.epoch_size, cfg.max_epoch, cfg.seed) == (10, 64, 5, 4, 200, 1111)


def test_starting_weights_are_nn_linear_right_after_the_seed():
    torch.manual_seed(1111)
    lin = torch.nn.Linear(7, 3)
    state = torch.get_rng_state()
    w = T.initial_weights(7, 3, 1111)
    assert torch.equal(w[:7], lin.weight.T) and torch.equal(w[7], lin.bias)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's RNG is left alone


def test_batched_classifiers_match_senteval_one_by_one(one_thread):
    """Streams of unequal length (so some skip the last step of a pass), a dev set or the 5%
    validation split, several L2 values per stream, three classes: every classifier draws SentEval's
    minibatches in SentEval's order, so dev accuracy and the number of dev checks are equal, and
    the weights differ only by float summation order (batched GEMM vs nn.Linear's autograd)."""
    X, y = separable(300, 8, 0, classes=3)
    streams = [T.Stream(np.arange(0, 200), np.arange(200, 300)), T.Stream(np.arange(50, 270)),
               T.Stream(np.arange(0, 170), np.arange(170, 300))]
    l2 = np.array([[1e-5, 1e-2], [1e-3, 1e-4], [1e-2, 1e-5]])
    fit = T.fit_streams(X, y, streams, l2, 3, T.TorchClassifierConfig(max_epoch=40))
    for s, st in enumerate(streams):
        for r in range(2):
            clf = MLP({**PARAMS, "max_epoch": 40}, 8, 3, l2reg=l2[s, r])
            if st.dev is None:
                acc = clf.fit(X[st.train], y[st.train], validation_split=0.05)
            else:
                acc = clf.fit(X[st.train], y[st.train], validation_data=(X[st.dev], y[st.dev]))
            assert fit.dev_acc[s, r] == acc and fit.checks[s, r] == clf.checks
            assert torch.allclose(fit.weights[s, r].T, as_weights(clf), atol=1e-6, rtol=0)


def test_early_stopping_counts_as_senteval_does():
    """With lr 0 nothing moves: the first check improves on -1, then SentEval stops at the first
    non-improving check that finds early_stop_count >= tenacity (the count never resets), i.e. after
    1 + tenacity + 1 checks; without stopping it runs the checks at nepoch 0, 4, ..., max_epoch."""
    X, y = separable(200, 5, 1)
    stream = [T.Stream(np.arange(150), np.arange(150, 200))]
    frozen = T.fit_streams(X, y, stream, np.array([[0.0]]), 2, T.TorchClassifierConfig(lr=0.0, tenacity=3))
    assert frozen.checks[0, 0] == 5
    start = (T._with_ones(X[150:]) @ T.initial_weights(5, 2, 1111)).argmax(1).numpy()
    assert frozen.dev_acc[0, 0] == np.mean(start == y[150:])
    patient = T.fit_streams(X, y, stream, np.array([[0.0]]), 2, T.TorchClassifierConfig(tenacity=10 ** 6, max_epoch=20))
    assert patient.checks[0, 0] == 6


def test_torch_inner_kfold_matches_senteval_loop(one_thread):
    X, y = separable(150, 6, 2)
    res = T.inner_kfold(X, y, FAST_CFG)
    assert (res.dev_acc, res.test_acc) == ref.inner_kfold(X, y, 2, k=3, params=FAST)
    assert len(res.l2reg) == 3 and res.fits == 3 * 3 * 4 + 3


def test_torch_kfold_matches_senteval_loop(one_thread):
    X, y = separable(180, 6, 3, classes=3)
    Xt, yt = separable(60, 6, 4, classes=3)
    res = T.kfold(X, y, Xt, yt, FAST_CFG)
    dev, test, yhat = ref.kfold({"X": X, "y": y}, {"X": Xt, "y": yt}, 3, k=3, params=FAST)
    assert (res.dev_acc, res.test_acc) == (dev, test)
    assert np.array_equal(res.predictions, yhat.ravel())


def test_torch_split_matches_senteval_loop(one_thread):
    X, y = separable(200, 6, 5)
    Xd, yd = separable(80, 6, 6)
    Xt, yt = separable(80, 6, 7)
    res = T.split(X, y, Xd, yd, Xt, yt, FAST_CFG)
    truth = ref.split({"train": X, "valid": Xd, "test": Xt}, {"train": y, "valid": yd, "test": yt}, 2, params=FAST)
    assert (res.dev_acc, res.test_acc) == truth


@pytest.mark.parametrize("field,value", [("tenacity", -1), ("kfold", 1), ("batch_size", 0),
                                         ("validation_split", 1.0), ("l2_grid", ())])
def test_torch_config_errors_name_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        T.TorchClassifierConfig(**{field: value})


class BagOfWords:
    """A stand-in encoder: word counts over a small vocabulary, so the classes are learnable."""

    VOCAB = ("alpha", "beta", "gamma", "delta", "who", "where")
    progress = False

    def encode(self, sentences, desc=None):
        return np.array([[s.split().count(w) for w in self.VOCAB] for s in sentences], dtype=np.float32)


def write_trec(folder, seed, sizes=(42, 18), cue_rate=0.7):
    """A small TREC (3 classes, a cue word in ``cue_rate`` of the questions), declared by md5."""
    rng = np.random.default_rng(seed)
    (folder / "senteval" / "TREC").mkdir(parents=True, exist_ok=True)
    for name, n in zip(("train_5500.label", "TREC_10.label"), sizes):
        lines = []
        for i in range(n):
            cls = ("HUM", "LOC", "NUM")[i % 3]
            words = rng.choice(BagOfWords.VOCAB + ("x", "y"), size=rng.integers(2, 7)).tolist()
            cue = {"HUM": "who", "LOC": "where", "NUM": "gamma"}[cls] if rng.random() < cue_rate else "x"
            lines.append(f"{cls}:sub {' '.join(words + [cue])} ?")
        (folder / "senteval" / "TREC" / name).write_text("\n".join(lines) + "\n", encoding="latin-1")
    write_manifest(folder / "senteval")  # hand-made files, not SentEval's: declared by md5


def test_transfer_task_reports_devacc_and_acc_from_senteval_s_torch_loop(tmp_path, one_thread):
    """End to end on a small TREC: the pytorch path's dev and test accuracy are those of SentEval's
    loop on the same vectors in SentEval's order (the wiring: order, 6 classes, keys). On 42
    sentences a pass is one step and early stopping ends each classifier after a few dozen, so the
    classifiers barely leave their start; learning itself is checked on the synthetic data above."""
    from mocose.evaluation.readers import read_trec
    from mocose.evaluation.transfer import evaluate_transfer_task, senteval_order

    write_trec(tmp_path, 0)
    enc = BagOfWords()
    res = evaluate_transfer_task(enc, "TREC", tmp_path, classifier="pytorch")
    train, test = (read_trec(tmp_path / "senteval" / "TREC" / f) for f in ("train_5500.label", "TREC_10.label"))
    (xtr, ytr), (xte, yte) = senteval_order(train.x, train.y), senteval_order(test.x, test.y)
    dev, test, _ = ref.kfold({"X": enc.encode(xtr), "y": ytr}, {"X": enc.encode(xte), "y": yte}, int(ytr.max()) + 1)
    assert (res["devacc"], res["acc"], res["score"]) == (dev, test, test)
    assert res["classifier"] == "pytorch" and res["l2reg"] in T.L2_GRID
    # the scikit-learn path (its numbers are checked against SentEval's loop above) gains the same keys
    old = evaluate_transfer_task(enc, "TREC", tmp_path, classifier="sklearn", n_jobs=1)
    assert (old["devacc"], old["acc"], old["classifier"]) == (old["dev_acc"], old["score"], "sklearn")
    with pytest.raises(ConfigError, match="classifier"):
        evaluate_transfer_task(enc, "TREC", tmp_path, classifier="svm")


def test_transfer_table_prints_a_dev_row_and_a_test_row():
    from mocose.evaluation.run import format_tables

    tasks = {"MR": {"score": 70.0, "devacc": 71.0, "acc": 70.0}, "SST2": {"score": 80.0, "devacc": 83.0, "acc": 80.0}}
    lines = format_tables({"tasks": tasks, "avg": {}}).splitlines()
    assert lines[0].split("|")[1].strip() == "MR" and "SST" in lines[0]
    assert lines[2].split() == ["dev", "|", "71.00", "|", "-", "|", "-", "|", "-", "|", "83.00", "|", "-", "|", "-",
                                "|", "77.00"]
    assert lines[3].split()[0] == "test" and lines[3].split()[-1] == "75.00"


def test_eval_command_takes_the_classifier_path_pytorch_by_default():
    import argparse

    from mocose.evaluation import commands

    p = argparse.ArgumentParser(prog="mocose")
    commands.register(p.add_subparsers(dest="command"))
    assert p.parse_args(["eval", "m", "--tasks", "transfer"]).classifier == "pytorch"
    assert p.parse_args(["eval", "m", "--classifier", "sklearn"]).classifier == "sklearn"
    with pytest.raises(SystemExit):
        p.parse_args(["eval", "m", "--classifier", "svm"])
