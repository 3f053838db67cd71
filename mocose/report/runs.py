"""The run table: every finished run of a profile as one tidy pandas row.

    import mocose
    runs = mocose.load_runs("results", "smoke")          # one row per (artifact, cell, run)
    runs.groupby(["artifact", "cell"])["sts"].agg(["mean", "std", "count"])

A row holds where the run counts (``artifact`` and ``cell``, as the report matches runs to cells by
recipe: a run shared by several cells appears once under each; a run no cell asks for appears once
with both empty), the run's identity (``run_id``, ``profile``, ``seed``, ``status``, ``collapsed``,
``preset``), every configuration field by its bare name (``ema_decay``, ``queue_size``, ...), and
its numbers: the averages ``sts`` and ``transfer``, one column per task (``STS12`` ... ``MRPC``: the
task's score, Spearman x 100 or test accuracy in %), ``<task>_devacc`` and ``transfer_devacc``
where the transfer evaluation recorded a dev accuracy, the analyses ``alignment``, ``uniformity``,
``align_uniform`` and ``sv_auc``, and the training summary (``best_step``, ``best_score``,
``steps``). The report (:mod:`mocose.report`) pivots these rows into the paper's tables.

Every other reader of a result record goes through this module too: :func:`metric_value`,
:func:`curve_points` / :func:`run_curve` (the validation curve), :func:`seeds_of`,
:func:`is_collapsed` and the one check of a finite number, :func:`finite`.
"""
from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..config import Config
from ..evaluation.tasks import STS_TASKS, TRANSFER_TASKS
from ..profiles import profile_names


ALL_TASKS = STS_TASKS + TRANSFER_TASKS
# A run's preset when its config names none (issue 11 adds the field; older results lack it).
DEFAULT_PRESET = "clean"
IDENTITY = ("run_id", "profile", "seed", "status", "collapsed", "preset")
SUMMARY = ("steps", "best_step", "best_score", "mtd", "wall_time", "device", "git_commit", "created")


def finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number (not a bool), else None: the one check of
    a number read from a result file."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def devacc_column(task: str) -> str:
    """The column of a transfer task's dev accuracy, e.g. ``SST2_devacc``."""
    return f"{task}_devacc"


def flat_config(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The run's configuration by bare field name, from ``flat_config`` or the nested ``config``."""
    if isinstance(record.get("flat_config"), Mapping):
        return dict(record["flat_config"])
    if isinstance(record.get("config"), Mapping):
        try:
            return Config.from_dict(record["config"]).flat()
        except (TypeError, ValueError) as err:
            warnings.warn(f"skipping result {record.get('run_id')}: unreadable config ({err})")
    return None


def preset_of(record: Mapping[str, Any]) -> str:
    """The preset a run was made with, as its config names it; ``clean`` when it names none."""
    flat = flat_config(record) or {}
    config = record.get("config") if isinstance(record.get("config"), Mapping) else {}
    for value in (record.get("preset"), flat.get("preset"), config.get("preset"),
                  *(part.get("preset") for part in config.values() if isinstance(part, Mapping))):
        if value:
            return str(value)
    return DEFAULT_PRESET


def singular_values(record: Mapping[str, Any]) -> np.ndarray | None:
    """The run's singular values of the STS-B embedding matrix, largest first, or None."""
    sv = (record.get("analysis") or {}).get("singular_values")
    if not sv:
        return None
    arr = np.sort(np.asarray(sv, dtype=float))[::-1]
    return arr if np.isfinite(arr).all() and arr[0] > 0 else None


def metric_value(result: Mapping[str, Any], metric: str) -> float | None:
    """A run's number for ``metric``: an average (sts, transfer), an analysis (alignment,
    uniformity, align_uniform = their sum, sv_auc = mean singular value / largest), or a task's
    score. None when the result lacks it."""
    metrics = result.get("metrics") or {}
    analysis = result.get("analysis") or {}
    if metric in ("sts", "transfer"):
        value = (metrics.get("avg") or {}).get(metric)
    elif metric in ("alignment", "uniformity"):
        value = analysis.get(metric)
    elif metric == "align_uniform":
        a, u = analysis.get("alignment"), analysis.get("uniformity")
        value = a + u if finite(a) is not None and finite(u) is not None else None
    elif metric == "sv_auc":
        sv = [v for v in analysis.get("singular_values") or () if finite(v) is not None]
        top = max(sv, default=0.0)
        value = sum(v / top for v in sv) / len(sv) if top > 0 else None
    else:
        task = (metrics.get("tasks") or {}).get(metric)
        value = task.get("score") if isinstance(task, Mapping) else task
    return finite(value)


def metric(record: Mapping[str, Any], name: str) -> float | None:
    """A run's number for ``name``: :func:`metric_value` (averages, analyses, a task's
    score), plus a transfer task's dev accuracy ``<task>_devacc`` and their mean ``transfer_devacc``
    (over the tasks that have one, as ``metrics.avg.transfer`` is over scores)."""
    if name == "transfer_devacc":
        dev = [v for v in (metric(record, devacc_column(t)) for t in TRANSFER_TASKS) if v is not None]
        return float(np.mean(dev)) if dev else None
    if name.endswith("_devacc"):
        entry = ((record.get("metrics") or {}).get("tasks") or {}).get(name[:-len("_devacc")])
        return finite(entry.get("devacc")) if isinstance(entry, Mapping) else None
    return metric_value(record, name)


METRIC_COLUMNS = ("sts", "transfer", *ALL_TASKS, *(devacc_column(t) for t in TRANSFER_TASKS),
                  "transfer_devacc", "alignment", "uniformity", "align_uniform", "sv_auc")


def run_metrics(record: Mapping[str, Any]) -> dict[str, float | None]:
    """Every number of one run by metric name (the columns listed in the module docstring)."""
    return {name: metric(record, name) for name in METRIC_COLUMNS}


def trains_nothing(record: Mapping[str, Any]) -> bool:
    """Whether the run trained nothing (an untrained encoder, method none): its score does not
    depend on the seed, so its cell is evaluated once."""
    config = record.get("config") if isinstance(record.get("config"), Mapping) else {}
    model = config.get("model") if isinstance(config.get("model"), Mapping) else {}
    flat = record.get("flat_config") if isinstance(record.get("flat_config"), Mapping) else {}
    return (model.get("method") or flat.get("method")) == "none"


def is_collapsed(record: Mapping[str, Any]) -> bool:
    """Whether the run collapsed at any validation (STS-B dev below the collapse threshold; training
    goes on after a collapse, so a run may recover: Figure 6)."""
    training = record.get("training") or {}
    return (record.get("status") == "collapsed" or bool(training.get("collapsed"))
            or bool(training.get("collapsed_steps")))


def curve_points(record: Mapping[str, Any]) -> list[dict]:
    """The run's validations as recorded (``training.curve``: one dict per validation)."""
    return [dict(r) for r in (record.get("training") or {}).get("curve") or () if isinstance(r, Mapping)]


def run_curve(result: Mapping[str, Any]) -> list[tuple[float, float]]:
    """A run's validation curve: (step, STS-B dev Spearman x 100) at each validation."""
    points = ((finite(r.get("step")), finite(r.get("dev_spearman"))) for r in curve_points(result))
    return [(step, dev) for step, dev in points if step is not None and dev is not None]


def seeds_of(records: Iterable[Mapping[str, Any]]) -> list[int]:
    """The distinct seeds of ``records``, sorted."""
    return sorted({r.get("seed") for r in records if isinstance(r.get("seed"), int)})


def run_row(record: Mapping[str, Any], run_id: str | None = None) -> dict[str, Any] | None:
    """One tidy row: identity, every config field, every metric, the training summary."""
    flat = flat_config(record)
    if flat is None:
        return None
    training = record.get("training") or {}
    row: dict[str, Any] = {
        "run_id": record.get("run_id") or run_id,
        "profile": record.get("profile") or flat.get("profile"),
        "seed": record.get("seed", flat.get("seed")),
        "status": record.get("status"),
        "collapsed": is_collapsed(record),
        "preset": preset_of(record),
    }
    row.update({k: v for k, v in flat.items() if k not in row})
    row.update(run_metrics(record))
    row.update({"steps": training.get("steps"), "best_step": training.get("best_step"),
                "best_score": finite(training.get("best_score"))})
    row.update({k: record.get(k) for k in SUMMARY if k not in row})
    return row


def runs_frame(records: Mapping[str, Mapping[str, Any]] | list[Mapping[str, Any]]) -> pd.DataFrame:
    """A DataFrame of run rows (records: run_id -> result, or a list), sorted by run_id; empty,
    with the identity and metric columns, when there are none."""
    items = records.items() if isinstance(records, Mapping) else ((None, r) for r in records)
    rows = [row for key, record in items if (row := run_row(record, key)) is not None]
    if not rows:
        return pd.DataFrame(columns=list(IDENTITY) + list(METRIC_COLUMNS))
    frame = pd.DataFrame(rows)
    return frame.sort_values(["run_id"], kind="stable").reset_index(drop=True)


def profiles_with_results(results_dir: str | os.PathLike) -> list[str]:
    """The known profiles that have at least one result file under ``results_dir``."""
    root = Path(results_dir)
    return [p for p in profile_names() if any((root / p / "runs").glob("*.json"))]
