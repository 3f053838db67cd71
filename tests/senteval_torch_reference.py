"""SentEval's PyTorch classifier path, one classifier at a time, as its code is written.

A transcription of ``senteval/tools/classifier.py`` (PyTorchClassifier, MLP with nhid 0) and the
PyTorch branches of ``senteval/tools/validation.py`` (InnerKFoldClassifier, KFoldClassifier,
SplitClassifier), with SimCSE's full-mode parameters, on the CPU (``.cuda()`` dropped) and on
today's torch (``Variable``/``volatile`` dropped; ``loss_fn.size_average = False`` set after
construction has no effect on torch >= 1.0, so the loss is the batch mean, as when SimCSE ran it).
It is the independent truth for the batched path in mocose/evaluation/senteval_torch.py: tests
and benchmarks/eval_transfer.py compare against it. Not part of the package.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold
from torch import nn

PARAMS = {"nhid": 0, "optim": "adam", "batch_size": 64, "tenacity": 5, "epoch_size": 4}


class MLP:
    def __init__(self, params, inputdim, nclasses, l2reg=0.0, batch_size=64, seed=1111):
        np.random.seed(seed)
        torch.manual_seed(seed)
        self.inputdim, self.nclasses, self.l2reg = inputdim, nclasses, l2reg
        self.nhid = params.get("nhid", 0)
        self.tenacity = params.get("tenacity", 5)
        self.epoch_size = params.get("epoch_size", 4)
        self.max_epoch = params.get("max_epoch", 200)
        self.batch_size = params.get("batch_size", 64)
        self.model = nn.Sequential(nn.Linear(self.inputdim, self.nclasses))
        self.loss_fn = nn.CrossEntropyLoss()
        self.loss_fn.size_average = False
        self.optimizer = torch.optim.Adam(self.model.parameters())  # get_optimizer("adam")
        self.optimizer.param_groups[0]["weight_decay"] = self.l2reg
        self.checks = 0  # dev checks run (for the benchmark's cost accounting)

    def prepare_split(self, X, y, validation_data=None, validation_split=None):
        if validation_data is not None:
            trainX, trainy = X, y
            devX, devy = validation_data
        else:
            permutation = np.random.permutation(len(X))
            trainidx = permutation[int(validation_split * len(X)):]
            devidx = permutation[0:int(validation_split * len(X))]
            trainX, trainy = X[trainidx], y[trainidx]
            devX, devy = X[devidx], y[devidx]
        return (torch.FloatTensor(trainX), torch.LongTensor(trainy), torch.FloatTensor(devX),
                torch.LongTensor(devy))

    def fit(self, X, y, validation_data=None, validation_split=None, early_stop=True):
        self.nepoch = 0
        bestaccuracy = -1
        stop_train = False
        early_stop_count = 0
        trainX, trainy, devX, devy = self.prepare_split(X, y, validation_data, validation_split)
        while not stop_train and self.nepoch <= self.max_epoch:
            self.trainepoch(trainX, trainy, epoch_size=self.epoch_size)
            accuracy = self.score(devX, devy)
            self.checks += 1
            if accuracy > bestaccuracy:
                bestaccuracy = accuracy
                bestmodel = copy.deepcopy(self.model)
            elif early_stop:
                if early_stop_count >= self.tenacity:
                    stop_train = True
                early_stop_count += 1
        self.model = bestmodel
        return bestaccuracy

    def trainepoch(self, X, y, epoch_size=1):
        self.model.train()
        for _ in range(self.nepoch, self.nepoch + epoch_size):
            permutation = np.random.permutation(len(X))
            for i in range(0, len(X), self.batch_size):
                idx = torch.LongTensor(permutation[i:i + self.batch_size])
                Xbatch = X.index_select(0, idx)
                ybatch = y.index_select(0, idx)
                output = self.model(Xbatch)
                loss = self.loss_fn(output, ybatch)
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
        self.nepoch += epoch_size

    @torch.no_grad()
    def score(self, devX, devy):
        self.model.eval()
        correct = 0
        devX, devy = torch.FloatTensor(devX), torch.LongTensor(devy)
        for i in range(0, len(devX), self.batch_size):
            output = self.model(devX[i:i + self.batch_size])
            pred = output.data.max(1)[1]
            correct += pred.long().eq(devy[i:i + self.batch_size].long()).sum().item()
        return 1.0 * correct / len(devX)

    @torch.no_grad()
    def predict(self, devX):
        self.model.eval()
        devX = torch.FloatTensor(devX)
        yhat = np.array([])
        for i in range(0, len(devX), self.batch_size):
            yhat = np.append(yhat, self.model(devX[i:i + self.batch_size]).data.max(1)[1].numpy())
        return np.vstack(yhat)


REGS = [10 ** t for t in range(-5, -1)]


def inner_kfold(X, y, nclasses, k=10, seed=1111, params=PARAMS, regs=REGS):
    """InnerKFoldClassifier.run, PyTorch branch: (devaccuracy, testaccuracy)."""
    devresults, testresults = [], []
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=1111)
    innerskf = StratifiedKFold(n_splits=k, shuffle=True, random_state=1111)
    for train_idx, test_idx in skf.split(X, y):
        X_train, X_test = X[train_idx], X[test_idx]
        y_train, y_test = y[train_idx], y[test_idx]
        scores = []
        for reg in regs:
            regscores = []
            for inner_train_idx, inner_test_idx in innerskf.split(X_train, y_train):
                X_in_train, X_in_test = X_train[inner_train_idx], X_train[inner_test_idx]
                y_in_train, y_in_test = y_train[inner_train_idx], y_train[inner_test_idx]
                clf = MLP(params, inputdim=X.shape[1], nclasses=nclasses, l2reg=reg, seed=seed)
                clf.fit(X_in_train, y_in_train, validation_data=(X_in_test, y_in_test))
                regscores.append(clf.score(X_in_test, y_in_test))
            scores.append(round(100 * np.mean(regscores), 2))
        optreg = regs[np.argmax(scores)]
        devresults.append(np.max(scores))
        clf = MLP(params, inputdim=X.shape[1], nclasses=nclasses, l2reg=optreg, seed=seed)
        clf.fit(X_train, y_train, validation_split=0.05)
        testresults.append(round(100 * clf.score(X_test, y_test), 2))
    return round(np.mean(devresults), 2), round(np.mean(testresults), 2)


def kfold(train, test, nclasses, k=10, seed=1111, params=PARAMS, regs=REGS):
    """KFoldClassifier.run, PyTorch branch: (devaccuracy, testaccuracy, yhat)."""
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    scores = []
    for reg in regs:
        scanscores = []
        for train_idx, test_idx in skf.split(train["X"], train["y"]):
            X_train, y_train = train["X"][train_idx], train["y"][train_idx]
            X_test, y_test = train["X"][test_idx], train["y"][test_idx]
            clf = MLP(params, inputdim=train["X"].shape[1], nclasses=nclasses, l2reg=reg, seed=seed)
            clf.fit(X_train, y_train, validation_data=(X_test, y_test))
            scanscores.append(clf.score(X_test, y_test))
        scores.append(round(100 * np.mean(scanscores), 2))
    optreg = regs[np.argmax(scores)]
    devaccuracy = np.max(scores)
    clf = MLP(params, inputdim=train["X"].shape[1], nclasses=nclasses, l2reg=optreg, seed=seed)
    clf.fit(train["X"], train["y"], validation_split=0.05)
    yhat = clf.predict(test["X"])
    testaccuracy = round(100 * clf.score(test["X"], test["y"]), 2)
    return devaccuracy, testaccuracy, yhat


def split(X, y, nclasses, seed=1111, params=PARAMS, regs=REGS):
    """SplitClassifier.run, PyTorch branch: (devaccuracy, testaccuracy); X, y: train/valid/test dicts."""
    scores = []
    for reg in regs:
        clf = MLP(params, inputdim=X["train"].shape[1], nclasses=nclasses, l2reg=reg, seed=seed)
        clf.fit(X["train"], y["train"], validation_data=(X["valid"], y["valid"]))
        scores.append(round(100 * clf.score(X["valid"], y["valid"]), 2))
    optreg = regs[np.argmax(scores)]
    devaccuracy = np.max(scores)
    clf = MLP(params, inputdim=X["train"].shape[1], nclasses=nclasses, l2reg=optreg, seed=seed)
    clf.fit(X["train"], y["train"], validation_data=(X["valid"], y["valid"]))
    testaccuracy = round(100 * clf.score(X["test"], y["test"]), 2)
    return devaccuracy, testaccuracy
