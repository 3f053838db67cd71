"""The report: every table, figure and claim verdict rebuilt from result files alone.

Reading a result record (:mod:`.runs`, once for all), the statistics (:mod:`.stats`), the claim
verdicts (:mod:`.claims`), an artifact's cells and runs (:mod:`.cells`), provenance
(:mod:`.provenance`), the paper's layout (:mod:`.tables`), Markdown/LaTeX/JSON (:mod:`.render`),
figures (:mod:`.plots` over :mod:`.figure`), files and indexes (:mod:`.build`: ``build``), seed
planning (:mod:`.seeds`: ``next_round``), and ``mocose report`` / ``claims`` / ``seeds``
(:mod:`.commands`). The registry of artifacts is a parameter (default: the paper's).

May import everything below it (the runner's results store, training, evaluation, the model, the
registry's shape in :mod:`ablations`); only the reproduce layer and the command line import it.
``load_runs`` loads on first use, so importing the package loads neither pandas nor matplotlib.
"""
from __future__ import annotations

__all__ = ["load_runs"]


def __getattr__(name: str):
    if name == "load_runs":
        from .tidy import load_runs

        return load_runs
    raise AttributeError(f"module 'mocose.report' has no attribute {name!r}")
