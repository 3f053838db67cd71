"""Where the data lives: the folder from --data or MOCOSE_DATA, and the training sentences.

Layout (as SimCSE's download scripts leave it)::

    DATA/senteval/STS/...            SentEval's data/downstream
    DATA/wiki/wiki1m_for_simcse.txt  one training sentence a line

A folder holding only ``wiki1m_for_simcse.head.txt`` (the first 11,913 lines) serves any run that
needs no more than those lines.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "MOCOSE_DATA"
FETCH_HINT = "fetch the data with: mocose data download --to DIR (then pass --data DIR or set MOCOSE_DATA=DIR)"
HEAD_SUFFIX = ".head.txt"


class DataError(FileNotFoundError):
    """A data folder or file is missing or malformed; the message names it and the remedy."""


def resolve_data_dir(path: str | os.PathLike | None = None) -> Path:
    """The data folder: ``path`` if given, else $MOCOSE_DATA; it must hold ``senteval/``."""
    chosen = path if path not in (None, "") else os.environ.get(ENV_VAR)
    if not chosen:
        raise DataError(f"no data folder given: pass --data DIR or set {ENV_VAR}; {FETCH_HINT}")
    folder = Path(chosen).expanduser().resolve()
    if not folder.is_dir():
        raise DataError(f"data folder {folder} does not exist; {FETCH_HINT}")
    if not (folder / "senteval").is_dir():
        raise DataError(f"data folder {folder} has no senteval/ subfolder; {FETCH_HINT}")
    return folder


def senteval_dir(data_dir: str | os.PathLike | None = None) -> Path:
    return resolve_data_dir(data_dir) / "senteval"


def training_file(data_dir: Path, name: str, needed: int) -> Path:
    """The training file ``name`` (relative to the data folder, or absolute).

    When the full file is missing, its ``.head.txt`` prefix is used if it holds the ``needed``
    lines (0 means every line, which only the full file can give).
    """
    path = Path(name) if Path(name).is_absolute() else data_dir / name
    if path.is_file():
        return path
    head = path.with_name(path.stem + HEAD_SUFFIX) if path.suffix == ".txt" else None
    if head is not None and head.is_file() and needed > 0:
        with head.open(encoding="utf8") as f:
            count = sum(1 for _ in f)
        if count >= needed:
            return head
        raise DataError(f"{path} is missing and its head {head} holds {count} lines, fewer than "
                        f"the {needed} this run needs; {FETCH_HINT}")
    raise DataError(f"training file {path} does not exist; {FETCH_HINT}")


def read_sentences(path: Path, limit: int = 0) -> list[str]:
    """The first ``limit`` non-empty lines of ``path`` (all when 0), stripped."""
    out: list[str] = []
    with path.open(encoding="utf8") as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(line)
                if limit and len(out) >= limit:
                    break
    if not out:
        raise DataError(f"training file {path} holds no sentences")
    if limit and len(out) < limit:
        raise DataError(f"training file {path} holds {len(out)} sentences, fewer than the {limit} asked for")
    return out
