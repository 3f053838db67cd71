"""Checking one configuration value: the error every check raises names the field and what it allows."""
from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A configuration field has a value outside what it allows."""


def fail(name: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"{name}={value!r} is not allowed: {name} must be {allowed}")


def one_of(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        fail(name, value, "one of " + ", ".join(map(str, choices)))


def within(name: str, value: float, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False, hi_open: bool = False) -> None:
    ok = True
    if lo is not None:
        ok &= value > lo if lo_open else value >= lo
    if hi is not None:
        ok &= value < hi if hi_open else value <= hi
    if not ok:
        left = ("(" if lo_open else "[") + ("-inf" if lo is None else f"{lo:g}")
        right = ("inf" if hi is None else f"{hi:g}") + (")" if hi_open else "]")
        fail(name, value, f"in {left}, {right}")
