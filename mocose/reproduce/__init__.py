"""A reproduction, from a request to runs and reports: the layer above the runner and the report.

:class:`ReproduceRequest` (:mod:`.request`) is what was asked, validated once; :func:`reproduce`
(:mod:`.pipeline`) plans and runs each artifact through the runner (:mod:`mocose.runner`, the
engine), adds seeds in rounds where claims are unresolved (:mod:`.rounds`), and builds each
report (:mod:`mocose.report`); :mod:`.commands` holds ``mocose list`` and ``mocose reproduce``.
The registry of artifacts is a parameter everywhere (default: the paper's, ``ablations.REGISTRY``).

May import every layer below it; only the command line (mocose.cli) imports it.
"""
from .pipeline import default_registry, reproduce
from .request import DEFAULT_MAX_SEEDS, DEFAULT_SEEDS, ReproduceRequest

__all__ = ["ReproduceRequest", "reproduce", "default_registry", "DEFAULT_SEEDS", "DEFAULT_MAX_SEEDS"]
