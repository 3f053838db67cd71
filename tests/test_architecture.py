"""The package's import graph: acyclic, and its arrows run one way between the layers.

Read from the source with ``ast`` (every ``import`` and ``from ... import``, at module level or
inside a function), so a lazy import cannot hide a cycle. The layers, lowest first:

    base (config, fields, queue_specs, profiles, presets, data, download, device, mtd, provenance)
    < model < evaluation < ablations < training < runner < report < reproduce
    < facade (api, cli, __init__)

A module may import its own layer's modules and any lower layer's, never a higher one. Loading a
module by name (``importlib.import_module``) is kept to where a command or a child process loads
what it was named (the CLI's command modules, a job's ``module:function``) and a package's lazy
loading of its own submodules.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mocose", "ablations")
BASE = {"config", "fields", "queue_specs", "profiles", "presets", "data", "download", "device", "mtd",
        "provenance"}
FACADE = {"api", "cli", "__init__", "__main__"}
LAYERS = ["base", "model", "evaluation", "ablations", "training", "runner", "report", "reproduce", "facade"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules that ``name`` imports anywhere in its file."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in known:  # `from x import name`: the module x
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def layer(name: str) -> str:
    parts = name.split(".")
    if parts[0] == "ablations":
        return "ablations"
    if len(parts) == 1:
        return "facade"
    head = parts[1]
    if head in BASE:
        return "base"
    if head in FACADE:
        return "facade"
    if head in LAYERS:
        return head
    raise AssertionError(f"{name}: not in any layer; add it to BASE, FACADE or a subpackage")


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def cycle_in(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None (iterative DFS)."""
    state: dict[str, int] = {}
    for start in edges:
        if state.get(start):
            continue
        stack = [(start, iter(sorted(edges[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(edges.get(child, ())))))
    return None


# A package's __init__ is its facade: importing mocose.model.x first runs mocose.model, so an
# edge into a package's own __init__ from inside it is structural, not a design choice.
def project_edges() -> dict[str, set[str]]:
    edges = graph()
    return {a: {b for b in bs if not a.startswith(b + ".")} for a, bs in edges.items()}


def test_the_import_graph_is_acyclic():
    cycle = cycle_in(project_edges())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_arrows_run_from_higher_layers_to_lower_ones():
    wrong = []
    for a, targets in project_edges().items():
        for b in targets:
            if LAYERS.index(layer(b)) > LAYERS.index(layer(a)):
                wrong.append(f"{a} ({layer(a)}) imports {b} ({layer(b)})")
    assert not wrong, "\n".join(sorted(wrong))


def test_modules_are_loaded_by_name_only_where_a_command_or_a_job_names_them():
    loads = set()
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
                loads.add(name)
    # mocose.evaluation: its package __init__ loads its own submodules on first attribute access
    assert loads <= {"mocose.cli", "mocose.runner.job", "mocose.evaluation"}, sorted(loads)


def test_every_module_belongs_to_a_layer():
    for name in modules():
        layer(name)


# The checker itself, on graphs whose answer is known.
def test_cycle_finder_finds_a_planted_cycle_and_clears_a_dag():
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"x": set(), "a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


def test_function_level_and_relative_imports_are_seen(tmp_path):
    pkg = tmp_path / "mocose" / "model"
    pkg.mkdir(parents=True)
    (tmp_path / "mocose" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from ..report import b\n    from . import c\n")
    known = {"mocose", "mocose.model", "mocose.model.a", "mocose.model.c", "mocose.report",
             "mocose.report.b"}
    # `from ..report import b` runs mocose.report and then mocose.report.b: both are edges
    assert imports_of("mocose.model.a", pkg / "a.py", known) == {"mocose.report", "mocose.report.b",
                                                                  "mocose.model", "mocose.model.c"}


KNOWN = {"mocose.model.queue": "model", "mocose.report.build": "report", "mocose.config": "base",
         "mocose.reproduce.pipeline": "reproduce", "mocose.runner.sweep": "runner"}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_modules_sit_in_their_layer(name):
    assert name in modules()
    assert layer(name) == KNOWN[name]
