"""mocose: reproduce the ablation studies of MoCoSE (Cao, Wang et al., Findings of ACL 2022)."""
from .api import Results, encode, evaluate
from .config import Config, ConfigError
from .mtd import ema_decay_for_mtd, mtd, queue_size_for_mtd
from .profiles import load_profile

__version__ = "0.1.0"
__all__ = ["Config", "ConfigError", "load_profile", "load_runs", "mtd", "queue_size_for_mtd",
           "ema_decay_for_mtd"]
__all__ += ["encode", "evaluate", "Results"]  # the notebook API (mocose/api.py)


def __getattr__(name: str):
    """``mocose.load_runs``, imported on first use so ``import mocose`` does not load pandas."""
    if name == "load_runs":
        from .report.tidy import load_runs

        return load_runs
    raise AttributeError(f"module 'mocose' has no attribute {name!r}")
