"""The ablation registry: every table and figure of the MoCoSE paper as data over the config.

    import ablations
    ablations.names()                      # every artifact, in the paper's order
    art = ablations.get("table3")          # unknown name -> ConfigError listing the valid ones
    art.configs("cpu", seeds=3)            # [(Cell, Config), ...]: every run it needs

The specs live in a few modules of data (main results, architecture, augmentation, queue,
analysis); :mod:`ablations.spec` defines their shape.
"""
from __future__ import annotations

from mocose.config import ConfigError

from . import analysis, architecture, augmentation, main_results, queue_studies
from .spec import KINDS, METRICS, PLOTS, Artifact, Cell, Check, Claim, Panel

__all__ = ["Artifact", "Cell", "Check", "Claim", "Panel", "get", "names", "all_artifacts", "KINDS",
           "METRICS", "PLOTS"]

_ORDER = ("table1", "table2", "table3", "ema_curve", "table4", "augmentations", "table9", "table6b",
          "fig10",
          "table7", "fig12", "table8", "kmeans", "fig2", "fig3", "fig5", "fig6", "fig7",
          "align_uniform")

_REGISTRY: dict[str, Artifact] = {}
for _module in (main_results, architecture, augmentation, queue_studies, analysis):
    for _art in _module.ARTIFACTS:
        if _art.name in _REGISTRY:
            raise ConfigError(f"artifact {_art.name!r} is defined twice")
        _REGISTRY[_art.name] = _art
_missing = set(_ORDER) ^ set(_REGISTRY)
if _missing:
    raise ConfigError(f"registry order and specs disagree on {sorted(_missing)}")


def names() -> list[str]:
    """Every artifact name, in the order of the paper's presentation."""
    return list(_ORDER)


def get(name: str) -> Artifact:
    """The artifact called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, _ORDER, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown artifact {name!r}{hint}; artifacts: {', '.join(_ORDER)}") from None


def all_artifacts() -> list[Artifact]:
    return [_REGISTRY[n] for n in _ORDER]
