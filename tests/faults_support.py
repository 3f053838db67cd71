"""What the bad-input tests share: the real command with its output, the one-line error rule,
"nothing was written" snapshots, an offline environment, and one tiny finished run."""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mocose.model import encoders
from mocose.cli import main
from mocose.data import write_manifest
from mocose.evaluation.readers import clear_caches

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
DATA = Path(os.environ.get("MOCOSE_DATA") or ROOT.parent / "shared" / "data")
STSB = DATA / "senteval" / "STS" / "STSBenchmark"
# A run of 6 steps on 48 sentences, validated at steps 3 and 6: seconds.
SMALL = {"train_sentences": 48, "batch_size": 8, "eval_steps": 3, "max_steps": 6, "queue_size": 16}
SMALL_SETS = [x for k, v in SMALL.items() for x in ("--set", f"{k}={v}")]

NEEDS_DATA = pytest.mark.skipif(not STSB.is_dir(), reason="needs the SentEval data folder")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``mocose ARGV``."""
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("mocose: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and mtime: "nothing was written" compares two."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MOCOSE_DATA", str(DATA))
    clear_caches()


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One finished tiny run (state saved at step 3, best checkpoint, metrics log)."""
    folder = tmp_path_factory.mktemp("trained") / "run"
    assert main(["train", "--profile", "smoke", "--out", str(folder), "--data", str(DATA), "--quiet",
                 *SMALL_SETS]) == 0
    return folder


def small_stsb(root: Path, n: int = 40) -> Path:
    """A hand-made STS-B of ``n`` pairs a split, declared by its own MANIFEST.md5 (evaluates in a
    blink, where the content does not matter)."""
    folder = root / "senteval" / "STS" / "STSBenchmark"
    folder.mkdir(parents=True)
    words = "a man woman plays guitar piano dog runs cat sleeps the on".split()
    rng = np.random.default_rng(0)
    for split in ("train", "dev", "test"):
        rows = [f"g\tf\t2012\t{i}\t{rng.uniform(0, 5):.3f}\t{' '.join(rng.choice(words, 5))}\t"
                f"{' '.join(rng.choice(words, 4))}\n" for i in range(n)]
        (folder / f"sts-{split}.csv").write_text("".join(rows))
    write_manifest(root / "senteval")
    return root


@pytest.fixture
def run_copy(trained, tmp_path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(trained, target)
    return target
