"""``mocose data download``: fetch the two files SimCSE publishes for training and evaluation.

The Hugging Face dataset repository princeton-nlp/datasets-for-simcse holds ``senteval.tar``
(SentEval's ``data/downstream``: STS/, SICK/, MR/, ...) and ``wiki1m_for_simcse.txt`` (the one
million Wikipedia sentences). They are fetched from a pinned revision (the repository's ``main``
at the time of writing, commit e145e8b), whose Git LFS pointers give each file's sha256 and size,
so a download is checked against the published bytes. Downloads resume (HTTP Range on a ``.part``
file) and show a progress bar; the tar is then unpacked into ``DIR/senteval``::

    DIR/senteval/STS/...                 as /work/shared/data/senteval
    DIR/wiki/wiki1m_for_simcse.txt
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .data import ENV_VAR, default_data_dir

REVISION = "e145e8bb659b2aa2669f32ef79cb4cdef6c58fef"
URL_BASE = f"https://huggingface.co/datasets/princeton-nlp/datasets-for-simcse/resolve/{REVISION}"
RECORD = ".mocose-download.json"  # what was fetched, from where, with which sha256
CHUNK = 1 << 20
USER_AGENT = "mocose-data-download/0.1"


class DownloadError(RuntimeError):
    """A download failed, was cut short, or its bytes do not match the published checksum."""


@dataclass(frozen=True)
class Remote:
    """One published file: its name under the URL base, where it goes, its checksum and size.

    ``unpack`` names the folder under DIR a tar is unpacked into (the tar itself is then removed);
    ``sha256=None`` means no published checksum: the first download's is recorded and later
    downloads are checked against it.
    """

    name: str
    target: str
    sha256: str | None
    size: int | None = None
    unpack: str | None = None


# Checksums and sizes from the Git LFS pointers of revision e145e8b (senteval.tar: commit
# e145e8b "update senteval data", size 89,825,280 bytes; wiki1m_for_simcse.txt: commit d0065b9
# "init", unchanged since, about 120 MB; its exact byte size is not shown, so only the sha256 is
# checked).
FILES: tuple[Remote, ...] = (
    Remote("senteval.tar", "senteval.tar",
           "bc43c148f7be97471c78fc4255399d3158cb99dfe8f2221999c918338b138c38", 89825280, "senteval"),
    Remote("wiki1m_for_simcse.txt", "wiki/wiki1m_for_simcse.txt",
           "7b1825863a99aa76479b0456f7c210539dfaeeb69598b41fb4de4f524dd5a706", None),
)
SETS = {"senteval": "senteval.tar", "wiki": "wiki1m_for_simcse.txt"}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _progress_bar(total: int | None, initial: int, name: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
                desc=name, disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def fetch(url: str, dest: Path, *, size: int | None = None, progress: bool = True,
          timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest``, resuming from ``dest.part`` when a previous attempt left one.

    Raises :class:`DownloadError` when the transfer fails or ends short; the ``.part`` file stays
    so the next call continues where this one stopped.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset == size:
        os.replace(part, dest)
        return dest
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing past what we hold: the part is the whole file
            os.replace(part, dest)
            return dest
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError) as err:
        raise DownloadError(f"cannot reach {url}: {getattr(err, 'reason', err)}") from err
    with response:
        if offset and response.status != 206:  # the server ignored the Range: start again
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else size
        received = offset
        bar = _progress_bar(total, offset, dest.name, progress)
        try:
            with part.open("ab" if offset else "wb") as out:
                while True:
                    try:
                        block = response.read(CHUNK)
                    except (OSError, ValueError) as err:  # reset, timeout, incomplete chunk
                        raise DownloadError(f"{url}: transfer broke after {received} bytes ({err}); "
                                            "run the command again to resume") from err
                    if not block:
                        break
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
        finally:
            bar.close()
    if total is not None and received < total:
        raise DownloadError(f"{url}: the transfer ended after {received} of {total} bytes; "
                            f"run the command again to resume from {part}")
    os.replace(part, dest)
    return dest


def verify(path: Path, remote: Remote, expected: str | None) -> str:
    """Check ``path`` against the expected size and sha256; a bad file is deleted."""
    if remote.size is not None and path.stat().st_size != remote.size:
        got = path.stat().st_size
        path.unlink()
        raise DownloadError(f"{remote.name}: size {got} bytes, expected {remote.size}; the file was "
                            "deleted, run the command again to fetch it afresh")
    digest = sha256_of(path)
    if expected is not None and digest != expected:
        path.unlink()
        raise DownloadError(f"{remote.name}: checksum mismatch: sha256 {digest}, expected {expected}; "
                            "the file was deleted, run the command again to fetch it afresh")
    return digest


def _find_senteval_root(folder: Path) -> Path:
    """The folder holding STS/ in an unpacked tar (the tar's top level or one folder down)."""
    if (folder / "STS").is_dir():
        return folder
    for child in sorted(folder.iterdir()):
        if child.is_dir() and (child / "STS").is_dir():
            return child
        if child.is_dir():
            for grandchild in sorted(child.iterdir()):
                if grandchild.is_dir() and (grandchild / "STS").is_dir():
                    return grandchild
    raise DownloadError(f"the tar holds no STS/ folder (found: {sorted(p.name for p in folder.iterdir())})")


def unpack_tar(archive: Path, target: Path) -> Path:
    """Unpack ``archive`` so that ``target`` holds SentEval's sets (STS/, SICK/, ...).

    Members are filtered (no absolute paths, no escapes, no device files); the tar is first
    unpacked beside ``target`` and moved into place, so a killed unpack leaves ``target`` as it was.
    """
    staging = target.with_name(f".{target.name}.unpack")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(staging, filter="data")
        root = _find_senteval_root(staging)
        target.mkdir(parents=True, exist_ok=True)
        for entry in sorted(root.iterdir()):
            dest = target / entry.name
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            elif dest.exists() or dest.is_symlink():
                dest.unlink()
            os.replace(entry, dest)
    except tarfile.TarError as err:
        raise DownloadError(f"{archive}: not a readable tar ({err})") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _read_record(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return {}


def _write_record(folder: Path, record: dict[str, Any]) -> None:
    tmp = folder / f"{RECORD}.tmp"
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, folder / RECORD)


def download_data(to: str | os.PathLike, *, url_base: str = URL_BASE, files: Sequence[Remote] = FILES,
                  force: bool = False, keep_archive: bool = False, progress: bool = True,
                  retries: int = 3, log=None) -> Path:
    """Fetch, check and unpack ``files`` into the data folder ``to``; files already fetched (per
    the folder's record) are skipped unless ``force``."""
    log = log or sys.stderr
    folder = Path(to).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    record = _read_record(folder)
    for remote in files:
        done = record.get(remote.name, {})
        installed = folder / (remote.unpack or remote.target)
        if not force and done.get("complete") and installed.exists():
            print(f"{remote.name}: already in {installed} (sha256 {done.get('sha256')})", file=log)
            continue
        url = f"{url_base.rstrip('/')}/{remote.name}"
        dest = folder / remote.target
        expected = remote.sha256 or done.get("sha256")
        for attempt in range(retries + 1):
            try:
                fetch(url, dest, size=remote.size, progress=progress)
                break
            except DownloadError as err:
                if attempt == retries:
                    raise
                print(f"{remote.name}: {err}; retrying ({attempt + 1}/{retries})", file=log)
                time.sleep(min(2.0 ** attempt, 30.0))
        digest = verify(dest, remote, expected)
        if expected is None:
            print(f"{remote.name}: no published checksum; recorded sha256 {digest} in "
                  f"{folder / RECORD} to check later downloads against", file=log)
        if remote.unpack:
            unpack_tar(dest, folder / remote.unpack)
            if not keep_archive:
                dest.unlink()
        record[remote.name] = {"url": url, "sha256": digest, "complete": True,
                               "path": str(installed.relative_to(folder)),
                               "fetched": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        _write_record(folder, record)
        print(f"{remote.name}: ok (sha256 {digest}) -> {installed}", file=log)
    return folder


def cmd_download(args: argparse.Namespace) -> int:
    files = FILES if not args.only else tuple(f for f in FILES if f.name in {SETS[s] for s in args.only})
    try:
        folder = download_data(args.to or default_data_dir(), url_base=args.url_base, files=files, force=args.force,
                               keep_archive=args.keep_archive, progress=not args.no_progress,
                               retries=args.retries)
    except DownloadError as err:
        print(f"mocose: error: {err}", file=sys.stderr)
        return 1
    if args.to is None:
        print(f"data ready in {folder}: every mocose command finds it there")
    else:
        print(f"data ready in {folder}: pass --data {folder} or export {ENV_VAR}={folder}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``data download`` to the mocose command."""
    data = subparsers.add_parser("data", help="fetch the training and evaluation data",
                                 description="Manage the data folder.")
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    sub.required = True
    p = sub.add_parser("download", help="download SentEval's sets and wiki1m (SimCSE's published files)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--to", default=None,
                   help="data folder to fill (default: the folder every command looks in without "
                        "--data or $MOCOSE_DATA: $XDG_CACHE_HOME/mocose/data or ~/.cache/mocose/data)")
    p.add_argument("--url-base", default=URL_BASE,
                   help="where the files are (a mirror of the repository; default: the Hugging Face hub "
                        "at revision " + REVISION[:7] + ")")
    p.add_argument("--only", nargs="+", choices=sorted(SETS), help="fetch only these sets")
    p.add_argument("--force", action="store_true", help="fetch again even what is already there")
    p.add_argument("--keep-archive", action="store_true", help="keep senteval.tar after unpacking it")
    p.add_argument("--retries", type=int, default=3, help="resume a broken transfer this many times")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_download)
