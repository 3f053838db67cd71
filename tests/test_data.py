"""Data files: a truncated, empty or edited file is refused naming it, before any model loads.

Every probe runs the real command (``mocose.cli.main``) and checks the message, the exit status
and that nothing was written (tests/faults_support.py)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from faults_support import NEEDS_DATA, offline, DATA, STSB, cli, one_line_error  # noqa: F401 (fixtures)
from mocose.data import write_manifest

pytestmark = NEEDS_DATA


def stsb_copy(tmp_path: Path, manifest: bool) -> Path:
    data = tmp_path / "data"
    shutil.copytree(STSB, data / "senteval" / "STS" / "STSBenchmark")
    if manifest:
        shutil.copy(DATA / "senteval" / "MANIFEST.md5", data / "senteval" / "MANIFEST.md5")
    return data


@pytest.mark.parametrize("manifest", [False, True], ids=["row-counts", "manifest"])
@pytest.mark.parametrize("cut", ["800-lines", "empty"])
def test_truncated_or_empty_data_file_is_refused_naming_it(tmp_path, capsys, manifest, cut):
    data = stsb_copy(tmp_path, manifest)
    test_file = data / "senteval" / "STS" / "STSBenchmark" / "sts-test.csv"
    lines = test_file.read_text(encoding="utf8").splitlines(keepends=True)
    test_file.write_text("".join(lines[:800]) if cut == "800-lines" else "", encoding="utf8")
    out_json = tmp_path / "eval.json"
    code, out, err = cli(capsys, "eval", "tiny-random-bert", "--tasks", "STSBenchmark", "--data", data,
                         "--out", out_json)
    line = one_line_error(err)
    assert code == 2 and str(test_file) in line and not out_json.exists()
    if cut == "empty":
        assert "is empty" in line
    elif manifest:
        assert "differs from" in line and "MANIFEST.md5" in line and "800 lines" in line
    else:
        assert "has 800 lines where SentEval's has 1379" in line


@pytest.mark.parametrize("task", ["STSBenchmark", "TREC"])
def test_a_damaged_data_file_is_refused_before_the_model_loads(tmp_path, capsys, monkeypatch, task):
    import mocose.model.encoders

    loaded = []
    monkeypatch.setattr(mocose.model.encoders, "load", lambda *a, **k: loaded.append(a) or 1 / 0)
    data = stsb_copy(tmp_path, manifest=False)
    shutil.copytree(DATA / "senteval" / "TREC", data / "senteval" / "TREC")
    damaged = (data / "senteval" / "STS" / "STSBenchmark" / "sts-test.csv" if task == "STSBenchmark"
               else data / "senteval" / "TREC" / "TREC_10.label")
    damaged.write_text("".join(damaged.read_text(encoding="latin-1").splitlines(keepends=True)[:50]),
                       encoding="latin-1")
    code, out, err = cli(capsys, "eval", "tiny-random-bert", "--tasks", task, "--data", data,
                         "--out", tmp_path / "eval.json")
    assert code == 2 and str(damaged) in one_line_error(err) and not loaded


def test_whole_data_files_pass_the_check(tmp_path, capsys):
    """The same copy, untouched, is read (row counts and manifest alike): the check refuses only
    what differs."""
    from mocose.evaluation.readers import read_stsb

    for manifest in (False, True):
        data = stsb_copy(tmp_path / str(manifest), manifest)
        assert len(read_stsb(data / "senteval" / "STS" / "STSBenchmark" / "sts-test.csv")) == 1379


def test_line_table_matches_the_data_folder_and_senteval_s_published_sizes():
    """SENTEVAL_LINES against the shared copy of SentEval's files, and its sums against the sizes
    SentEval publishes (../shared/data/README.md): STS12 3,108 pairs, MR 10,662, SST 67,349 ..."""
    from mocose.data import SENTEVAL_LINES, count_lines

    for rel, lines in SENTEVAL_LINES.items():
        assert count_lines((DATA / "senteval" / rel).read_bytes()) == lines, rel
    sts = lambda year: sum(n for rel, n in SENTEVAL_LINES.items() if f"{year}-en-test/STS.input" in rel)
    assert [sts(y) for y in ("STS12", "STS13", "STS14")] == [3108, 1500, 3750]
    assert SENTEVAL_LINES["MR/rt-polarity.pos"] + SENTEVAL_LINES["MR/rt-polarity.neg"] == 10662
    assert SENTEVAL_LINES["CR/custrev.pos"] + SENTEVAL_LINES["CR/custrev.neg"] == 3775
    assert SENTEVAL_LINES["MPQA/mpqa.pos"] + SENTEVAL_LINES["MPQA/mpqa.neg"] == 10606
    assert SENTEVAL_LINES["SICK/SICK_test_annotated.txt"] - 1 == 4927  # a header row
    assert SENTEVAL_LINES["MRPC/msr_paraphrase_test.txt"] - 1 == 1725
    assert SENTEVAL_LINES["SST/binary/sentiment-train"] == 67349


def test_a_declared_folder_of_other_files_is_checked_by_its_manifest(tmp_path):
    from mocose.data import DataError
    from mocose.evaluation.readers import read_stsb

    folder = tmp_path / "senteval" / "STS" / "STSBenchmark"
    folder.mkdir(parents=True)
    rows = "".join(f"g\tf\t2012\t{i}\t{i % 5}.0\ta b {i}\tc d\n" for i in range(10))
    (folder / "sts-test.csv").write_text(rows)
    with pytest.raises(DataError, match="has 10 lines where SentEval's has 1379"):
        read_stsb(folder / "sts-test.csv")
    write_manifest(tmp_path / "senteval")
    assert len(read_stsb(folder / "sts-test.csv")) == 10
    (folder / "sts-test.csv").write_text(rows[: len(rows) // 2])
    with pytest.raises(DataError, match="differs from .*MANIFEST.md5"):
        read_stsb(folder / "sts-test.csv")
