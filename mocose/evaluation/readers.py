"""Readers for SentEval's ``data/downstream`` files, parsing exactly as SentEval does.

Each reader returns sentences as SentEval hands them to its batcher: the file text split on
whitespace and joined again by single spaces. Files are parsed once per process (cached by path,
modification time and size), so the training loop's periodic STS-B dev check costs no parsing.
A missing, empty or truncated file (checked against the folder's MANIFEST.md5, or SentEval's line
counts) or a malformed line raises :class:`mocose.data.DataError` naming file and line.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

from ..data import DataError, FETCH_HINT, check_senteval_file, note_read

T = TypeVar("T")

TREC_LABELS = {"ABBR": 0, "DESC": 1, "ENTY": 2, "HUM": 3, "LOC": 4, "NUM": 5}


@dataclass(frozen=True)
class PairSet:
    """Sentence pairs with a gold value per pair (similarity score or class label)."""

    name: str
    a: tuple[str, ...]
    b: tuple[str, ...]
    gold: np.ndarray

    def __len__(self) -> int:
        return len(self.a)


@dataclass(frozen=True)
class LabelledSet:
    """Single sentences with an integer class label each."""

    x: tuple[str, ...]
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


def _words(text: str) -> str:
    """SentEval's view of a sentence: whitespace tokens joined by single spaces."""
    return " ".join(text.split())


def _cached(reader: Callable[[Path], T]) -> Callable[[Path], T]:
    """Cache ``reader(path)`` per process, keyed by path, mtime and size (edits are re-read)."""

    @functools.lru_cache(maxsize=256)
    def keyed(path: str, mtime_ns: int, size: int) -> T:
        return reader(Path(path))

    @functools.wraps(reader)
    def wrapper(path: Path) -> T:
        path = Path(path)
        try:
            st = os.stat(path)
        except OSError:
            raise DataError(f"evaluation file {path} does not exist; {FETCH_HINT}") from None
        note_read(path)  # a cached read is a read too: the run's provenance lists the file
        return keyed(str(path.resolve()), st.st_mtime_ns, st.st_size)

    wrapper.cache_clear = keyed.cache_clear  # type: ignore[attr-defined]
    return wrapper


def _float(text: str, path: Path, lineno: int, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise DataError(f"{path}:{lineno}: {what} {text!r} is not a number") from None


def _int(text: str, path: Path, lineno: int, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise DataError(f"{path}:{lineno}: {what} {text!r} is not an integer") from None


def _fields(line: str, path: Path, lineno: int, need: int, what: str) -> list[str]:
    fields = line.strip().split("\t")
    if len(fields) < need:
        raise DataError(f"{path}:{lineno}: expected at least {need} tab-separated fields ({what}), "
                        f"found {len(fields)}")
    return fields


def _read_text(path: Path, encoding: str) -> str:
    """The text of ``path``, checked first (mocose.data.check_senteval_file): an empty file, or one
    that differs from the folder's MANIFEST.md5 or from SentEval's line count, is refused."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"evaluation file {path} does not exist; {FETCH_HINT}") from None
    check_senteval_file(Path(path), raw)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = err.object[: err.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid {encoding} text ({err.reason})") from None
    # Universal newlines, as the text-mode open() of SentEval (and of this reader before) gives.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_sts_subset(folder: Path, name: str) -> PairSet:
    """One STS12-16 subset: ``STS.input.NAME.txt`` (two tab-separated sentences a line) and
    ``STS.gs.NAME.txt`` (one gold score a line); pairs whose gold line is empty are dropped."""
    pairs = _read_sts_subset(Path(folder) / f"STS.input.{name}.txt")
    note_read(Path(folder) / f"STS.gs.{name}.txt")
    return pairs


@_cached
def _read_sts_subset(input_path: Path) -> PairSet:
    name = input_path.name[len("STS.input."):-len(".txt")]
    gold_path = input_path.with_name(f"STS.gs.{name}.txt")
    # SentEval reads with .read().splitlines(); so do we, so that the same lines come out.
    lines = _read_text(input_path, "utf8").splitlines()
    golds = _read_text(gold_path, "utf8").splitlines()
    if len(lines) != len(golds):
        raise DataError(f"{input_path} has {len(lines)} lines but its gold file {gold_path} has "
                        f"{len(golds)}; each input line needs one gold line (empty when unscored)")
    a, b, gold = [], [], []
    for lineno, (line, score) in enumerate(zip(lines, golds), start=1):
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataError(f"{input_path}:{lineno}: expected 2 tab-separated sentences, "
                            f"found {len(fields)} fields")
        if score == "":
            continue  # SentEval drops pairs without a gold score
        gold.append(_float(score, gold_path, lineno, "gold score"))
        a.append(_words(fields[0]))
        b.append(_words(fields[1]))
    return PairSet(name, tuple(a), tuple(b), np.asarray(gold, dtype=np.float64))


@_cached
def read_stsb(path: Path) -> PairSet:
    """An STS Benchmark split (``sts-*.csv``): column 4 score, 5 and 6 the sentences."""
    a, b, gold = [], [], []
    text = _read_text(path, "utf-8")
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line and lineno > text.count("\n"):
            break  # the final newline
        fields = _fields(line, path, lineno, 7, "genre, file, year, id, score, sentence 1, sentence 2")
        gold.append(_float(fields[4], path, lineno, "score"))
        a.append(_words(fields[5]))
        b.append(_words(fields[6]))
    return PairSet(Path(path).stem, tuple(a), tuple(b), np.asarray(gold, dtype=np.float64))


def _rows_after_header(path: Path):
    """(line number, line) of a UTF-8 file with a header row, the final empty line left out."""
    lines = _read_text(path, "utf-8").split("\n")
    for lineno, line in enumerate(lines[1:], start=2):
        if not line and lineno == len(lines):
            break
        yield lineno, line


@_cached
def read_sick(path: Path) -> PairSet:
    """A SICK split: a header row, then column 1 and 2 the sentences, 3 the relatedness score."""
    a, b, gold = [], [], []
    for lineno, line in _rows_after_header(path):
        fields = _fields(line, path, lineno, 4, "pair id, sentence A, sentence B, relatedness score")
        gold.append(_float(fields[3], path, lineno, "relatedness score"))
        a.append(_words(fields[1]))
        b.append(_words(fields[2]))
    return PairSet(Path(path).stem, tuple(a), tuple(b), np.asarray(gold, dtype=np.float64))


@_cached
def read_lines_latin1(path: Path) -> tuple[str, ...]:
    """One sentence a line, latin-1 (MR, CR, SUBJ, MPQA): SentEval's ``read().splitlines()``.
    Empty lines are kept as empty sentences, as SentEval keeps them."""
    return tuple(_words(line) for line in _read_text(path, "latin-1").splitlines())


@_cached
def read_sst_binary(path: Path) -> LabelledSet:
    """An SST binary split: ``sentence<TAB>label`` a line."""
    x, y = [], []
    text = _read_text(path, "utf-8")
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line and lineno > text.count("\n"):
            break
        fields = _fields(line, path, lineno, 2, "sentence, label")
        y.append(_int(fields[1], path, lineno, "label"))
        x.append(_words(fields[0]))
    return LabelledSet(tuple(x), np.asarray(y, dtype=np.int64))


@_cached
def read_trec(path: Path) -> LabelledSet:
    """A TREC file (latin-1): ``COARSE:fine question words`` a line; the coarse class is the label."""
    x, y = [], []
    text = _read_text(path, "latin-1")
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line and lineno > text.count("\n"):
            break
        target, sep, rest = line.strip().partition(":")
        words = rest.split(" ", 1)
        if not sep or len(words) < 2:
            raise DataError(f"{path}:{lineno}: expected 'CLASS:subclass question', found {line[:60]!r}")
        if target not in TREC_LABELS:
            raise DataError(f"{path}:{lineno}: unknown TREC class {target!r}; "
                            f"expected one of {', '.join(TREC_LABELS)}")
        y.append(TREC_LABELS[target])
        x.append(_words(words[1]))
    return LabelledSet(tuple(x), np.asarray(y, dtype=np.int64))


@_cached
def read_mrpc(path: Path) -> PairSet:
    """An MRPC file: a header row, then column 0 the label, 3 and 4 the sentences."""
    a, b, gold = [], [], []
    for lineno, line in _rows_after_header(path):
        fields = _fields(line, path, lineno, 5, "quality, id 1, id 2, string 1, string 2")
        gold.append(_int(fields[0], path, lineno, "quality label"))
        a.append(_words(fields[3]))
        b.append(_words(fields[4]))
    return PairSet(Path(path).stem, tuple(a), tuple(b), np.asarray(gold, dtype=np.int64))


def clear_caches() -> None:
    """Forget every parsed file (for benchmarks that time parsing)."""
    for reader in (_read_sts_subset, read_stsb, read_sick, read_lines_latin1, read_sst_binary,
                   read_trec, read_mrpc):
        reader.cache_clear()  # type: ignore[attr-defined]
