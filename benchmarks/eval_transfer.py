"""Time the seven transfer tasks on SentEval's PyTorch classifier path, batched, against a
loop over classifiers written SentEval's way (tests/senteval_torch_reference.py).

For each task it prints dev and test accuracy, how many classifiers were trained, the wall and CPU
seconds of the classifiers (encoding excluded) and of the encoding, and the ratio to the
one-classifier-at-a-time reference (in wall time and in CPU time). The reference is run for the first ``--reference-fits``
classifiers of the task's first data stream (the first fold's L2 values, on the real embeddings):
their dev accuracies and dev-check counts are compared with the batched run's, and its time per
minibatch step, times the task's total steps (every classifier's steps up to its own early
stop, as a loop would run them), gives the loop's extrapolated time. Both paths run one torch
thread (on shared cores two threads spin at every small op; one is the faster for both).

Sentence vectors are cached in ``--cache`` (an .npz keyed by sentence), so a second run skips
encoding; the encoding time printed is the first run's.

    python benchmarks/eval_transfer.py [--model all-MiniLM-L6-v2] [--pooler cls_before_pooler]
        [--data DIR] [--tasks MR,CR,...] [--reference-fits 1] [--out timings.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from mocose.data import resolve_data_dir  # noqa: E402
from mocose.model.encoders import cache_dir  # noqa: E402
from mocose.evaluation import senteval_torch  # noqa: E402
from mocose.evaluation.tasks import SHORT_NAMES, TRANSFER_TASKS, parse_tasks  # noqa: E402
from mocose.evaluation.transfer import evaluate_transfer_task  # noqa: E402

import senteval_torch_reference as reference  # noqa: E402


class Clock:
    """Wall and CPU (this process, all threads) seconds since construction."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


class CachedEncoder:
    """Looks sentences up in a table; the model is loaded and run only for missing ones, and the
    time spent doing so is counted apart."""

    def __init__(self, model: str, pooler: str, path: Path):
        self.model, self.pooler, self.path = model, pooler, path
        self.table: dict[str, np.ndarray] = {}
        if path.exists():
            z = np.load(path, allow_pickle=False)
            self.table = dict(zip(z["sentences"].tolist(), z["vectors"]))
        self.enc = None
        self.progress = sys.stderr.isatty()
        self.seconds = [0.0, 0.0]

    def encode(self, sentences, desc=None) -> np.ndarray:
        sentences = list(sentences)
        new = [s for s in dict.fromkeys(sentences) if s not in self.table]
        if new:
            clock = Clock()
            if self.enc is None:
                from mocose.model.encoders import load
                from mocose.evaluation import SentenceEncoder

                net, tok = load(self.model)
                self.enc = SentenceEncoder(net, tok, pooler=self.pooler, progress=self.progress)
            self.table.update(zip(new, self.enc.encode(new, desc=desc)))
            wall, cpu = clock.read()
            self.seconds[0] += wall
            self.seconds[1] += cpu
            self.save()
        return np.stack([self.table[s] for s in sentences])

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.table)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, sentences=np.array(keys), vectors=np.stack([self.table[k] for k in keys]))
        tmp.replace(self.path)


class FirstStream:
    """Wraps senteval_torch.fit_streams to keep the task's first call: its data, first stream and fit."""

    def __init__(self):
        self.call = None
        self.inner = senteval_torch.fit_streams

    def __call__(self, X, y, streams, l2, nclasses, cfg=senteval_torch.TorchClassifierConfig()):
        fit = self.inner(X, y, streams, l2, nclasses, cfg)
        if self.call is None:
            self.call = (X, y, streams[0], np.asarray(l2)[0], nclasses, fit)
        return fit


def run_reference(call, n_fits: int) -> dict:
    """SentEval's loop for the first ``n_fits`` classifiers of the stream; time per step, agreement."""
    X, y, stream, l2, nclasses, fit = call
    Xtr, ytr, Xdev, ydev = X[stream.train], y[stream.train], X[stream.dev], y[stream.dev]
    steps, agree = 0, []
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    clock = Clock()
    try:
        for r in range(min(n_fits, len(l2))):
            clf = reference.MLP(reference.PARAMS, X.shape[1], nclasses, l2reg=float(l2[r]))
            acc = clf.fit(Xtr, ytr, validation_data=(Xdev, ydev))
            steps += clf.checks * clf.epoch_size * -(-len(Xtr) // clf.batch_size)
            agree.append(bool(acc == fit.dev_acc[0, r] and clf.checks == fit.checks[0, r]))
    finally:
        torch.set_num_threads(before)
    wall, cpu = clock.read()
    return {"fits": len(agree), "steps": steps, "wall_s": wall, "cpu_s": cpu, "agree": all(agree)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--pooler", default="cls_before_pooler")
    ap.add_argument("--data", default=None)
    ap.add_argument("--tasks", default="transfer")
    ap.add_argument("--cache", default=None, help="sentence-vector cache (.npz); default under the mocose cache")
    ap.add_argument("--reference-fits", type=int, default=1, help="reference classifiers per task (0: none)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    data = resolve_data_dir(args.data)
    tasks = [t for t in parse_tasks(args.tasks) if t in TRANSFER_TASKS]
    cache = Path(args.cache) if args.cache else cache_dir() / f"transfer-{Path(args.model).name}-{args.pooler}.npz"
    enc = CachedEncoder(args.model, args.pooler, cache)
    print(f"{args.model} ({args.pooler}), SentEval PyTorch path batched; {os.cpu_count()} cores; cache {cache}")
    head = (f"{'task':>5} {'dev':>6} {'test':>6} {'clfs':>5} {'clf wall':>9} {'clf cpu':>8} {'enc wall':>9} "
            f"{'ref/step ms':>11} {'ref est s':>9} {'ratio':>6} {'cpu ratio':>6} agree")
    print(head, flush=True)
    rows, total = {}, np.zeros(4)
    for task in tasks:
        spy = FirstStream()
        senteval_torch.fit_streams = spy
        enc_before = list(enc.seconds)
        clock = Clock()
        try:
            res = evaluate_transfer_task(enc, task, data, classifier="pytorch")
        finally:
            senteval_torch.fit_streams = spy.inner
        wall, cpu = clock.read()
        enc_wall, enc_cpu = enc.seconds[0] - enc_before[0], enc.seconds[1] - enc_before[1]
        clf_wall, clf_cpu = wall - enc_wall, cpu - enc_cpu
        row = {"devacc": res["devacc"], "acc": res["acc"], "classifiers": res["classifiers_trained"],
               "steps": res["minibatch_steps"], "classifier_wall_s": round(clf_wall, 2),
               "classifier_cpu_s": round(clf_cpu, 2), "encode_wall_s": round(enc_wall, 2),
               "encode_cpu_s": round(enc_cpu, 2)}
        if "f1" in res:
            row["f1"] = res["f1"]
        ref_txt = f"{'-':>11} {'-':>9} {'-':>6} {'-':>6} -"
        if args.reference_fits > 0 and spy.call is not None:
            ref = run_reference(spy.call, args.reference_fits)
            per_step = ref["wall_s"] / max(ref["steps"], 1)
            est = per_step * res["minibatch_steps"]
            est_cpu = ref["cpu_s"] / max(ref["steps"], 1) * res["minibatch_steps"]
            row["reference"] = {**ref, "per_step_ms": round(1e3 * per_step, 3), "extrapolated_wall_s": round(est, 1),
                                "extrapolated_cpu_s": round(est_cpu, 1), "ratio": round(est / clf_wall, 1),
                                "cpu_ratio": round(est_cpu / clf_cpu, 1)}
            ref_txt = f"{1e3 * per_step:>11.3f} {est:>9.0f} {est / clf_wall:>6.1f} {est_cpu / clf_cpu:>6.1f} {ref['agree']}"
        rows[task] = row
        total += [clf_wall, clf_cpu, enc_wall, enc_cpu]
        print(f"{SHORT_NAMES.get(task, task):>5} {res['devacc']:>6.2f} {res['acc']:>6.2f} {row['classifiers']:>5} "
              f"{clf_wall:>9.1f} {clf_cpu:>8.1f} {enc_wall:>9.1f} {ref_txt}", flush=True)
    print(f"total: classifiers {total[0]:.1f} s wall, {total[1]:.1f} s CPU; encoding {total[2]:.1f} s wall, "
          f"{total[3]:.1f} s CPU")
    if args.out:
        Path(args.out).write_text(json.dumps({"model": args.model, "pooler": args.pooler, "tasks": rows,
                                              "total": dict(zip(["classifier_wall_s", "classifier_cpu_s",
                                                                 "encode_wall_s", "encode_cpu_s"],
                                                                total.round(2).tolist()))}, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
