"""Command-line probes: an unreachable scheduler is one line before any work; numbers printed with significant digits.

Every probe runs the real command (``mocose.cli.main``) and checks the message, the exit status
and that nothing was written (tests/faults_support.py)."""
from __future__ import annotations

import time


from faults_support import NEEDS_DATA, offline, cli, one_line_error  # noqa: F401 (fixtures)

pytestmark = NEEDS_DATA


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
