"""SentEval's PyTorch classifier path (``usepytorch=True``), the one behind the paper's Table 2.

SentEval (``senteval/tools/classifier.py`` and ``validation.py``; SimCSE's ``evaluation.py`` full
mode: kfold 10, nhid 0, optim adam, batch_size 64, tenacity 5, epoch_size 4) trains one
``nn.Linear`` per (fold, L2 value) with Adam (lr 1e-3, ``weight_decay`` = the L2 value on weight
and bias), cross-entropy averaged over minibatches of 64 (its ``loss_fn.size_average = False``,
set after construction, does nothing on torch >= 1.0, which SimCSE ran), and keeps the state with
the best dev accuracy. Every classifier starts from ``np.random.seed(1111)`` and ``torch.manual_seed(1111)``,
so all start from the same ``nn.Linear`` weights and shuffle with the same draws:
``permutation(len(train))`` per pass over the train set (after one ``permutation(len(X))`` for
the 5% validation split when no dev set is given). After every ``epoch_size`` passes it scores the
dev set; it stops when a non-improving score comes while ``early_stop_count >= tenacity`` (the
count is never reset, so at the 6th non-improving check) or once ``nepoch`` passes ``max_epoch``
(200): at most 51 checks.

Here the many classifiers of a task train together as one batched model: the classifiers that
see the same data (the L2 grid of one fold) share a data *stream* and sit side by side in the
output rows of one weight tensor ``[stream, L2 x classes, d + 1]`` (the bias is the last column,
fed by a column of ones in X), streams are batched with ``bmm``, Adam runs on whole tensors, and
early stopping is a per-classifier mask. Each stream draws its minibatches from its own
``RandomState(seed)`` exactly as SentEval's classifier does, so each classifier sees the same
minibatches in the same order as in SentEval; the numbers differ from a loop over
``nn.Linear`` only by float summation order (see tests/test_evaluation_classifiers.py).

Protocols (``regs = [1e-5, 1e-4, 1e-3, 1e-2]`` for all three, as SentEval's PyTorch path):
- inner k-fold (MR, CR, SUBJ, MPQA): outer StratifiedKFold(k, shuffle, 1111), and in each outer
  training part an inner one picks the L2 value on mean inner-dev accuracy; the final classifier
  of each outer fold trains on its whole training part with a 5% validation split.
- k-fold (TREC, MRPC): StratifiedKFold(k, shuffle, seed) on train picks the L2 value; a final
  classifier on all of train (5% validation split) gives the test accuracy.
- split (SST2): the L2 value is chosen on dev. SentEval then trains the chosen classifier again
  with the same seed, data and dev set, which reproduces the same classifier; it is reused here.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold

from ..config import ConfigError

L2_GRID = tuple(10.0 ** t for t in range(-5, -1))
SEED = 1111


@dataclass(frozen=True)
class TorchClassifierConfig:
    """SentEval's classifier parameters as SimCSE's full mode sets them (its ``params['classifier']``
    and ``kfold``), with Adam's defaults (SentEval's ``get_optimizer('adam')``)."""

    kfold: int = 10
    batch_size: int = 64
    tenacity: int = 5
    epoch_size: int = 4
    max_epoch: int = 200
    validation_split: float = 0.05
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    seed: int = SEED
    l2_grid: tuple[float, ...] = L2_GRID

    def __post_init__(self):
        for name, low in (("kfold", 2), ("batch_size", 1), ("epoch_size", 1), ("max_epoch", 0), ("tenacity", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < low:
                raise ConfigError(f"{name}={value!r} is not allowed: {name} must be an integer >= {low}")
        if not 0 < self.validation_split < 1:
            raise ConfigError(f"validation_split={self.validation_split!r} is not allowed: "
                              "validation_split must be in (0, 1)")
        if not self.l2_grid or any(r < 0 for r in self.l2_grid):
            raise ConfigError(f"l2_grid={self.l2_grid!r} is not allowed: l2_grid must be non-empty and >= 0")


@dataclass
class Stream:
    """One data stream: the classifiers trained on ``train`` rows (indices into X) and early-stopped
    on ``dev`` rows; ``dev=None`` takes SentEval's validation split of ``train`` instead."""

    train: np.ndarray
    dev: np.ndarray | None = None


@dataclass
class Fit:
    """Per (stream, classifier): the best dev accuracy (a fraction, as SentEval's ``score``), the
    weights that reached it ``[S, R, C, d + 1]`` (bias last), and how many dev checks it ran."""

    dev_acc: np.ndarray
    weights: torch.Tensor
    checks: np.ndarray
    steps: np.ndarray  # minibatch steps each classifier would take alone (what a loop would run)

    def predict(self, s: int, r: int, X: np.ndarray) -> np.ndarray:
        return _predict(self.weights[s, r], X)


def _with_ones(X: np.ndarray) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(X, dtype=np.float32))
    return torch.cat([t, torch.ones(len(t), 1)], 1)


def _predict(w: torch.Tensor, X: np.ndarray) -> np.ndarray:
    """Class per row of X for one classifier's weights ``[C, d + 1]``."""
    return (_with_ones(X) @ w.T).argmax(1).numpy()


def initial_weights(d: int, nclasses: int, seed: int) -> torch.Tensor:
    """SentEval's starting classifier: ``nn.Linear(d, nclasses)`` built right after
    ``torch.manual_seed(seed)``, as ``[d + 1, C]`` with the bias last (global RNG left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        lin = torch.nn.Linear(d, nclasses)
    return torch.cat([lin.weight.detach().T, lin.bias.detach()[None]], 0)


def _pad(rows: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Index lists of unequal length as one [S, max] index tensor (padding 0) and its 0/1 mask."""
    width = max(len(r) for r in rows)
    idx = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.float32)
    for s, r in enumerate(rows):
        idx[s, :len(r)], mask[s, :len(r)] = r, 1
    return torch.from_numpy(idx), torch.from_numpy(mask)


@contextmanager
def _one_thread():
    """The step's tensors are small (a few MB): one intra-op thread runs them faster than two, and
    far faster when other processes share the cores (idle threads spin-wait at every op)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fit_streams(X: np.ndarray, y: np.ndarray, streams: list[Stream], l2: np.ndarray, nclasses: int,
                cfg: TorchClassifierConfig = TorchClassifierConfig()) -> Fit:
    """Train ``l2.shape[1]`` classifiers on each stream (L2 values ``l2[s]``), all at once."""
    with _one_thread(), torch.no_grad():
        return _fit_streams(X, y, streams, l2, nclasses, cfg)


def _train_dev_split(streams: list[Stream], rngs: list[np.random.RandomState],
                     validation_split: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each stream's train and dev rows: its own dev set, or SentEval's random split of train."""
    trains, devs = [], []
    for st, rs in zip(streams, rngs):
        train = np.asarray(st.train)
        if st.dev is None:
            perm, cut = rs.permutation(len(train)), int(validation_split * len(train))
            trains.append(train[perm[cut:]]), devs.append(train[perm[:cut]])
        else:
            trains.append(train), devs.append(np.asarray(st.dev))
    return trains, devs


def _cross_entropy_grad(Xa: torch.Tensor, yt: torch.Tensor, W: torch.Tensor, idx: torch.Tensor,
                        rm: torch.Tensor, R: int, C: int) -> torch.Tensor:
    """The mean cross-entropy's gradient over each stream's real rows of one batch: [L, R*C, D]."""
    L, K, D = W.shape
    xb = Xa.index_select(0, idx).view(L, -1, D)  # [L, b, D]
    z = torch.bmm(xb, W.transpose(1, 2)).view(L, -1, R, C)
    p = (z - z.amax(-1, keepdim=True)).exp_()
    p /= p.sum(-1, keepdim=True)
    p -= torch.nn.functional.one_hot(yt.index_select(0, idx), C).view(L, -1, 1, C)
    p *= (rm / rm.sum(1, keepdim=True).clamp(min=1))[:, :, None, None]
    return torch.bmm(p.view(L, -1, K).transpose(1, 2), xb)


def _adam_step(W: torch.Tensor, m: torch.Tensor, v: torch.Tensor, g: torch.Tensor, active: np.ndarray,
               t_new: np.ndarray, cfg: TorchClassifierConfig) -> tuple[torch.Tensor, ...]:
    """torch.optim.Adam's update (L2 already in ``g``), one step count per stream; streams not
    ``active`` (fewer batches in this pass) skip the step entirely."""
    b1, b2 = cfg.betas
    bc1 = np.where(active, 1 - b1 ** t_new.astype(np.float64), 1.0)
    bc2 = np.where(active, np.sqrt(1 - b2 ** t_new.astype(np.float64)), 1.0)
    step = torch.as_tensor(-cfg.lr / bc1, dtype=torch.float32)[:, None, None]
    bc2t = torch.as_tensor(bc2, dtype=torch.float32)[:, None, None]
    if active.all():
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        W.add_(step * m / (v.sqrt() / bc2t + cfg.eps))
        return W, m, v
    a = torch.as_tensor(active)[:, None, None]
    m = torch.where(a, m.lerp(g, 1 - b1), m)
    v = torch.where(a, v * b2 + g * g * (1 - b2), v)
    return torch.where(a, W + step * m / (v.sqrt() / bc2t + cfg.eps), W), m, v


def _fit_streams(X, y, streams, l2, nclasses, cfg) -> Fit:
    l2 = np.asarray(l2, dtype=np.float64).reshape(len(streams), -1)
    S, R, C, B = len(streams), l2.shape[1], nclasses, cfg.batch_size
    Xa, yt = _with_ones(X), torch.as_tensor(np.asarray(y, dtype=np.int64))
    D = Xa.shape[1]
    # SentEval's per-classifier RNG: np.random.seed(seed), then the validation split's draw
    rngs = [np.random.RandomState(cfg.seed) for _ in streams]
    trains, devs = _train_dev_split(streams, rngs, cfg.validation_split)
    dev_idx, dev_mask = _pad(devs)
    dev_x, dev_y = Xa[dev_idx], yt[dev_idx]  # [S, nd, D], [S, nd]
    n_dev = np.array([len(d) for d in devs])
    n_steps = np.array([-(-len(t) // B) for t in trains])

    K = R * C  # one stream's classifiers side by side: output k = r * C + c
    W = initial_weights(D - 1, C, cfg.seed).T.repeat(R, 1).expand(S, K, D).contiguous()  # [S, K, D]
    m, v = torch.zeros_like(W), torch.zeros_like(W)
    wd = torch.as_tensor(np.repeat(l2, C, axis=1), dtype=torch.float32)[:, :, None]  # [S, K, 1]
    t = np.zeros(S, dtype=np.int64)  # Adam's step count per stream
    best_w = W.clone().view(S, R, C, D)
    best = np.full((S, R), -1, dtype=np.int64)
    count = np.zeros((S, R), dtype=np.int64)
    stopped = np.zeros((S, R), dtype=bool)
    checks = np.zeros((S, R), dtype=np.int64)
    live = np.arange(S)  # streams still training (original ids); W, m, v, wd, dev_* hold only these
    from tqdm.auto import tqdm

    # shown on a terminal only (disable=None): dev checks done, classifiers still training
    bar = tqdm(total=cfg.max_epoch // cfg.epoch_size + 1, desc=f"{S * R} classifiers", unit="check",
               disable=None, leave=False)
    nepoch = 0
    while nepoch <= cfg.max_epoch and len(live):
        L = len(live)
        for _ in range(cfg.epoch_size):  # SentEval's trainepoch: epoch_size passes over train
            order, rmask = _pad([trains[s][rngs[s].permutation(len(trains[s]))] for s in live])
            steps = n_steps[live]
            for j in range(int(steps.max())):
                idx, rm = order[:, j * B:(j + 1) * B].reshape(-1), rmask[:, j * B:(j + 1) * B]
                active = j < steps
                g = _cross_entropy_grad(Xa, yt, W, idx, rm, R, C) + W * wd
                t_new = t[live] + active
                W, m, v = _adam_step(W, m, v, g, active, t_new, cfg)
                t[live] = t_new
        nepoch += cfg.epoch_size
        # SentEval's fit: score dev, keep the best state, count non-improving checks
        pred = torch.bmm(dev_x, W.transpose(1, 2)).view(L, -1, R, C).argmax(-1)
        correct = ((pred == dev_y[:, :, None]).float() * dev_mask[:, :, None]).sum(1).round().long().numpy()
        run = ~stopped[live]
        checks[live] += run
        better = (correct > best[live]) & run
        best[live] = np.where(better, correct, best[live])
        lt = torch.as_tensor(live)
        best_w[lt] = torch.where(torch.as_tensor(better)[:, :, None, None], W.view(L, R, C, D), best_w[lt])
        worse = run & ~better
        stopped[live] |= worse & (count[live] >= cfg.tenacity)
        count[live] += worse
        bar.update()
        bar.set_postfix(training=int((~stopped).sum()))
        keep = ~stopped[live].all(1)
        if not keep.all():  # drop finished streams from the batch
            sel = torch.as_tensor(np.flatnonzero(keep))
            W, m, v, wd = W[sel], m[sel], v[sel], wd[sel]
            dev_x, dev_y, dev_mask = dev_x[sel], dev_y[sel], dev_mask[sel]
            live = live[keep]
    bar.close()
    return Fit(best / n_dev[:, None], best_w, checks, checks * cfg.epoch_size * n_steps[:, None])


@dataclass
class TorchResult:
    """A task's figures the SentEval way: dev and test accuracy in %, the chosen L2 value(s)."""

    dev_acc: float
    test_acc: float
    l2reg: float | list[float]
    dev_scores: dict = field(default_factory=dict)  # % per L2 value (k-fold, split)
    predictions: np.ndarray | None = None
    fits: int = 0  # classifiers trained
    steps: int = 0  # optimizer steps summed over classifiers

    @property
    def C(self):  # the name the scikit-learn path's callers read
        return self.l2reg

    def as_dict(self) -> dict:
        out = {"dev_acc": self.dev_acc, "test_acc": self.test_acc, "l2reg": self.l2reg,
               "classifiers_trained": self.fits, "minibatch_steps": self.steps}
        if self.dev_scores:
            out["dev_acc_per_l2reg"] = {f"{r:g}": s for r, s in self.dev_scores.items()}
        return out


def _cost(fit: Fit) -> int:
    return int(fit.steps.sum())


def _nclasses(*ys) -> int:
    return int(max(int(np.max(y)) for y in ys)) + 1


def inner_kfold(X: np.ndarray, y: np.ndarray, cfg: TorchClassifierConfig = TorchClassifierConfig()) -> TorchResult:
    """SentEval's InnerKFoldClassifier, PyTorch path (MR, CR, SUBJ, MPQA)."""
    regs, k, C = list(cfg.l2_grid), cfg.kfold, _nclasses(y)
    outer = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=SEED).split(X, y))
    inner = StratifiedKFold(n_splits=k, shuffle=True, random_state=SEED)
    streams = [Stream(tr[a], tr[b]) for tr, _ in outer for a, b in inner.split(X[tr], y[tr])]
    search = fit_streams(X, y, streams, np.tile(regs, (len(streams), 1)), C, cfg)
    scores = np.round(100 * search.dev_acc.reshape(k, k, len(regs)).mean(1), 2)  # [outer, reg]
    best = scores.argmax(1)
    chosen = [regs[b] for b in best]
    final = fit_streams(X, y, [Stream(tr) for tr, _ in outer], np.array(chosen)[:, None], C, cfg)
    tests = [round(100 * float(np.mean(final.predict(o, 0, X[te]) == y[te])), 2) for o, (_, te) in enumerate(outer)]
    return TorchResult(round(float(np.mean(scores.max(1))), 2), round(float(np.mean(tests)), 2), chosen,
                       fits=search.dev_acc.size + len(outer), steps=_cost(search) + _cost(final))


def kfold(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
          cfg: TorchClassifierConfig = TorchClassifierConfig()) -> TorchResult:
    """SentEval's KFoldClassifier, PyTorch path (TREC, MRPC)."""
    regs, k, C = list(cfg.l2_grid), cfg.kfold, _nclasses(y_train, y_test)
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=cfg.seed).split(X_train, y_train)
    streams = [Stream(tr, te) for tr, te in folds]
    search = fit_streams(X_train, y_train, streams, np.tile(regs, (k, 1)), C, cfg)
    scores = [round(100 * float(np.mean(search.dev_acc[:, r])), 2) for r in range(len(regs))]
    best = int(np.argmax(scores))
    final = fit_streams(X_train, y_train, [Stream(np.arange(len(y_train)))], np.array([[regs[best]]]), C, cfg)
    pred = final.predict(0, 0, X_test)
    return TorchResult(float(np.max(scores)), round(100 * float(np.mean(pred == y_test)), 2), regs[best],
                       dict(zip(regs, scores)), pred, search.dev_acc.size + 1, _cost(search) + _cost(final))


def split(X_train: np.ndarray, y_train: np.ndarray, X_dev: np.ndarray, y_dev: np.ndarray,
          X_test: np.ndarray, y_test: np.ndarray, cfg: TorchClassifierConfig = TorchClassifierConfig()) -> TorchResult:
    """SentEval's SplitClassifier, PyTorch path (SST2)."""
    regs, C = list(cfg.l2_grid), _nclasses(y_train, y_dev, y_test)
    X = np.concatenate([X_train, X_dev])
    yy = np.concatenate([y_train, y_dev])
    stream = Stream(np.arange(len(y_train)), len(y_train) + np.arange(len(y_dev)))
    search = fit_streams(X, yy, [stream], np.array([regs]), C, cfg)
    scores = [round(100 * float(a), 2) for a in search.dev_acc[0]]
    best = int(np.argmax(scores))
    pred = search.predict(0, best, X_test)
    return TorchResult(float(np.max(scores)), round(100 * float(np.mean(pred == y_test)), 2), regs[best],
                       dict(zip(regs, scores)), pred, len(regs), _cost(search))
