"""An artifact rerun at another base setting (``mocose reproduce NAME --set batch_size=32``).

The derived artifact is the same grid with the overrides on top of its base; a cell that sets one
of those fields itself keeps its own value (its notes say which). Its name carries the overrides
(``table3+batch_size=32``), so its runs, report files and verdicts stay apart from the original's,
and the name alone rebuilds it (:func:`split_name`) for ``mocose report``/``claims``/``seeds``.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Mapping

from mocose.config import ConfigError, parse_assignments, parse_value

from .spec import Artifact

# Characters a value may hold and still be part of a report's file name.
SAFE_VALUE = re.compile(r"[A-Za-z0-9_.:-]+\Z")


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` strings as ``mocose train --set`` reads them, each value of its field's type;
    a value that cannot be part of a file name (a path) is refused."""
    out = {}
    for key, text in parse_assignments(items).items():
        value = parse_value(key, text)
        if not SAFE_VALUE.match(_fmt(value)):
            raise ConfigError(f"--set {key}={text}: the value names the report files, so it may hold "
                              "only letters, digits and . _ : -; put other values in a study file's base")
        out[key] = value
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):  # repr round-trips; '+' separates overrides in a name
        return repr(value).replace("e+", "e")
    return str(value)


def derived_name(name: str, overrides: Mapping[str, Any]) -> str:
    """``name+key=value+...``: the name of ``name`` rerun at ``overrides``."""
    return name + "".join(f"+{k}={_fmt(v)}" for k, v in overrides.items())


def split_name(name: str) -> tuple[str, dict[str, Any]]:
    """The artifact and overrides a derived name carries (``table3+batch_size=32`` ->
    ``("table3", {"batch_size": 32})``); a plain name has none."""
    base, *parts = name.split("+")
    return base, parse_overrides(parts) if parts else {}


def with_overrides(art: Artifact, overrides: Mapping[str, Any]) -> Artifact:
    """``art`` at ``overrides`` on top of its base: its name and title carry them; a cell that
    sets one of the fields itself keeps its own value, and the notes say so."""
    if not overrides:
        return art
    setting = ", ".join(f"{k}={_fmt(v)}" for k, v in overrides.items())
    kept = []
    for cell in art.cells:
        own = {k: recipe[k] for recipe in cell.recipes for k in overrides if k in recipe}
        if own:
            kept.append(f"{cell.label} ({', '.join(f'{k}={_fmt(v)}' for k, v in own.items())})")
    notes = [art.notes] if art.notes else []
    notes.append(f"Rerun of {art.name} at {setting} on top of its recipe"
                 + (f"; these cells set the field themselves and keep their own value: {'; '.join(kept)}"
                    if kept else "")
                 + ". Published numbers are the original's, at its own setting.")
    return dataclasses.replace(art, name=derived_name(art.name, overrides), title=f"{art.title} [{setting}]",
                               base={**art.base, **overrides}, notes=" ".join(notes))
