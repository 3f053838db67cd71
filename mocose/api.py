"""The Python API for a notebook: sentence vectors and SentEval scores of an encoder in one call.

    import mocose
    vectors = mocose.encode("runs/cpu/best", ["A man plays a guitar.", "A dog runs."])
    results = mocose.evaluate("runs/cpu/best", tasks="STSBenchmark")
    results["avg"]["sts"], results.to_frame()

``model`` is whatever ``mocose eval`` takes: a suite checkpoint, a Hugging Face folder or name, or
an alias (``all-MiniLM-L6-v2``, ``tiny-random-bert``). Without ``pooler`` both use the pooling a
sentence-transformers folder declares, else the paper's ``cls_before_pooler``, as the CLI does.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Iterable

import numpy as np


class Results(dict):
    """What :func:`evaluate` returns: the result dict of ``mocose eval --out`` (tasks, avg, model,
    pooler, versions ...), plus :meth:`to_frame` for a table."""

    def to_frame(self):
        """One row per task: task, group (sts or transfer), score, and the model and pooler."""
        import pandas as pd

        from .evaluation.tasks import TASKS

        rows = [{"task": name, "group": TASKS[name], "score": task["score"]}
                for name, task in self["tasks"].items()]
        frame = pd.DataFrame(rows, columns=["task", "group", "score"])
        frame["model"], frame["pooler"] = self.get("model"), self.get("pooler")
        return frame


def _stamp(path: str) -> tuple:
    """Changes when a local model folder is rewritten (so a cached copy is not served stale)."""
    folder = Path(path)
    if not folder.is_dir():
        return ()
    return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.iterdir()) if p.is_file())


@functools.lru_cache(maxsize=2)
def _encoder(path: str, stamp: tuple, pooler: str, batch_size: int, device: str):
    from .model.encoders import load
    from .evaluation.encode import SentenceEncoder

    model, tokenizer = load(path)
    return SentenceEncoder(model, tokenizer, pooler=pooler, batch_size=batch_size, device=device)


def encode(model: str | os.PathLike, sentences: Iterable[str], pooler: str | None = None,
           batch_size: int = 128, device: str = "cpu") -> np.ndarray:
    """float32 array [n, d]: row i the embedding of ``sentences[i]`` (the vectors ``evaluate``
    scores; the loaded encoder and its vectors are kept for the next call on the same model)."""
    from .model.encoders import choose_pooler

    if isinstance(sentences, str):
        sentences = [sentences]
    name = os.fspath(model)
    chosen, _ = choose_pooler(name, pooler)
    return _encoder(name, _stamp(name), chosen, batch_size, device).encode(list(sentences))


def evaluate(model: str | os.PathLike, tasks: str | list[str] = "sts", pooler: str | None = None,
             data_dir: str | os.PathLike | None = None, batch_size: int = 128, device: str = "cpu",
             progress: bool = False) -> Results:
    """SentEval's protocol on ``tasks`` (sts, transfer, all, or task names) as ``mocose eval`` runs
    it; the data folder is ``data_dir`` or $MOCOSE_DATA."""
    from .model.encoders import choose_pooler
    from .evaluation.run import evaluate_model

    name = os.fspath(model)
    chosen, _ = choose_pooler(name, pooler)
    result = evaluate_model(name, pooler=chosen, tasks=tasks, data_dir=data_dir,
                            batch_size=batch_size, device=device, progress=progress)
    return Results(result)
