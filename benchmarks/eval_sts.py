"""Time the suite's seven-task STS evaluation against a SentEval-style reference path.

The reference does what SentEval (SimCSE's fork, with SimCSE's batcher) does for each STS task:
read each subset, sort its pairs by (words in s1, words in s2, gold), and for each batch of 128
pairs encode the first sentences and then the second sentences (tokenizer padding to the batch's
longest, output_hidden_states=True), then a cosine per pair. By default it encodes only the test
splits of STS-B and SICK-R (conservative); with --senteval-splits it also encodes their train and
dev splits, as SimCSE's SentEval does when asked for STSBenchmark / SICKRelatedness.

    python benchmarks/eval_sts.py [--model all-MiniLM-L6-v2] [--pooler avg] [--data DIR]
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time

import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mocose.data import resolve_data_dir  # noqa: E402
from mocose.model.encoders import load  # noqa: E402
from mocose.evaluation import STS_TASKS, SentenceEncoder, evaluate  # noqa: E402
from mocose.evaluation.readers import clear_caches  # noqa: E402
from mocose.evaluation.tasks import STS_SUBSETS  # noqa: E402


# --- reference path: SentEval's reading, sorting, batching and scoring -------------------------
def ref_read_sts_year(folder: str, names) -> list:
    out = []
    for name in names:
        sent1, sent2 = zip(*[l.split("\t") for l in io.open(f"{folder}/STS.input.{name}.txt", encoding="utf8").read().splitlines()])
        raw = np.array(io.open(f"{folder}/STS.gs.{name}.txt", encoding="utf8").read().splitlines())
        keep = raw != ""
        gold = [float(x) for x in raw[keep]]
        s1 = np.array([s.split() for s in sent1], dtype=object)[keep]
        s2 = np.array([s.split() for s in sent2], dtype=object)[keep]
        out.append(sorted(zip(s1, s2, gold), key=lambda z: (len(z[0]), len(z[1]), z[2])))
    return out


def ref_read_table(path: str, cols, skip_header: bool) -> list:
    rows = []
    with io.open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if skip_header and i == 0:
                continue
            t = line.strip().split("\t")
            rows.append((t[cols[0]].split(), t[cols[1]].split(), float(t[cols[2]])))
    return rows


def make_batcher(model, tokenizer, pooler):
    def batcher(batch):
        sentences = [" ".join(s) for s in batch]
        enc = tokenizer(sentences, return_tensors="pt", padding=True)  # batch_encode_plus before transformers 5
        with torch.no_grad():
            out = model(**enc, output_hidden_states=True, return_dict=True)
        mask = enc["attention_mask"].unsqueeze(-1)
        if pooler == "cls_before_pooler":
            return out.last_hidden_state[:, 0]
        if pooler == "avg":
            return (out.last_hidden_state * mask).sum(1) / mask.sum(1)
        raise SystemExit("the reference implements cls_before_pooler and avg")
    return batcher


def ref_cosine(u, v):
    return np.dot(u, v) / (np.sqrt(np.dot(u, u)) * np.sqrt(np.dot(v, v)))


def ref_score_sets(batcher, sets, bs=128):
    sys_all, gold_all, per = [], [], []
    for rows in sets:
        s1, s2, gold = map(list, zip(*rows))
        sys_scores = []
        for i in range(0, len(gold), bs):
            e1, e2 = batcher(s1[i:i + bs]).numpy(), batcher(s2[i:i + bs]).numpy()
            sys_scores += [np.nan_to_num(ref_cosine(np.nan_to_num(e1[k]), np.nan_to_num(e2[k]))) for k in range(len(e2))]
        per.append(100 * spearmanr(sys_scores, gold)[0])
        sys_all += sys_scores
        gold_all += gold
    return per, 100 * spearmanr(sys_all, gold_all)[0]


def reference(model, tokenizer, pooler, data: str, senteval_splits: bool) -> dict:
    model.eval()
    batcher = make_batcher(model, tokenizer, pooler)
    sts = f"{data}/senteval/STS"
    scores = {}
    for task in STS_TASKS:
        if task in STS_SUBSETS:
            _, scores[task] = ref_score_sets(batcher, ref_read_sts_year(f"{sts}/{task}-en-test", STS_SUBSETS[task]))
            continue
        if task == "STSBenchmark":
            files = {s: (f"{sts}/STSBenchmark/sts-{s}.csv", (5, 6, 4), False) for s in ("train", "dev", "test")}
        else:
            names = {"train": "SICK_train.txt", "dev": "SICK_trial.txt", "test": "SICK_test_annotated.txt"}
            files = {s: (f"{data}/senteval/SICK/{n}", (1, 2, 3), True) for s, n in names.items()}
        splits = ("train", "dev", "test") if senteval_splits else ("test",)
        per, _ = ref_score_sets(batcher, [ref_read_table(*files[s]) for s in splits])
        scores[task] = per[-1]
    return scores


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--pooler", default="avg", choices=["avg", "cls_before_pooler"])
    ap.add_argument("--data", default=None)
    ap.add_argument("--senteval-splits", action="store_true",
                    help="reference also encodes STS-B/SICK-R train and dev, as SentEval does")
    args = ap.parse_args()
    data = str(resolve_data_dir(args.data))
    model, tokenizer = load(args.model)
    model.eval()
    print(f"model {args.model}, pooler {args.pooler}, torch threads {torch.get_num_threads()}, data {data}")
    with torch.no_grad():  # warm-up, outside both timings
        model(**tokenizer(["warm up"] * 8, return_tensors="pt"))

    t0, c0 = time.perf_counter(), time.process_time()
    ref = reference(model, tokenizer, args.pooler, data, args.senteval_splits)
    t_ref, c_ref = time.perf_counter() - t0, time.process_time() - c0

    clear_caches()
    t0, c0 = time.perf_counter(), time.process_time()
    enc = SentenceEncoder(model, tokenizer, pooler=args.pooler, batch_size=128)
    fast = {k: v["score"] for k, v in evaluate(enc, "sts", data, progress=False)["tasks"].items()}
    t_fast, c_fast = time.perf_counter() - t0, time.process_time() - c0

    print(f"{'task':<16}{'reference':>12}{'suite':>12}{'|diff|':>10}")
    worst = 0.0
    for t in STS_TASKS:
        d = abs(ref[t] - fast[t])
        worst = max(worst, d)
        print(f"{t:<16}{ref[t]:>12.4f}{fast[t]:>12.4f}{d:>10.1e}")
    print(f"avg            {np.mean(list(ref.values())):>12.4f}{np.mean(list(fast.values())):>12.4f}")
    print(f"reference (SentEval-style{', all STS-B/SICK splits' if args.senteval_splits else ', test splits'}): "
          f"{t_ref:.1f} s wall, {c_ref:.1f} s CPU")
    print(f"suite: {t_fast:.1f} s wall, {c_fast:.1f} s CPU ({enc.cache_size} distinct sentences encoded)")
    print(f"speed-up: {t_ref / t_fast:.2f}x wall, {c_ref / c_fast:.2f}x CPU time "
          f"(CPU time is the steadier figure on a shared machine)")
    # SentEval reports correlations as fractions; "agree to 4 decimals" is in those units (the
    # paper's x100 figures then agree to 2 decimals). Float32 rounding differs with batch
    # composition, which can swap near-tied cosines: differences of ~1e-6 (fraction) are expected.
    agree = worst / 100 < 5e-5
    print(f"scores agree to 4 decimals of SentEval's correlation: {'yes' if agree else 'NO'} "
          f"(largest difference {worst / 100:.1e}, i.e. {worst:.1e} on the x100 scale)")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
