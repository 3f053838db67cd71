"""``mocose.load_runs``: every finished run of a profile as one tidy table, one row per
(artifact, cell, run), for a notebook (README, "Python API")."""
from __future__ import annotations

import os

import pandas as pd

import ablations
from ablations.spec import Registry

from ..presets import PRESETS
from ..profiles import load_profile
from ..runner.store import load_results
from .claims import cell_runs
from .runs import runs_frame


def load_runs(results_dir: str | os.PathLike, profile: str, registry: "Registry | None" = None) -> pd.DataFrame:
    """Every finished run of ``profile`` under ``results_dir``: one tidy row per (artifact, cell,
    run) in the order of ``registry`` (default: the paper's; module docstring), the runs no cell
    asks for last."""
    load_profile(profile)  # an unknown profile is refused, naming the valid ones
    results = load_results(results_dir, profile)
    frame = runs_frame(results)
    if frame.empty:
        return pd.DataFrame(columns=["artifact", "cell", *frame.columns])
    placed, seen = [], set()
    for art in (registry or ablations.REGISTRY).all_artifacts():
        for preset in PRESETS:
            for label, runs in cell_runs(art, profile, results, preset, once=False).items():
                ids = sorted({r.get("run_id") for r in runs} - {None})
                placed += [(art.name, label, run_id) for run_id in ids]
                seen.update(ids)
    where = pd.DataFrame(list(dict.fromkeys(placed)) + [(None, None, i) for i in frame["run_id"] if i not in seen],
                         columns=["artifact", "cell", "run_id"])
    return where.merge(frame, on="run_id", how="inner", sort=False).reset_index(drop=True)
