"""Provenance: the lines every report page and figure carries, naming how its numbers were made
(profile, model-selection rule, preset, encoder and data, seeds, code commit)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..config import Config
from ..profiles import load_profile
from ..runner.environment import environment_key
from .runs import DEFAULT_PRESET, flat_config, preset_of, seeds_of

SELECTION_RULES = {
    "stsb_dev": "the checkpoint with the best STS-B dev Spearman (SimCSE's rule, the suite's default)",
    "sts_test_avg": "the checkpoint with the best average over the seven STS test sets (the "
                    "authors' rule: it selects on the test sets)",
}


def provenance(profile: str, runs: Sequence[Mapping[str, Any]], config: Config | None = None) -> dict:
    """Profile, model-selection rule(s), preset(s), seeds and code of ``runs`` (read from each run's
    config; the profile's defaults where no run exists yet, and preset ``clean`` when a config names
    none)."""
    config = config or load_profile(profile)
    flats = [flat_config(r) or {} for r in runs]
    selections = sorted({str(f.get("selection")) for f in flats if f.get("selection")}) \
        or [config.train.selection]
    presets = sorted({preset_of(r) for r in runs}) or [str(config.flat().get("preset") or DEFAULT_PRESET)]
    return {"profile": profile, "selection": selections, "preset": presets, "config": config,
            "seeds": seeds_of(runs),
            "runs": len({r.get("run_id") for r in runs}),
            "commits": sorted({str(r.get("git_commit"))[:10] for r in runs if r.get("git_commit")}),
            "environments": environments(runs), "analysis_splits": analysis_splits(runs)}


ALL_SPLITS = "train,dev,test"


def analysis_splits(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The STS-B splits the runs' analyses read (alignment, uniformity, spectrum), one entry a set."""
    return sorted({",".join(a["splits"]) for a in (r.get("analysis") for r in runs)
                   if isinstance(a, Mapping) and a.get("splits")})


def environments(runs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many of ``runs`` each environment made (mocose.runner.environment.environment_key;
    "not recorded" for runs made before runs recorded it)."""
    out: dict[str, int] = {}
    for r in {r.get("run_id"): r for r in runs}.values():
        key = environment_key(r.get("environment"))
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def mixed_environments(cells: Sequence[Any]) -> list[str]:
    """One line for each cell whose seeds came from more than one environment (its mean mixes
    machines or library versions), naming them."""
    lines = []
    for cd in cells:
        keys = list(environments(cd.runs))
        if len(keys) > 1:
            lines.append(f"cell {cd.cell.label}: seeds from {len(keys)} environments: {' | '.join(keys)}")
    return lines


def provenance_lines(profile: str, runs: Sequence[Mapping[str, Any]],
                     config: Config | None = None, recipe_note: bool = False) -> list[str]:
    """The header every report page carries: profile (and whether it is comparable to the paper),
    encoder and data, the model-selection rule, the preset, seeds and code commit."""
    p = provenance(profile, runs, config)
    config = p["config"]
    lines = [
        f"- **Profile**: `{profile}`. " + (
            "This is a reproduction at the paper's scale: measured numbers are comparable to the "
            "paper's." if profile == "paper" else
            f"**Not a reproduction**: the `{profile}` profile is smaller than the paper's setup, so "
            "its numbers are not comparable to the paper's; the paper's values are shown for "
            "orientation only."),
        "- **Model selection**: " + "; ".join(
            f"`{s}`: {SELECTION_RULES.get(s, s)}" for s in p["selection"]) + ".",
        "- **Preset**: " + ", ".join(f"`{x}`" for x in p["preset"]) + (
            " (the runs' configs name no preset: the suite's own clean recipe)."
            if p["preset"] == [DEFAULT_PRESET] else "."),
        f"- **Encoder**: `{config.model.encoder}`; **training data**: `{config.train.train_file}`, "
        f"{config.train.train_sentences or 'all'} sentences, batch {config.train.batch_size}, "
        f"lr {config.train.learning_rate:g}"
        + (" (the artifact's base recipe and cells may override these)" if recipe_note else "") + ".",
        f"- **Seeds found**: {', '.join(map(str, p['seeds'])) if p['seeds'] else 'none'} "
        f"({p['runs']} distinct run{'s' if p['runs'] != 1 else ''}).",
    ]
    if p["commits"]:
        lines.append(f"- **Code**: git commit(s) {', '.join(p['commits'])}.")
    if any(s != ALL_SPLITS for s in p["analysis_splits"]):
        lines.append("- **Analyses** (alignment, uniformity, singular spectrum): on STS-B "
                     + " / ".join(f"`{s}`" for s in p["analysis_splits"])
                     + " (the profile's `analysis_splits`; SimCSE's analysis reads train, dev and test).")
    if p["environments"]:
        lines.append("- **Environments**: " + "; ".join(
            f"{key} ({n} run{'s' if n != 1 else ''})" for key, n in p["environments"].items()) + ".")
    return lines


def provenance_subtitle(profile: str, runs: Sequence[Mapping[str, Any]],
                        config: Config | None = None) -> str:
    """The same provenance in one line, for a figure's title."""
    p = provenance(profile, runs, config)
    scope = "reproduction" if profile == "paper" else "not comparable to the paper"
    return (f"profile {profile} ({scope}), selection {'/'.join(p['selection'])}, "
            f"preset {'/'.join(p['preset'])}, encoder {p['config'].model.encoder}, "
            f"seeds {','.join(map(str, p['seeds'])) if p['seeds'] else 'none'}")
