"""Study files and derived artifacts among the names a command is given.

Every command that names artifacts (``reproduce``, ``report``, ``claims``, ``seeds``, ``sweep``)
passes its names through :func:`resolve`: a name ending in .yaml/.yml is a study file
(:mod:`ablations.study`), a name ``NAME+key=value`` is NAME rerun at that setting
(:mod:`ablations.overrides`); both join the registry for this command, under their own names,
so they run, report and are tested exactly as the paper's artifacts are.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

from ablations.overrides import split_name, with_overrides
from ablations.spec import Artifact, Registry
from ablations.study import is_study_path, load_study

from ..config import ConfigError
from ..presets import preset_configs


def resolve(names: Sequence[str], registry: Registry,
            overrides: Mapping[str, Any] | None = None) -> tuple[Registry, list[str]]:
    """The registry with the study files and derived names among ``names`` added, and the names
    as that registry spells them; with ``overrides`` (``reproduce --set``), every named artifact
    (``all``: every one) replaced by its rerun at them. Nothing is run or written here."""
    extra: dict[str, Artifact] = {}
    out: list[str] = []
    for name in names:
        art = None
        if is_study_path(name):
            art = load_study(name)
            if art.name in registry:
                raise ConfigError(f"{name}: the study's name {art.name!r} is already an artifact's: "
                                  "give the study its own name")
        elif "+" in name:
            base, sets = split_name(name)
            original = extra.get(base) or _get(registry, base)
            art = with_overrides(original, sets)
        if art is None:
            out.append(name)
            continue
        if art.name in extra and extra[art.name] != art:
            raise ConfigError(f"{name}: two different studies are named {art.name!r}: rename one")
        extra[art.name] = art
        out.append(art.name)
    registry = registry.with_artifacts(list(extra.values()))
    if not overrides:
        return registry, out
    targets = registry.names() if "all" in out else list(dict.fromkeys(out))
    derived = [with_overrides(registry.get(n), overrides) for n in targets]
    return registry.with_artifacts(derived), [a.name for a in derived]


def _get(registry: Registry, name: str) -> Artifact:
    if is_study_path(name):
        return load_study(name)
    return registry.get(name)


def run_sources(art: Artifact, registry: Registry, profile: str, preset: str = "clean") -> list[str]:
    """For each cell of a study (or rerun) whose runs are another artifact's cell's (the same run
    ids), a line saying so; none for the paper's own artifacts."""
    import ablations

    if art.name in ablations.REGISTRY:
        return []
    by_runs: dict[frozenset[str], list[str]] = {}
    for other in registry.artifacts:
        if other.name != art.name:
            for label, ids in _cell_run_ids(other, profile, preset).items():
                by_runs.setdefault(ids, []).append(f"{other.name} (cell {label})")
    return [f"cell {label}: runs shared with {', '.join(by_runs[ids])}"
            for label, ids in _cell_run_ids(art, profile, preset).items() if ids in by_runs]


def _cell_run_ids(art: Artifact, profile: str, preset: str) -> dict[str, frozenset[str]]:
    """Each run cell's run ids at the first seed (later seeds follow from the same recipe)."""
    ids: dict[str, set[str]] = {}
    for cell, config in preset_configs(art, profile, 1, preset):
        ids.setdefault(cell.label, set()).add(config.digest())
    return {label: frozenset(v) for label, v in ids.items()}


def with_run_sources(art: Artifact, registry: Registry, profile: str, preset: str = "clean") -> Artifact:
    """``art`` with :func:`run_sources` added to its notes (the report prints them)."""
    lines = run_sources(art, registry, profile, preset)
    if not lines:
        return art
    shared = "Runs shared by config (one run id, trained once): " + "; ".join(lines) + "."
    return dataclasses.replace(art, notes=f"{art.notes} {shared}" if art.notes else shared)
