"""Where the data lives: the folder from --data or MOCOSE_DATA, and the training sentences.

Layout (as SimCSE's download scripts leave it)::

    DATA/senteval/STS/...            SentEval's data/downstream
    DATA/wiki/wiki1m_for_simcse.txt  one training sentence a line

A folder holding only ``wiki1m_for_simcse.head.txt`` (the first 11,913 lines) serves any run that
needs no more than those lines.
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

ENV_VAR = "MOCOSE_DATA"
FETCH_HINT = ("fetch the data with: mocose data download (into the default folder, found by every "
              "command) or mocose data download --to DIR (then pass --data DIR or set MOCOSE_DATA=DIR)")
HEAD_SUFFIX = ".head.txt"


class DataError(FileNotFoundError):
    """A data folder or file is missing or malformed; the message names it and the remedy."""


# -- which data files this process read (each run records their md5) --------------------------------
_READ: dict[str, str] = {}


@functools.lru_cache(maxsize=512)
def _md5(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def note_read(path: str | os.PathLike) -> None:
    """Record that this process read data file ``path`` (with its md5, computed once per version
    of the file): :func:`files_read` lists them for the run's provenance."""
    resolved = Path(path).resolve()
    st = resolved.stat()
    _READ[str(resolved)] = _md5(str(resolved), st.st_mtime_ns, st.st_size)


def files_read() -> dict[str, str]:
    """{path: md5} of every data file read since :func:`forget_reads` (a job calls it per run)."""
    return dict(sorted(_READ.items()))


def forget_reads() -> None:
    _READ.clear()


# -- SentEval's files, checked before use -----------------------------------------------------------
# Lines of each file SentEval's download script leaves (data/downstream), as the sizes published
# with SentEval (Conneau and Kiela, 2018) and ../shared/data/README.md give them: pairs or
# sentences, plus the header row of SICK and MRPC. STS12-16 input and gold files have one line a
# pair, scored or not. A file cut short, padded or emptied has another count and is refused.
SENTEVAL_LINES: dict[str, int] = {
    "CR/custrev.neg": 1368,
    "CR/custrev.pos": 2407,
    "MPQA/mpqa.neg": 7294,
    "MPQA/mpqa.pos": 3312,
    "MR/rt-polarity.neg": 5331,
    "MR/rt-polarity.pos": 5331,
    "MRPC/msr_paraphrase_test.txt": 1726,
    "MRPC/msr_paraphrase_train.txt": 4077,
    "SICK/SICK_test_annotated.txt": 4928,
    "SICK/SICK_train.txt": 4501,
    "SICK/SICK_trial.txt": 501,
    "SST/binary/sentiment-dev": 872,
    "SST/binary/sentiment-test": 1821,
    "SST/binary/sentiment-train": 67349,
    "STS/STSBenchmark/sts-dev.csv": 1500,
    "STS/STSBenchmark/sts-test.csv": 1379,
    "STS/STSBenchmark/sts-train.csv": 5749,
    "SUBJ/subj.objective": 5000,
    "SUBJ/subj.subjective": 5000,
    "TREC/TREC_10.label": 500,
    "TREC/train_5500.label": 5452,
}
STS_YEAR_LINES: dict[str, dict[str, int]] = {
    "STS12": {'MSRpar': 750, 'MSRvid': 750, 'SMTeuroparl': 459, 'surprise.OnWN': 750, 'surprise.SMTnews': 399},
    "STS13": {'FNWN': 189, 'OnWN': 561, 'headlines': 750},
    "STS14": {'OnWN': 750, 'deft-forum': 450, 'deft-news': 300, 'headlines': 750, 'images': 750, 'tweet-news': 750},
    "STS15": {'answers-forums': 2000, 'answers-students': 1500, 'belief': 2000, 'headlines': 1500, 'images': 1500},
    "STS16": {'answer-answer': 1572, 'headlines': 1498, 'plagiarism': 1271, 'postediting': 3287, 'question-question': 1555},
}
for _year, _subsets in STS_YEAR_LINES.items():
    for _name, _n in _subsets.items():
        for _kind in ("input", "gs"):
            SENTEVAL_LINES[f"STS/{_year}-en-test/STS.{_kind}.{_name}.txt"] = _n
MANIFEST = "MANIFEST.md5"  # `md5sum` lines, paths relative to the senteval/ folder


def count_lines(raw: bytes) -> int:
    """Lines as ``wc -l`` counts them, plus a last line without its newline."""
    return raw.count(b"\n") + (1 if raw and not raw.endswith(b"\n") else 0)


@functools.lru_cache(maxsize=8)
def _manifest(path: str, mtime_ns: int) -> dict[str, str]:
    out: dict[str, str] = {}
    with open(path, encoding="utf8") as f:
        for line in f:
            digest, _, name = line.strip().partition("  ")
            if digest and name:
                out[name.lstrip("*")] = digest.lower()
    return out


def _senteval_root(path: Path) -> Path | None:
    for parent in path.parents:
        if parent.name == "senteval":
            return parent
    return None


def check_senteval_file(path: Path, raw: bytes) -> None:
    """Refuse the contents ``raw`` of SentEval file ``path`` when they are empty, differ from the
    md5 the folder's MANIFEST.md5 lists for it, or (with no manifest entry) have another line
    count than SentEval's file. Costs one md5 or one line count of bytes already read."""
    if not raw.strip():
        raise DataError(f"evaluation file {path} is empty; {FETCH_HINT}")
    root = _senteval_root(Path(path).resolve())
    if root is None:
        return
    rel = Path(path).resolve().relative_to(root).as_posix()
    manifest = root / MANIFEST
    if manifest.is_file():
        expected = _manifest(str(manifest), manifest.stat().st_mtime_ns).get(rel)
        if expected is not None:
            digest = hashlib.md5(raw).hexdigest()
            if digest != expected:
                raise DataError(f"evaluation file {path} differs from {manifest} (md5 {digest}, listed "
                                f"{expected}; {count_lines(raw)} lines): truncated or edited; {FETCH_HINT}")
            return
    expected_lines = SENTEVAL_LINES.get(rel)
    if expected_lines is not None and count_lines(raw) != expected_lines:
        raise DataError(f"evaluation file {path} has {count_lines(raw)} lines where SentEval's has "
                        f"{expected_lines}: truncated or not SentEval's file; {FETCH_HINT} (a folder "
                        f"of other files declares them in senteval/{MANIFEST})")


def write_manifest(senteval: str | os.PathLike) -> Path:
    """Write ``senteval/MANIFEST.md5`` listing every file under it: a folder of files other than
    SentEval's (a subset, a test fixture) declares them so, and they are then checked by md5."""
    root = Path(senteval)
    lines = [f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}"
             for p in sorted(root.rglob("*")) if p.is_file() and p.name != MANIFEST]
    target = root / MANIFEST
    target.write_text("".join(line + "\n" for line in lines))
    return target


def default_data_dir() -> Path:
    """Where ``mocose data download`` puts the data and every command looks for it when neither
    ``--data`` nor $MOCOSE_DATA is given: $XDG_CACHE_HOME/mocose/data, ~/.cache/mocose/data without
    it (as Hugging Face tools keep their cache)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "mocose" / "data"


def resolve_data_dir(path: str | os.PathLike | None = None) -> Path:
    """The data folder: ``path`` if given, else $MOCOSE_DATA, else the default folder
    (:func:`default_data_dir`) when it holds data; it must hold ``senteval/``."""
    chosen = path if path not in (None, "") else os.environ.get(ENV_VAR)
    if not chosen and (default_data_dir() / "senteval").is_dir():
        chosen = default_data_dir()
    if not chosen:
        raise DataError(f"no data folder given: pass --data DIR or set {ENV_VAR}, or put the data in "
                        f"{default_data_dir()}; {FETCH_HINT}")
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
    note_read(path)
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
