"""Broken result files: set aside, named in one line, and their runs rerun.

Every probe runs the real command (``mocose.cli.main``) and checks the message, the exit status
and that nothing was written (tests/faults_support.py)."""
from __future__ import annotations

import json
import sys


from faults_support import NEEDS_DATA, offline, TESTS, cli  # noqa: F401 (fixtures)

pytestmark = NEEDS_DATA


def test_broken_result_files_are_set_aside_named_and_rerun(tmp_path, monkeypatch, capsys):
    """A result that does not parse, is {} or is a list: moved to invalid/ (kept), one line each,
    and the next sweep reruns exactly those runs (the fake experiment of test_runner_sweep)."""
    from conftest import fake_sweep_env, sweep as execute
    from mocose.runner import load_results
    from mocose.runner.store import INVALID_DIR

    sys.path.insert(0, str(TESTS))
    from test_runner_sweep import get  # noqa: E402 - the fake registry and experiment

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
