"""Nothing silently wrong (issue 10): each bad input and each damaged file the suite reads is
refused in one line (exit 2) or set aside, never used; checkpoints read by sentence-transformers
give the suite's embedding; the notebook API of the README runs.

Every probe runs the real command (``mocose.cli.main``) and checks the message, the exit status
and that nothing was written. Run folders come from one tiny training run shared by the tests.
"""
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

pytestmark = pytest.mark.skipif(not STSB.is_dir(), reason="needs the SentEval data folder")


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


# -- results ---------------------------------------------------------------------------------------
def test_broken_result_files_are_set_aside_named_and_rerun(tmp_path, monkeypatch, capsys):
    """A result that does not parse, is {} or is a list: moved to invalid/ (kept), one line each,
    and the next sweep reruns exactly those runs (the fake experiment of test_runner)."""
    from conftest import fake_sweep_env, sweep as execute
    from mocose.runner import load_results
    from mocose.runner.store import INVALID_DIR

    sys.path.insert(0, str(TESTS))
    from test_runner import get  # noqa: E402 - the fake registry and experiment

    fake_sweep_env(tmp_path, monkeypatch)
    monkeypatch.setenv("MOCOSE_FAKE_LOG", str(tmp_path / "fake.log"))
    pairs = get("sweep").configs("smoke", 1)
    results = tmp_path / "results"
    execute(pairs, profile="smoke", results_dir=results, data_dir=tmp_path / "data", progress=False)
    runs = results / "smoke" / "runs"
    files = sorted(runs.glob("*.json"))
    assert len(files) == 4
    sound = json.loads(files[3].read_text())
    damaged = {files[0]: files[0].read_text()[:200], files[1]: "{}", files[2]: "[1, 2]"}
    for path, text in damaged.items():
        path.write_text(text)
    capsys.readouterr()

    loaded = load_results(results, "smoke")
    assert loaded == {files[3].stem: sound}
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3
    for path, line in zip(damaged, err):
        assert line.startswith(f"mocose: set aside {path} (") and "the next reproduce reruns it" in line
    assert "not valid JSON" in err[0] and "lacks schema" in err[1] and "a JSON list" in err[2]
    kept = sorted((results / "smoke" / INVALID_DIR).iterdir())
    assert sorted(p.read_text() for p in kept) == sorted(damaged.values())  # kept, byte for byte

    (tmp_path / "fake.log").unlink()
    execute(pairs, profile="smoke", results_dir=results, data_dir=tmp_path / "data", progress=False)
    rerun = [line.split()[0] for line in (tmp_path / "fake.log").read_text().splitlines()]
    assert sorted(rerun) == sorted(p.stem for p in damaged)
    assert set(load_results(results, "smoke")) == {p.stem for p in files}


def test_report_names_a_broken_result_in_one_line(tmp_path, capsys):
    folder = tmp_path / "results" / "smoke" / "runs"
    folder.mkdir(parents=True)
    (folder / "0123456789ab.json").write_text('{"schema": 1, "run_id": "01')
    code, out, err = cli(capsys, "report", "table3", "--profile", "smoke", "--results", tmp_path / "results",
                         "--plots", tmp_path / "plots")
    assert code == 0 and "UserWarning" not in err and "Traceback" not in err
    assert err.count("mocose: set aside") == 1 and "0123456789ab.json (not valid JSON" in err
    assert not (folder / "0123456789ab.json").exists()
    assert len(list((tmp_path / "results" / "smoke" / "invalid").iterdir())) == 1


# -- data --------------------------------------------------------------------------------------------
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


# -- model folders -------------------------------------------------------------------------------------
def tiny_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(encoders.tiny_random_bert(), folder)
    return folder


@pytest.mark.parametrize("damage, expected", [
    ("empty", "the folder is empty"),
    ("no-config", "config.json is missing"),
    ("truncated-weights", "model.safetensors is truncated"),
    ("empty-weights", "model.safetensors is empty"),
    ("no-weights", "no weights"),
])
def test_eval_on_a_broken_folder_names_folder_and_fault(tmp_path, capsys, damage, expected):
    folder = tiny_copy(tmp_path)
    weights = folder / "model.safetensors"
    if damage == "empty":
        shutil.rmtree(folder)
        folder.mkdir()
    elif damage == "no-config":
        (folder / "config.json").unlink()
    elif damage == "truncated-weights":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif damage == "empty-weights":
        weights.write_bytes(b"")
    else:
        weights.unlink()
    out_json = tmp_path / "eval.json"
    code, _, err = cli(capsys, "eval", folder, "--tasks", "STSBenchmark", "--out", out_json)
    line = one_line_error(err)
    assert code == 2 and str(folder) in line and expected in line and not out_json.exists()


def test_missing_local_path_says_no_such_folder_and_hub_hint_only_for_hub_names(tmp_path, capsys):
    code, _, err = cli(capsys, "eval", "/local/path/that/does/not/exist")
    line = one_line_error(err)
    assert code == 2 and "no such folder: /local/path/that/does/not/exist" in line
    assert "hub" not in line and "--set" not in line
    code, _, err = cli(capsys, "eval", "./runs/not-there", "--tasks", "STSBenchmark")
    assert code == 2 and "no such folder" in one_line_error(err) and "hub" not in err
    code, _, err = cli(capsys, "eval", "some-org/some-model", "--tasks", "STSBenchmark")
    line = one_line_error(err)
    assert code == 2 and "no such folder 'some-org/some-model'" in line and "hub" in line
    assert "--set" not in line  # eval has no --set


def test_a_tokenizer_that_lost_its_vocabulary_is_refused(tmp_path, capsys):
    folder = tiny_copy(tmp_path)
    (folder / "tokenizer.json").unlink()  # left: tokenizer_config.json, so a 5-token vocabulary loads
    code, _, err = cli(capsys, "eval", folder, "--tasks", "STSBenchmark")
    line = one_line_error(err)
    assert code == 2 and "maps 100% of common English words to '[UNK]'" in line and str(folder) in line
    assert encoders.unknown_fraction(encoders.load("tiny-random-bert")[1]) == 0.0


# -- training folders -------------------------------------------------------------------------------
def train_cli(capsys, folder: Path, *extra: str) -> tuple[int, str, str]:
    return cli(capsys, "train", "--profile", "smoke", "--out", folder, "--quiet", *SMALL_SETS, *extra)


@pytest.mark.parametrize("missing", ["state.safetensors", "state.json", "state"])
def test_resume_with_missing_state_is_refused_naming_it(run_copy, capsys, missing):
    target = run_copy / "state" / missing if missing != "state" else run_copy / "state"
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    before = snapshot(run_copy)
    code, _, err = train_cli(capsys, run_copy, "--resume")
    line = one_line_error(err)
    assert code == 2 and str(target) in line and "missing" in line
    assert snapshot(run_copy) == before  # no silent restart: nothing touched


def test_resume_with_damaged_state_is_refused(run_copy, capsys):
    tensors = run_copy / "state" / "state.safetensors"
    tensors.write_bytes(tensors.read_bytes()[:1000])
    code, _, err = train_cli(capsys, run_copy, "--resume")
    assert code == 2 and "state.safetensors is truncated" in one_line_error(err)
    (run_copy / "state" / "state.json").write_text('{"__dict__": [["step", 3')
    code, _, err = train_cli(capsys, run_copy, "--resume")
    assert code == 2 and "state.json is damaged" in one_line_error(err)


def test_resume_with_other_settings_is_refused_unless_allowed(run_copy, capsys):
    before = snapshot(run_copy)
    code, _, err = train_cli(capsys, run_copy, "--resume", "--set", "ema_decay=0.9", "--set", "queue_size=32")
    line = one_line_error(err)
    assert code == 2 and "ema_decay: 0.85 -> 0.9" in line and "queue_size: 16 -> 32" in line
    assert "--allow-config-change" in line and snapshot(run_copy) == before
    code, _, err = train_cli(capsys, run_copy, "--resume", "--set", "ema_decay=0.9", "--allow-config-change")
    assert code == 0 and "resuming" in err and "ema_decay: 0.85 -> 0.9" in err
    summary = json.loads((run_copy / "train.json").read_text())
    assert summary["config_changes"] == ["ema_decay: 0.85 -> 0.9"]


def test_resume_after_the_best_checkpoint_was_deleted_says_so(run_copy, capsys):
    (run_copy / "best" / "model.safetensors").unlink()
    code, _, err = train_cli(capsys, run_copy, "--resume")
    line = one_line_error(err)
    assert code == 2 and "best checkpoint of step" in line and "no weights (model.safetensors" in line
    assert "--overwrite" in line


@pytest.mark.slow  # trains again: seconds on a quiet machine
def test_train_over_an_existing_run_needs_overwrite(run_copy, capsys):
    before = snapshot(run_copy)
    code, _, err = train_cli(capsys, run_copy)
    line = one_line_error(err)
    assert code == 2 and "already holds a run" in line and "--overwrite" in line and "--resume" in line
    assert snapshot(run_copy) == before
    (run_copy / "notes.txt").write_text("mine")
    old_log = (run_copy / "metrics.jsonl").read_text()
    code, out, _ = train_cli(capsys, run_copy, "--overwrite", "--set", "seed=7", "--set", "max_steps=3")
    assert code == 0 and "trained mocose" in out
    assert (run_copy / "notes.txt").read_text() == "mine"  # only the run's own files replaced
    assert (run_copy / "metrics.jsonl").read_text() != old_log


def test_resume_of_a_folder_without_a_run_is_refused(tmp_path, capsys):
    code, _, err = train_cli(capsys, tmp_path / "nothing", "--resume")
    assert code == 2 and "holds no run" in one_line_error(err) and not (tmp_path / "nothing").exists()


@pytest.mark.slow  # trains again: seconds on a quiet machine
def test_a_metrics_log_that_does_not_parse_is_set_aside_on_resume(run_copy, capsys):
    log = run_copy / "metrics.jsonl"
    lines = log.read_text().splitlines()
    log.write_text(lines[0] + "\n" + lines[1][:7] + "\n")
    code, _, err = train_cli(capsys, run_copy, "--resume")
    assert code == 0 and "had lines that do not parse" in err
    assert (run_copy / "metrics.jsonl.broken-1").read_text() == lines[0] + "\n" + lines[1][:7] + "\n"
    for line in log.read_text().splitlines():
        json.loads(line)  # every line of the new log parses


@pytest.mark.slow  # trains again: seconds on a quiet machine
def test_kill_between_the_two_renames_of_a_folder_replacement_recovers_the_old_copy(run_copy, capsys):
    """replace_folder moves the old state aside, then the new one in: a kill in between leaves no
    state/ but .state-old-PID, which a resume puts back instead of restarting silently."""
    os.replace(run_copy / "state", run_copy / ".state-old-12345")
    (run_copy / ".state-abcd").mkdir()  # a half-built temporary folder
    code, _, err = train_cli(capsys, run_copy, "--resume")
    assert code == 0, err
    assert (run_copy / "state").is_dir() and not list(run_copy.glob(".state-*"))


# -- command-line probes ------------------------------------------------------------------------------
def test_unreachable_scheduler_is_one_line_exit_2_before_any_work(tmp_path, capsys):
    start = time.monotonic()
    code, _, err = cli(capsys, "reproduce", "table3", "--profile", "smoke", "--scheduler", "tcp://127.0.0.1:1",
                       "--results", tmp_path / "results")
    line = one_line_error(err)
    assert code == 2 and "tcp://127.0.0.1:1" in line and "no Dask scheduler answers" in line
    assert time.monotonic() - start < 10 and not (tmp_path / "results").exists()
    code, _, err = cli(capsys, "reproduce", "table3", "--profile", "smoke", "--scheduler", "localhost",
                       "--results", tmp_path / "results")
    assert code == 2 and "tcp://HOST:PORT" in one_line_error(err)


def test_analyze_prints_significant_digits(tmp_path, capsys, monkeypatch):
    from mocose.evaluation import analysis
    from mocose.evaluation.commands import significant

    assert [significant(x) for x in (6.1234e-6, -6.1e-6, 0.203412, -2.11349, 1.0)] == \
        ["6.123e-06", "-6.1e-06", "0.2034", "-2.113", "1"]
    monkeypatch.setattr(analysis, "alignment_uniformity",
                        lambda enc, folder: {"alignment": 6.1234e-6, "uniformity": -5.9e-6, "splits": ["test"]})
    monkeypatch.setattr(analysis, "singular_spectrum", lambda enc, folder: [1.0, 0.5, 2e-7])
    code, out, _ = cli(capsys, "analyze", "tiny-random-bert")
    assert code == 0 and "alignment 6.123e-06, uniformity -5.9e-06" in out and "2e-07" in out


# -- sentence-transformers ----------------------------------------------------------------------------
def test_sentence_transformers_reads_a_checkpoint_as_the_papers_embedding(trained):
    """SentenceTransformer(checkpoint).encode equals the suite's cls_before_pooler vectors."""
    from sentence_transformers import SentenceTransformer

    from mocose.evaluation import SentenceEncoder

    sentences = ["a man is playing a guitar .", "two dogs run through the snow on a cold day",
                 "the cat sleeps"]
    model, tokenizer = encoders.load(str(trained / "best"))
    ours = SentenceEncoder(model, tokenizer, pooler="cls_before_pooler").encode(sentences)
    theirs = SentenceTransformer(str(trained / "best"), device="cpu").encode(sentences)
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-5)
    mean = SentenceEncoder(model, tokenizer, pooler="avg").encode(sentences)
    assert not np.allclose(theirs, mean, atol=1e-3)  # it is not sentence-transformers' default


def test_eval_uses_the_pooling_a_folder_declares_and_says_which(tmp_path, capsys, trained):
    folder = tmp_path / "st"
    shutil.copytree(trained / "best", folder)
    data = small_stsb(tmp_path / "data")
    code, out, _ = cli(capsys, "eval", folder, "--tasks", "STSBenchmark", "--data", data)
    assert code == 0 and "pooler: cls_before_pooler (declared by the folder's sentence-transformers" in out
    pooling = folder / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_cls_token=False, pooling_mode_mean_tokens=True)
    pooling.write_text(json.dumps(config))
    code, out, _ = cli(capsys, "eval", folder, "--tasks", "STSBenchmark", "--out", tmp_path / "r.json",
                       "--data", data)
    assert code == 0 and "pooler: avg (declared" in out
    assert json.loads((tmp_path / "r.json").read_text())["pooler"] == "avg"
    code, out, _ = cli(capsys, "eval", folder, "--tasks", "STSBenchmark", "--pooler", "cls_before_pooler",
                       "--data", data)
    assert code == 0 and "pooler:" not in out and "(cls_before_pooler" in out
    pooling.write_text(json.dumps({"embedding_dimension": 32, "pooling_mode": "mean"}))  # v6 keys
    assert encoders.choose_pooler(str(folder)) == ("avg", "declared by the folder's sentence-transformers Pooling config")


# -- the Python API of the README ---------------------------------------------------------------------
def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_python_api_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)  # noqa: S102 - the README's code
    vectors, results, frame = namespace["vectors"], namespace["results"], namespace["frame"]
    assert vectors.shape == (2, 32) and vectors.dtype == np.float32
    import mocose

    again = mocose.encode("tiny-random-bert", ["A man is playing a guitar."])
    np.testing.assert_array_equal(again[0], vectors[0])
    assert list(frame["task"]) == ["STSBenchmark"] and frame["score"][0] == results["avg"]["sts"]
    assert results["pooler"] == "cls_before_pooler" and results["tasks"]["STSBenchmark"]["test"]["n"] == 1379
