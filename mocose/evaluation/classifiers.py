"""SentEval's three validation schemes for logistic regression (its scikit-learn path).

Transcribed from ``senteval/tools/validation.py`` as a protocol, with the same folds, grids,
rounding and tie-breaking (the first best C, i.e. the smallest), and the estimator SentEval
builds: ``LogisticRegression(C=c, random_state=seed)`` with scikit-learn's defaults otherwise
(so lbfgs with max_iter 100 on scikit-learn >= 0.22, as for anyone running SentEval today).

- inner k-fold (MR, CR, SUBJ, MPQA): outer StratifiedKFold(k, shuffle, seed 1111); in each outer
  training part an inner StratifiedKFold(k, shuffle, 1111) picks C from 2^-2..2^3; the dev figure
  is the mean of the folds' best inner accuracies, the test figure the mean outer-fold accuracy.
- k-fold (TREC, MRPC): StratifiedKFold(k, shuffle, seed) on train picks C from 2^-1..2^5, then a
  fit on all of train gives test accuracy.
- split (SST2): C from 2^-2..2^3 chosen on dev, then test accuracy.

The independent fits run in parallel threads (joblib); that changes no result.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

INNER_KFOLD_GRID = tuple(2.0 ** t for t in range(-2, 4))
KFOLD_GRID = tuple(2.0 ** t for t in range(-1, 6))
SPLIT_GRID = tuple(2.0 ** t for t in range(-2, 4))
SEED = 1111
KFOLD = 10


def senteval_logreg(c: float, seed: int = SEED):
    """The estimator SentEval's scikit-learn path builds."""
    return LogisticRegression(C=c, random_state=seed)


@dataclass
class ClassifierResult:
    dev_acc: float
    test_acc: float
    C: float | list[float]
    dev_scores: dict = field(default_factory=dict)  # mean validation accuracy per C (k-fold, split)
    predictions: np.ndarray | None = None

    def as_dict(self) -> dict:
        out = {"dev_acc": self.dev_acc, "test_acc": self.test_acc, "C": self.C}
        if self.dev_scores:
            out["dev_acc_per_C"] = {f"{c:g}": s for c, s in self.dev_scores.items()}
        return out


def _fit_score(make: Callable, c: float, seed: int, X_fit, y_fit, X_eval, y_eval, predict: bool = False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs' ConvergenceWarning at max_iter=100, as in SentEval
        clf = make(c, seed)
        clf.fit(X_fit, y_fit)
        score = clf.score(X_eval, y_eval)
        return (score, clf.predict(X_eval)) if predict else score


def _run(jobs, n_jobs: int) -> list:
    """Run delayed fits in threads (lbfgs spends its time in BLAS, which drops the GIL), one BLAS/OpenMP
    thread each so that the workers do not oversubscribe the cores. Jobs are consumed lazily, so
    the fold copies exist only while they are fitted."""
    if n_jobs == 1:
        return [f(*a, **kw) for f, a, kw in jobs]
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return Parallel(n_jobs=n_jobs, backend="threading")(jobs)


def inner_kfold(X: np.ndarray, y: np.ndarray, k: int = KFOLD, seed: int = SEED,
                grid=INNER_KFOLD_GRID, make: Callable = senteval_logreg, n_jobs: int = -1) -> ClassifierResult:
    """SentEval's InnerKFoldClassifier (scikit-learn path)."""
    outer = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=SEED).split(X, y))
    inner_cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=SEED)
    keys = [(o, r, tr[itr], tr[ite]) for o, (tr, _) in enumerate(outer)
            for itr, ite in inner_cv.split(np.zeros(len(tr)), y[tr]) for r in range(len(grid))]
    scores = _run((delayed(_fit_score)(make, grid[r], seed, X[a], y[a], X[b], y[b])
                   for _, r, a, b in keys), n_jobs)
    per = np.zeros((k, len(grid), k))
    counts = np.zeros((k, len(grid)), dtype=int)
    for (o, r, _, _), s in zip(keys, scores):
        per[o, r, counts[o, r]] = s
        counts[o, r] += 1
    dev_results, chosen = [], []
    for o in range(k):
        fold_scores = [round(100 * float(np.mean(per[o, r])), 2) for r in range(len(grid))]
        best = int(np.argmax(fold_scores))
        chosen.append(grid[best])
        dev_results.append(fold_scores[best])
    finals = _run((delayed(_fit_score)(make, chosen[o], seed, X[tr], y[tr], X[te], y[te])
                   for o, (tr, te) in enumerate(outer)), n_jobs)
    test_results = [round(100 * float(s), 2) for s in finals]
    return ClassifierResult(round(float(np.mean(dev_results)), 2), round(float(np.mean(test_results)), 2),
                            chosen)


def kfold(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
          k: int = KFOLD, seed: int = SEED, grid=KFOLD_GRID, make: Callable = senteval_logreg,
          n_jobs: int = -1) -> ClassifierResult:
    """SentEval's KFoldClassifier (scikit-learn path)."""
    folds = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(X_train, y_train))
    flat = _run((delayed(_fit_score)(make, c, seed, X_train[tr], y_train[tr], X_train[te], y_train[te])
                 for c in grid for tr, te in folds), n_jobs)
    scores = [round(100 * float(np.mean(flat[r * k:(r + 1) * k])), 2) for r in range(len(grid))]
    best = int(np.argmax(scores))
    acc, pred = _fit_score(make, grid[best], seed, X_train, y_train, X_test, y_test, predict=True)
    return ClassifierResult(float(np.max(scores)), round(100 * float(acc), 2), grid[best],
                            dict(zip(grid, scores)), pred)


def split(X_train: np.ndarray, y_train: np.ndarray, X_dev: np.ndarray, y_dev: np.ndarray,
          X_test: np.ndarray, y_test: np.ndarray, seed: int = SEED, grid=SPLIT_GRID,
          make: Callable = senteval_logreg, n_jobs: int = -1) -> ClassifierResult:
    """SentEval's SplitClassifier (scikit-learn path)."""
    flat = _run((delayed(_fit_score)(make, c, seed, X_train, y_train, X_dev, y_dev) for c in grid), n_jobs)
    scores = [round(100 * float(s), 2) for s in flat]
    best = int(np.argmax(scores))
    acc = _fit_score(make, grid[best], seed, X_train, y_train, X_test, y_test)
    return ClassifierResult(float(np.max(scores)), round(100 * float(acc), 2), grid[best],
                            dict(zip(grid, scores)))
