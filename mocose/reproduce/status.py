"""``mocose status``: what a results folder holds, per artifact: runs in flight (with their
progress), failed (with the first line of the error) and done, read from the folder alone."""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ablations.spec import Registry
from ..runner import store
from ..runner.plan import results_root
from .request import DEFAULT_MAX_SEEDS


@dataclass
class RunState:
    """One run of the results folder: ``state`` is done, failed, running or stale (a lock no
    live process holds: its sweep was killed; the next reproduce removes it)."""

    run_id: str
    state: str
    detail: str = ""
    artifacts: list[str] = field(default_factory=list)


def _progress(work: Path) -> str:
    """The last logged step of a run in flight and its dev score, from its metrics.jsonl."""
    logs = sorted(work.rglob("metrics.jsonl")) if work.is_dir() else []
    if not logs:
        return "starting"
    last, dev = None, None
    for line in logs[0].read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        last = record.get("step", last)
        dev = record.get("score", dev)  # a validation record carries the STS-B dev score
    text = f"step {last}" if last is not None else "starting"
    return text + (f", dev {dev:.2f}" if isinstance(dev, (int, float)) else "")


def run_states(results: Path, profile: str) -> dict[str, RunState]:
    """Every run the folder knows of for ``profile``, by run id."""
    states: dict[str, RunState] = {}
    for run_id in store.load_results(results, profile):
        states[run_id] = RunState(run_id, "done")
    for run_id, record in store.load_failures(results, profile).items():
        if run_id not in states:
            error = str(record.get("error", "")).strip().splitlines()
            states[run_id] = RunState(run_id, "failed", error[0] if error else "")
    work = store.profile_dir(results, profile) / "work"
    for lock in sorted(work.glob("*.lock")) if work.is_dir() else []:
        run_id = lock.stem
        if run_id in states and states[run_id].state == "done":
            continue
        if store.lock_held(lock):
            states[run_id] = RunState(run_id, "running", _progress(work / run_id))
        else:
            states[run_id] = RunState(run_id, "stale", "lock of a killed sweep (removed by the next reproduce)")
    return states


def by_artifact(states: dict[str, RunState], registry: Registry, profile: str,
                seeds: int = DEFAULT_MAX_SEEDS) -> dict[str, list[RunState]]:
    """The runs of each artifact (up to ``seeds`` seeds a cell), in the registry's order; runs no
    artifact asks for under ``(other)``."""
    from ..presets import PRESETS, preset_configs

    out: dict[str, list[RunState]] = {}
    for art in registry.artifacts:
        ids = {c.digest() for preset in PRESETS for _, c in preset_configs(art, profile, seeds, preset)}
        for run_id in sorted(ids & set(states)):
            states[run_id].artifacts.append(art.name)
            out.setdefault(art.name, []).append(states[run_id])
    other = [s for s in states.values() if not s.artifacts]
    if other:
        out["(other)"] = other
    return out


def cmd_status(args: argparse.Namespace) -> int:
    """Print, per artifact, the runs done, running and failed; the runs in flight and failed one
    a line."""
    from .commands import registry_of

    results = results_root(args.results)
    states = run_states(results, args.profile)
    groups = by_artifact(states, registry_of(args), args.profile)
    if args.json:
        print(json.dumps({name: [vars(s) for s in runs] for name, runs in groups.items()}, indent=1))
        return 0
    if not states:
        print(f"no runs of profile {args.profile!r} in {results}")
        return 0
    for name, runs in groups.items():
        count = {k: sum(s.state == k for s in runs) for k in ("done", "running", "failed", "stale")}
        print(f"{name}: " + ", ".join(f"{n} {k}" for k, n in count.items() if n))
        for s in runs:
            if s.state != "done":
                print(f"  {s.state:8s} {s.run_id}  {s.detail}")
    total = {k: sum(s.state == k for s in states.values()) for k in ("done", "running", "failed", "stale")}
    print(f"({len(states)} runs of profile {args.profile!r} in {results}: "
          + ", ".join(f"{n} {k}" for k, n in total.items()) + ")")
    return 0


def register(subparsers: Any) -> None:
    """Add ``mocose status``."""
    p = subparsers.add_parser("status", help="runs done, in flight and failed, per artifact",
                              description="What the results folder holds for a profile: per artifact, "
                                          "runs done, in flight (with their last logged step) and "
                                          "failed (with the first line of the error); read from "
                                          "the folder alone, so it works while a sweep runs.")
    p.add_argument("--profile", default="cpu", help="profile of the runs (default: cpu)")
    p.add_argument("--results", default=None,
                   help=f"results folder (default: ${store.RESULTS_ENV} or ./results)")
    p.add_argument("--json", action="store_true", help="the same as data: per artifact, each run's state")
    p.set_defaults(func=cmd_status)
