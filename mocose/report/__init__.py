"""The report: every table, figure and claim verdict rebuilt from result files alone.

Reading a result record (:mod:`.runs`, once for all), the statistics (:mod:`.stats`), the claim
verdicts (:mod:`.claims`), an artifact's cells and runs (:mod:`.cells`), provenance
(:mod:`.provenance`), the paper's layout (:mod:`.tables`), Markdown/LaTeX/JSON (:mod:`.render`),
figures (:mod:`.plots` over :mod:`.figure`), files and indexes (:mod:`.build`), and ``mocose
report`` / ``mocose claims`` (:mod:`.commands`).

May import everything below it (the runner's results store, training, evaluation, the model, the
registry in :mod:`ablations`); nothing imports the report but the command line and the runner's
deliberate lazy load (``mocose.runner.commands.run_report``). ``build`` and ``load_runs`` load on
first use, so importing the package loads neither pandas nor matplotlib.
"""
from __future__ import annotations

__all__ = ["build", "load_runs", "next_round"]


def __getattr__(name: str):
    if name == "build":
        from .build import build

        return build
    if name == "next_round":  # reproduce --until-resolved (mocose.report.seeds)
        from .seeds import next_round

        return next_round
    if name == "load_runs":
        from .runs import load_runs

        return load_runs
    raise AttributeError(f"module 'mocose.report' has no attribute {name!r}")
