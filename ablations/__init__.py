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
from .spec import KINDS, METRICS, PLOTS, Artifact, Cell, Check, Claim, Panel, Registry

__all__ = ["Artifact", "Cell", "Check", "Claim", "Panel", "Registry", "REGISTRY", "get", "names", "all_artifacts", "KINDS",
           "METRICS", "PLOTS"]

_ORDER = ("table1", "table2", "table3", "ema_curve", "table4", "augmentations", "table9", "table6b",
          "fig10",
          "table7", "fig12", "table8", "kmeans", "fig2", "fig3", "fig5", "fig6", "fig7",
          "align_uniform")

_BY_NAME: dict[str, Artifact] = {}
for _module in (main_results, architecture, augmentation, queue_studies, analysis):
    for _art in _module.ARTIFACTS:
        if _art.name in _BY_NAME:
            raise ConfigError(f"artifact {_art.name!r} is defined twice")
        _BY_NAME[_art.name] = _art
_missing = set(_ORDER) ^ set(_BY_NAME)
if _missing:
    raise ConfigError(f"registry order and specs disagree on {sorted(_missing)}")

# The paper's registry: what every command names unless it is given another.
REGISTRY = Registry(tuple(_BY_NAME[n] for n in _ORDER))


def names() -> list[str]:
    """Every artifact name, in the order of the paper's presentation."""
    return REGISTRY.names()


def get(name: str) -> Artifact:
    """The artifact called ``name``."""
    return REGISTRY.get(name)


def all_artifacts() -> list[Artifact]:
    return REGISTRY.all_artifacts()
