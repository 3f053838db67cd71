"""The seven transfer tasks (MR, CR, SUBJ, MPQA, SST2, TREC, MRPC) with SentEval's protocol.

Two classifier paths, both SentEval's: ``pytorch`` (its ``usepytorch=True`` path, the paper's:
mocose.evaluation.senteval_torch) and ``sklearn`` (its logistic regression path:
mocose.evaluation.classifiers). Each task's result holds ``devacc`` (SentEval's ``devacc``: the
validation accuracy the classifier was chosen on) and ``acc`` (test accuracy, also ``score``).

Samples are put in SentEval's order before the classifier sees them (SentEval sorts by word count
and label to reduce padding, and its shuffled folds are drawn over that order, so the order
changes which sentences share a fold). Embeddings come from the shared encoder cache.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import ConfigError
from ..data import resolve_data_dir
from . import classifiers, senteval_torch
from .encode import SentenceEncoder
from .readers import PairSet, read_lines_latin1, read_mrpc, read_sst_binary, read_trec
from .tasks import TRANSFER_TASKS

# file names per binary task: (label-1 file, label-0 file), as SentEval pairs them
BINARY_FILES = {
    "MR": ("MR", "rt-polarity.pos", "rt-polarity.neg"),
    "CR": ("CR", "custrev.pos", "custrev.neg"),
    "SUBJ": ("SUBJ", "subj.objective", "subj.subjective"),
    "MPQA": ("MPQA", "mpqa.pos", "mpqa.neg"),
}


def _nwords(s: str) -> int:
    return len(s.split())


def senteval_order(x, y) -> tuple[list[str], np.ndarray]:
    """SentEval's stable sort by (word count, label)."""
    pairs = sorted(zip(x, y.tolist()), key=lambda z: (_nwords(z[0]), z[1]))
    return [p[0] for p in pairs], np.array([p[1] for p in pairs], dtype=np.int64)


def _pairs_order(p: PairSet) -> tuple[list[str], list[str], np.ndarray]:
    rows = sorted(zip(p.a, p.b, p.gold.tolist()), key=lambda z: (_nwords(z[0]), _nwords(z[1]), z[2]))
    return [r[0] for r in rows], [r[1] for r in rows], np.array([r[2] for r in rows], dtype=np.int64)


def binary_task(task: str, data_dir=None) -> tuple[list[str], np.ndarray]:
    folder, one, zero = BINARY_FILES[task]
    base = resolve_data_dir(data_dir) / "senteval" / folder
    pos, neg = read_lines_latin1(base / one), read_lines_latin1(base / zero)
    return senteval_order(pos + neg, np.array([1] * len(pos) + [0] * len(neg), dtype=np.int64))


def transfer_data(task: str, data_dir=None):
    """A transfer task's data as read (and checked) from its files: (sentences, labels) for MR,
    CR, SUBJ and MPQA; {"train", "dev", "test"} sets for SST2; (train, test) for TREC and MRPC."""
    root: Path = resolve_data_dir(data_dir) / "senteval"
    if task in BINARY_FILES:
        return binary_task(task, data_dir)
    if task == "SST2":
        return {s: read_sst_binary(root / "SST" / "binary" / f"sentiment-{s}") for s in ("train", "dev", "test")}
    if task == "TREC":
        return read_trec(root / "TREC" / "train_5500.label"), read_trec(root / "TREC" / "TREC_10.label")
    if task == "MRPC":
        return tuple(read_mrpc(root / "MRPC" / f"msr_paraphrase_{s}.txt") for s in ("train", "test"))
    raise ValueError(f"{task} is not a transfer task; transfer tasks: {', '.join(TRANSFER_TASKS)}")


CLASSIFIERS = {"pytorch": "SentEval PyTorch path: logistic regression (nhid 0), adam, batch 64, tenacity 5, "
                          "epoch_size 4, kfold 10, L2 in 1e-5..1e-2",
               "sklearn": "SentEval scikit-learn path: LogisticRegression (SentEval defaults), C grid"}


def evaluate_transfer_task(enc: SentenceEncoder, task: str, data_dir=None, n_jobs: int = -1,
                           classifier: str = "pytorch", seed: int = senteval_torch.SEED) -> dict:
    """One transfer task's result: ``score`` = ``acc`` = test accuracy (%), ``devacc`` = the dev
    (validation) accuracy, the chosen regularisation, and the classifier path that made them.
    ``seed``: the classifier's seed (SentEval's ``params.seed``, 1111 by default)."""
    if classifier not in CLASSIFIERS:
        raise ConfigError(f"classifier={classifier!r} is not allowed: classifier must be one of "
                          f"{', '.join(CLASSIFIERS)}")
    # both modules offer inner_kfold, kfold and split with SentEval's signatures
    clf, kw = ((senteval_torch, {"cfg": senteval_torch.TorchClassifierConfig(seed=seed)}) if classifier == "pytorch"
               else (classifiers, {"n_jobs": n_jobs, "seed": seed}))
    data = transfer_data(task, data_dir)
    if task in BINARY_FILES:
        x, y = data
        res = clf.inner_kfold(enc.encode(x, desc=task), y, **kw)
        extra = {"protocol": "inner-kfold", "n": len(y)}
    elif task == "SST2":
        enc.encode([s for ls in data.values() for s in ls.x], desc=task)
        ordered = {k: senteval_order(v.x, v.y) for k, v in data.items()}
        X = {k: enc.encode(v[0]) for k, v in ordered.items()}
        res = clf.split(X["train"], ordered["train"][1], X["dev"], ordered["dev"][1], X["test"],
                        ordered["test"][1], **kw)
        extra = {"protocol": "split", "n_train": len(ordered["train"][1]), "n_dev": len(ordered["dev"][1]),
                 "n_test": len(ordered["test"][1])}
    elif task == "TREC":
        train, test = data
        enc.encode(train.x + test.x, desc=task)
        (xtr, ytr), (xte, yte) = senteval_order(train.x, train.y), senteval_order(test.x, test.y)
        res = clf.kfold(enc.encode(xtr), ytr, enc.encode(xte), yte, **kw)
        extra = {"protocol": "kfold", "n_train": len(ytr), "n_test": len(yte)}
    elif task == "MRPC":
        sets = [_pairs_order(p) for p in data]
        enc.encode([s for a, b, _ in sets for s in a + b], desc=task)
        feats = []
        for a, b, _ in sets:
            ea, eb = enc.encode(a), enc.encode(b)
            feats.append(np.c_[np.abs(ea - eb), ea * eb])
        (_, _, ytr), (_, _, yte) = sets
        res = clf.kfold(feats[0], ytr, feats[1], yte, **kw)
        from sklearn.metrics import f1_score
        extra = {"protocol": "kfold", "features": "[|u-v|, u*v]", "n_train": len(ytr), "n_test": len(yte),
                 "f1": round(100 * float(f1_score(yte, res.predictions)), 2)}
    return {"score": res.test_acc, "devacc": res.dev_acc, "acc": res.test_acc, "classifier": classifier,
            **res.as_dict(), **extra}
