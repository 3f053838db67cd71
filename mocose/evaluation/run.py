"""Evaluate an encoder on any set of SentEval tasks and lay the results out as the paper does."""
from __future__ import annotations

import time

import numpy as np

from ..data import resolve_data_dir
from ..device import resolve_device
from ..provenance import versions
from .encode import SentenceEncoder
from .sts import evaluate_sts_task
from .tasks import SHORT_NAMES, STS_TASKS, TASKS, TRANSFER_TASKS, parse_tasks


def evaluate(enc: SentenceEncoder, tasks="sts", data_dir=None, progress: bool = True, n_jobs: int = -1,
             classifier: str = "pytorch", classifier_seeds: int = 1) -> dict:
    """Run ``tasks`` (sts | transfer | all | a list or comma string of task names) with ``enc``.

    Returns {"tasks": {name: {"score": ..., details}}, "avg": {"sts": ..., "transfer": ...,
    "transfer_dev": ...}, "seconds": {name: wall seconds}}. Scores are Spearman x 100 (STS) or test
    accuracy in % (transfer; each also holds ``devacc`` and ``acc``); "avg" is the mean over the
    group's evaluated tasks (None when none was run). ``classifier``: the transfer tasks' SentEval
    classifier path, pytorch (the paper's) or sklearn. ``classifier_seeds`` > 1: each transfer task
    also holds ``classifier_seeds``, its classifier refitted with that many seeds (.classifier_seeds).
    """
    names = parse_tasks(tasks)
    data_dir = resolve_data_dir(data_dir)
    old = enc.progress
    enc.progress = progress
    results, seconds = {}, {}
    try:
        for name in names:
            start = time.perf_counter()
            if TASKS[name] == "sts":
                results[name] = evaluate_sts_task(enc, name, data_dir)
            else:
                from .transfer import evaluate_transfer_task  # scikit-learn: imported only when needed

                results[name] = evaluate_transfer_task(enc, name, data_dir, n_jobs=n_jobs, classifier=classifier)
                if classifier_seeds > 1:
                    from .classifier_seeds import classifier_spread

                    results[name]["classifier_seeds"] = classifier_spread(
                        enc, name, data_dir, classifier_seeds, results[name], n_jobs, classifier)
            seconds[name] = round(time.perf_counter() - start, 2)
    finally:
        enc.progress = old
    return {"tasks": results, "avg": averages(results), "seconds": seconds}


def read_task_data(tasks, data_dir=None) -> None:
    """Read (and so check: mocose.data.check_senteval_file) every file ``tasks`` evaluate on; the
    readers cache what they parse, so the evaluation reads nothing twice. A missing or damaged
    file is refused here, before a model is loaded."""
    from .sts import task_pairsets

    for name in parse_tasks(tasks):
        if TASKS[name] == "sts":
            task_pairsets(name, data_dir)
        else:
            from .transfer import transfer_data

            transfer_data(name, data_dir)


def averages(results: dict) -> dict:
    """The mean score of each group (sts, transfer) over its tasks in ``results`` (None: none)."""
    avg = {}
    for group, members in (("sts", STS_TASKS), ("transfer", TRANSFER_TASKS)):
        scores = [results[t]["score"] for t in members if t in results]
        avg[group] = float(np.mean(scores)) if scores else None
    devs = [results[t].get("devacc") for t in TRANSFER_TASKS if t in results]
    devs = [d for d in devs if d is not None]
    avg["transfer_dev"] = float(np.mean(devs)) if devs else None
    return avg


def evaluate_model(model: str, pooler: str = "cls_before_pooler", tasks="sts", data_dir=None,
                   batch_size: int = 128, device: str = "cpu", half: bool = False, progress: bool = True,
                   classifier: str = "pytorch", classifier_seeds: int = 1) -> dict:
    """Load encoder ``model`` (a name, alias or folder; mocose.model.encoders.load) and evaluate it; the
    result also names the model, pooler, data folder, precision, library versions and wall time."""
    from ..model.encoders import load, resolve

    start = time.perf_counter()
    device = resolve_device(device)
    names = parse_tasks(tasks)  # fail on a bad task name (or device) before loading anything
    folder = resolve_data_dir(data_dir)
    read_task_data(names, folder)  # a truncated data file is refused before the model loads
    net, tokenizer = load(model)
    enc = SentenceEncoder(net, tokenizer, pooler=pooler, batch_size=batch_size, device=device, half=half)
    out = evaluate(enc, names, folder, progress=progress, classifier=classifier, classifier_seeds=classifier_seeds)
    return {"model": model, "model_path": resolve(model), "pooler": pooler, "data_dir": str(folder),
            "precision": "float16" if half else "float32", "device": device, "batch_size": batch_size,
            "max_length": enc.max_length, "classifier": classifier,
            "versions": versions(), **out, "wall_time_s": round(time.perf_counter() - start, 2)}


def _table(names: list[str], rows: list[tuple[str, list[float | None]]]) -> str:
    """Columns per task plus Avg. (the mean of the row's evaluated tasks); rows labelled when >1."""
    label = len(rows) > 1
    heads = ([""] if label else []) + [SHORT_NAMES.get(n, n) for n in names] + ["Avg."]
    body = []
    for name, scores in rows:
        done = [s for s in scores if s is not None]
        avg = float(np.mean(done)) if done else None
        body.append(([name] if label else []) + [("%.2f" % s) if s is not None else "-" for s in scores + [avg]])
    widths = [max(len(x) for x in col) for col in zip(heads, *body)]
    line = lambda xs: " | ".join(x.rjust(w) for x, w in zip(xs, widths))
    return "\n".join([line(heads), "-+-".join("-" * w for w in widths)] + [line(b) for b in body])


def format_tables(result: dict) -> str:
    """The paper's tables (STS12 ... SICK-R, Avg.; MR ... MRPC, Avg.) for the groups evaluated; the
    transfer table has a dev row (SentEval's devacc, what the paper's Table 2 prints) and a test row."""
    out = []
    for group, members in (("sts", STS_TASKS), ("transfer", TRANSFER_TASKS)):
        done = {t: result["tasks"][t] for t in members if t in result["tasks"]}
        if not done:
            continue
        rows = [("score", [done[t]["score"] if t in done else None for t in members])]
        if group == "transfer" and all("devacc" in r for r in done.values()):
            rows = [(label, [done[t][key] if t in done else None for t in members])
                    for label, key in (("dev", "devacc"), ("test", "acc"))]
        out.append(_table(list(members), rows))
    return "\n\n".join(out)
