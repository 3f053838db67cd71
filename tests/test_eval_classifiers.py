"""SentEval's three validation schemes: C chosen as specified, and numbers identical to a plain
sequential transcription of SentEval's loops."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

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
