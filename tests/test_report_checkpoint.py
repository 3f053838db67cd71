"""``mocose report NAME --checkpoint last``: the cells hold each run's last model's scores, in
their own folder; runs that did not record their last model are named as such."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from mocose.cli import main

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "results_d52c9b0"


def test_last_checkpoint_report(tmp_path, capsys):
    results = tmp_path / "results"
    shutil.copytree(FIXTURE, results)
    files = sorted((results / "smoke" / "runs").glob("*.json"))
    expected = {}
    for path in files[:-1]:  # the last run keeps no record of its last model (made before)
        record = json.loads(path.read_text())
        last = json.loads(json.dumps(record["metrics"]))
        last["avg"]["sts"] = record["metrics"]["avg"]["sts"] - 1.5
        record["last"] = {"step": record["training"]["steps"], "metrics": last}
        path.write_text(json.dumps(record))
        expected[record["run_id"]] = last["avg"]["sts"]
    common = ["report", "table3", "--profile", "smoke", "--results", str(results), "--plots", str(tmp_path / "plots")]
    assert main(common + ["--checkpoint", "last"]) == 0
    page = (results / "smoke" / "reports-last" / "table3.md").read_text()
    assert "each run's last model" in page and "last: not recorded for 1 run" in page
    data = json.loads((results / "smoke" / "reports-last" / "table3.json").read_text())
    assert data["checkpoint"] == "last" and data["last_not_recorded"] == 1
    got = {rid: cell["mean"] for cell in data["cells"] for rid in cell["run_ids"]}
    assert got == {rid: expected[rid] for rid in got} and len(got) == len(expected)
    assert not (results / "smoke" / "reports" / "table3.md").exists()  # the default report is apart
    assert main(common) == 0
    best = json.loads((results / "smoke" / "reports" / "table3.json").read_text())
    assert {rid for cell in best["cells"] for rid in cell["run_ids"]} == {p.stem for p in files}
