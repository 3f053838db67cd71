"""The results folder: where a run's result, failure record and work dir live, written atomically.

Layout (also in docs/results.md)::

    RESULTS/<profile>/runs/<run_id>.json     a finished run (status ok or collapsed)
    RESULTS/<profile>/failed/<run_id>.json   the last failure of a run not finished yet
    RESULTS/<profile>/work/<run_id>/         checkpoints and resumable state of a run
    RESULTS/<profile>/logs/<run_id>.log      the job process's output, every attempt appended
    RESULTS/<profile>/invalid/               result or failure files that did not parse or lacked
                                             their fields, set aside (never deleted) when read

A file under ``runs/`` is the only sign that a run is done, so it is written to a temporary name and
renamed into place: a process killed at any moment leaves either the whole file or none.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..config import Config

SCHEMA = 1
RESULTS_ENV = "MOCOSE_RESULTS"
TEMP_PREFIX = "."  # temporary files are hidden and end in .tmp: never mistaken for a result
STALE_TEMP_SECONDS = 300.0


def default_results_dir() -> Path:
    """$MOCOSE_RESULTS if set, else ./results."""
    return Path(os.environ.get(RESULTS_ENV) or "results")


def profile_dir(results_dir: str | os.PathLike, profile: str) -> Path:
    return Path(results_dir).expanduser().resolve() / profile


def result_path(results_dir: str | os.PathLike, profile: str, run_id: str) -> Path:
    return profile_dir(results_dir, profile) / "runs" / f"{run_id}.json"


def failure_path(results_dir: str | os.PathLike, profile: str, run_id: str) -> Path:
    return profile_dir(results_dir, profile) / "failed" / f"{run_id}.json"


def work_path(results_dir: str | os.PathLike, profile: str, run_id: str) -> Path:
    return profile_dir(results_dir, profile) / "work" / run_id


def log_path(results_dir: str | os.PathLike, profile: str, run_id: str) -> Path:
    return profile_dir(results_dir, profile) / "logs" / f"{run_id}.log"


def design_path(results_dir: str | os.PathLike, profile: str, artifact: str) -> Path:
    """RESULTS/<profile>/sequential/<artifact>.json: the sequential design (start, max_seeds,
    spending) ``reproduce --until-resolved`` planned the artifact's seeds with, so the report and
    ``mocose seeds`` test its runs under the same design."""
    return profile_dir(results_dir, profile) / "sequential" / f"{artifact}.json"


def read_design(results_dir: str | os.PathLike, profile: str, artifact: str) -> dict[str, Any] | None:
    """The recorded sequential design of an artifact, or None (none recorded or unreadable)."""
    path = design_path(results_dir, profile, artifact)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf8") as f:
            json.dump(data, f, indent=1, sort_keys=True, default=_json_default, allow_nan=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(value: Any) -> Any:
    """Numbers and arrays from numpy/torch, paths: whatever a result body may carry."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a result file: {value!r}")


def read_json(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf8") as f:
        return json.load(f)


# Fields every result file carries (docs/results.md), with their types; a file without them was
# not written by a finished job (a hand edit, a copy cut short) and is never counted as done.
RESULT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "schema": int, "run_id": str, "profile": str, "status": str, "config": dict, "metrics": dict}
RESULT_STATUSES = ("ok", "collapsed")
FAILURE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "run_id": str, "profile": str, "status": str, "error": str}
INVALID_DIR = "invalid"  # RESULTS/<profile>/invalid/: files set aside, kept for inspection


def result_problem(path: Path, fields: dict[str, Any] = RESULT_FIELDS,
                   statuses: tuple[str, ...] = RESULT_STATUSES) -> tuple[dict[str, Any] | None, str | None]:
    """(contents, None) for a sound file; (None, what is wrong) for one that does not parse, is not
    an object, lacks a field, or names another run or profile than its place says."""
    try:
        data = read_json(path)
    except UnicodeDecodeError as err:
        return None, f"not UTF-8 text ({err.reason})"
    except json.JSONDecodeError as err:
        return None, f"not valid JSON ({err.msg} at line {err.lineno})"
    if not isinstance(data, dict):
        return None, f"a JSON {type(data).__name__}, not an object"
    missing = [k for k in fields if k not in data]
    if missing:
        return None, f"lacks {', '.join(missing)}"
    wrong = [k for k, kind in fields.items() if not isinstance(data[k], kind) or isinstance(data[k], bool)]
    if wrong:
        return None, "wrong type for " + ", ".join(f"{k} ({type(data[k]).__name__})" for k in wrong)
    if data["run_id"] != path.stem:
        return None, f"run_id {data['run_id']!r} differs from its file name"
    if data["profile"] != path.parent.parent.name:
        return None, f"profile {data['profile']!r} differs from its folder {path.parent.parent.name!r}"
    if data["status"] not in statuses:
        return None, f"status {data['status']!r} is not one of {', '.join(statuses)}"
    return data, None


def set_aside(path: Path, reason: str) -> Path:
    """Move ``path`` to RESULTS/<profile>/invalid/ (never overwriting, never deleting) and say so
    in one line on stderr."""
    folder = path.parent.parent / INVALID_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    target = folder / f"{path.parent.name}-{path.stem}-{stamp}.json"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{path.parent.name}-{path.stem}-{stamp}-{n}.json"
    try:
        os.replace(path, target)
    except FileNotFoundError:  # another process set it aside first
        return target
    print(f"mocose: set aside {path} ({reason}); kept as {target}; the next reproduce reruns it",
          file=sys.stderr, flush=True)
    return target


def _load_folder(folder: Path, fields: dict[str, Any], statuses: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith(TEMP_PREFIX):
            continue
        try:
            data, problem = result_problem(path, fields, statuses)
        except FileNotFoundError:  # set aside or replaced meanwhile by another process
            continue
        if problem is not None:
            set_aside(path, problem)
            continue
        out[path.stem] = data
    return out


def load_results(results_dir: str | os.PathLike, profile: str) -> dict[str, dict[str, Any]]:
    """The finished runs of ``profile``: run_id -> result (body plus identity and provenance).
    A file that does not parse or lacks its fields is set aside (:func:`set_aside`), not returned."""
    return _load_folder(profile_dir(results_dir, profile) / "runs", RESULT_FIELDS, RESULT_STATUSES)


def load_failures(results_dir: str | os.PathLike, profile: str) -> dict[str, dict[str, Any]]:
    """The runs of ``profile`` whose last attempt failed: run_id -> failure record."""
    return _load_folder(profile_dir(results_dir, profile) / "failed", FAILURE_FIELDS, ("failed",))


def remove_stale_temps(results_dir: str | os.PathLike, profile: str,
                       older_than: float = STALE_TEMP_SECONDS) -> int:
    """Delete temporary files a killed writer left (old enough that no writer still owns them)."""
    removed = 0
    now = time.time()
    for sub in ("runs", "failed"):
        for tmp in (profile_dir(results_dir, profile) / sub).glob(f"{TEMP_PREFIX}*.tmp"):
            try:
                if now - tmp.stat().st_mtime > older_than:
                    tmp.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
    return removed


def lock_held(path: Path) -> bool:
    """Whether a live process holds the run lock at ``path`` (a lock of a killed process is not
    held: the kernel released it with the process)."""
    import fcntl

    try:
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return False
    except FileNotFoundError:
        return False


def stale_locks(results_dir: str | os.PathLike, profile: str) -> list[Path]:
    """Run locks (``work/<run_id>.lock``) that no live process holds: left by a killed sweep."""
    return [p for p in sorted((profile_dir(results_dir, profile) / "work").glob("*.lock")) if not lock_held(p)]


def remove_stale_locks(results_dir: str | os.PathLike, profile: str) -> list[str]:
    """Delete the run locks no live process holds; their run ids."""
    removed = []
    for path in stale_locks(results_dir, profile):
        path.unlink(missing_ok=True)
        removed.append(path.stem)
    return removed


# -- identity and provenance ---------------------------------------------------------------------
def identity(config: Config) -> dict[str, Any]:
    """The fields that say which run a file belongs to. run_id = config.digest(): what was trained
    (and how embeddings are read), never which tasks it is evaluated on (eval_tasks is left out),
    so artifacts that evaluate one model on different tasks share the run."""
    return {
        "schema": SCHEMA,
        "run_id": config.digest(),
        "profile": config.profile,
        "seed": config.train.seed,
        "config": config.to_dict(),
        "flat_config": config.flat(),
    }


def missing_tasks(result: dict[str, Any], config: Config) -> list[str]:
    """Tasks ``config.eval.eval_tasks`` asks for that a finished run's result lacks: those it was
    evaluated on are ``evaluated_tasks`` (the runner records them), else its metrics' tasks. A
    result with neither (written by hand, or by an older suite) is taken as complete."""
    from ..evaluation.tasks import parse_tasks

    if "evaluated_tasks" in result:
        have = set(result["evaluated_tasks"])
    elif isinstance((result.get("metrics") or {}).get("tasks"), dict):
        have = set(result["metrics"]["tasks"])
    else:
        return []
    return [t for t in parse_tasks(config.eval.eval_tasks) if t not in have]


def git_commit(source: str | os.PathLike | None = None) -> str | None:
    """``git rev-parse HEAD`` of the tree holding the mocose source, or None outside a git tree."""
    folder = Path(source) if source else Path(__file__).resolve().parents[1]
    try:
        done = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def host() -> str:
    return socket.gethostname()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
