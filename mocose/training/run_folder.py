"""The run folder of ``mocose train --out DIR``: what a new run, an overwrite and a resume may find.

A run's folder holds ``metrics.jsonl`` (one line per logged step), ``best/`` (the selected
checkpoint, a Hugging Face encoder folder plus heads), ``state/`` (everything needed to resume
after a kill: model, optimizer, RNG, counters, curve), ``train.json`` (the summary of a finished
run), ``eval.json`` (``--evaluate``) and ``runs/`` (TensorBoard's event files, ``--report-to
tensorboard``). The checks here run before anything is written.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from ..config import Config, ConfigError
from ..model.checkpoint import CheckpointError, check_model_folder, read_tree_json, recover_folder

RUN_FILES = ("metrics.jsonl", "state", "best", "last", "train.json", "eval.json", "runs")  # runs: TensorBoard's
STATE_FILES = ("state.json", "state.safetensors")


def check_run_folder(out: Path, config: Config, resume: bool, overwrite: bool,
                     allow_config_change: bool) -> list[str]:
    """Refuse, before anything is written, a new run over an old one (unless ``overwrite``), a
    resume from an incomplete state, or a resume with other settings than the saved run's (unless
    ``allow_config_change``). Returns the changed settings ("field: old -> new") a resume accepts."""
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other: continue the run in the "
                          "folder, or replace it")
    recover_folder(out / "state")  # undo a kill inside a folder replacement, drop half-built copies
    recover_folder(out / "best")
    (out / ".metrics.jsonl.tmp").unlink(missing_ok=True)  # a kill inside truncate_log
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if existing and not resume and not overwrite:
        raise ConfigError(f"{out} already holds a run ({', '.join(existing)}): pass --resume to "
                          f"continue it or --overwrite to replace it")
    if not resume:
        return []
    state_dir = out / "state"
    if not state_dir.exists():
        return []  # killed before its first save: there is nothing to resume, a fresh start is exact
    missing = [name for name in STATE_FILES if not (state_dir / name).is_file()]
    if missing:
        raise CheckpointError(f"cannot resume {out}: {state_dir / missing[0]} is missing; restore it, "
                              f"or start the run again with --overwrite")
    saved = _saved_config(state_dir)
    if saved is None:
        return []
    changes = config_differences(saved, config)
    if changes and not allow_config_change:
        raise ConfigError(f"cannot resume {out} with other settings than it was started with: "
                          f"{'; '.join(changes)} (pass the run's own settings, or "
                          f"--allow-config-change to continue under the new ones)")
    if changes:
        print(f"mocose: resuming {out} under changed settings: {'; '.join(changes)}", file=sys.stderr)
    return changes


def _saved_config(state_dir: Path) -> dict | None:
    """The config a saved state was made with (read from its JSON half only), or None when the
    state predates configs being saved; then the best checkpoint's config stands in."""
    structure = read_tree_json(state_dir, "state")
    entries = structure.get("__dict__", []) if isinstance(structure, dict) else []
    for key, value in entries:
        if key == "config":
            return _plain(value)
    meta = state_dir.parent / "best" / "mocose_config.json"
    try:
        return json.loads(meta.read_text())["config"]
    except (OSError, ValueError, KeyError):
        return None


def _plain(tree: Any) -> Any:
    """A JSON value of a saved tree back as plain dicts and lists."""
    if isinstance(tree, dict) and "__dict__" in tree:
        return {k: _plain(v) for k, v in tree["__dict__"]}
    if isinstance(tree, list):
        return [_plain(v) for v in tree]
    return tree


def config_differences(saved: dict, config: Config) -> list[str]:
    """The fields whose values differ between a saved config and ``config``: "name: old -> new"."""
    try:
        old = Config.from_dict(saved).flat()
    except (TypeError, ValueError) as err:
        return [f"the saved config is unreadable ({err})"]
    new = config.flat()
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)]


def check_best_checkpoint(out: Path, best: dict) -> None:
    """A resumed run whose state names a best checkpoint must still have it, whole."""
    if best.get("step", 0) <= 0:
        return
    try:
        check_model_folder(out / "best")
    except CheckpointError as err:
        raise CheckpointError(f"cannot resume {out}: the best checkpoint of step {best['step']} "
                              f"(score {best.get('score')}) is gone or damaged ({err}); its weights "
                              f"cannot be recomputed: start the run again with --overwrite") from None


def clear_run_folder(out: Path) -> None:
    """Remove the files of an old run from ``out`` (only those: anything else there is kept)."""
    for name in RUN_FILES:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def check_resumable(out: Path, resume: bool) -> None:
    """``--resume`` asks for a saved state: a folder without one is refused, never restarted."""
    if not resume:
        return
    recover_folder(out / "state")
    if not (out / "state").is_dir():
        if not any((out / n).exists() for n in RUN_FILES):
            raise CheckpointError(f"cannot resume {out}: it holds no run; start one without --resume")
        raise CheckpointError(f"cannot resume {out}: it has no saved state ({out / 'state'} is missing: "
                              f"killed before its first save, or removed); start it again with --overwrite")


def truncate_log(path: Path, step: int) -> None:
    """Drop log lines past ``step`` (written after the last saved state, before a kill). A log with
    a line that does not parse is kept aside as ``metrics.jsonl.broken-N`` and its sound lines up
    to ``step`` are kept."""
    if not path.exists():
        return
    keep, broken = [], False
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line) if line else None
        except json.JSONDecodeError:
            record, broken = None, True
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            if record["step"] <= step:
                keep.append(line)
        elif line:
            broken = True
    if broken:
        n = 1
        while path.with_name(f"{path.name}.broken-{n}").exists():
            n += 1
        aside = path.with_name(f"{path.name}.broken-{n}")
        path.rename(aside)
        print(f"mocose: {path} had lines that do not parse; kept as {aside}, its sound lines up to "
              f"step {step} carried over", file=sys.stderr)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(line + "\n" for line in keep))
    os.replace(tmp, path)  # a kill leaves the old log or the new one, never half of one
