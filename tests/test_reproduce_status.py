"""``mocose status``: runs done, in flight, failed and stale, read from a results folder alone;
a stale lock (its sweep killed) is removed by the next reproduce."""
from __future__ import annotations

import fcntl
import json

from ablations.spec import Artifact, Cell, Registry
from mocose.cli import main
from mocose.runner import store

PROFILE = "smoke"
ART = Artifact("quad", "four runs", "table", tuple(Cell(f"eta={e}", {"ema_decay": e}) for e in (0.8, 0.85, 0.9, 0.95)))
REGISTRY = Registry((ART,))


def test_status_names_each_runs_state(tmp_path, capsys):
    results = tmp_path / "results"
    done, failed, running, stale = (c.digest() for _, c in ART.configs(PROFILE, 1))
    store.atomic_write_json(store.result_path(results, PROFILE, done),
                            {"schema": 1, "run_id": done, "profile": PROFILE, "status": "ok", "config": {},
                             "metrics": {}})
    store.atomic_write_json(store.failure_path(results, PROFILE, failed),
                            {"schema": 1, "run_id": failed, "profile": PROFILE, "status": "failed",
                             "config": {}, "error": "ValueError: loss is NaN\nmore", "traceback": ""})
    work = store.work_path(results, PROFILE, running)
    work.mkdir(parents=True)
    (work / "metrics.jsonl").write_text(json.dumps({"step": 3, "loss": 1.0}) + "\n"
                                        + json.dumps({"step": 4, "loss": 0.9, "score": 41.237}) + "\n")
    (work.parent / f"{stale}.lock").write_text("")
    with open(work.parent / f"{running}.lock", "a+") as held:  # a live sweep holds this one
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert main(["status", "--profile", PROFILE, "--results", str(results)], registry=REGISTRY) == 0
        out = capsys.readouterr().out
        assert main(["status", "--profile", PROFILE, "--results", str(results), "--json"], registry=REGISTRY) == 0
        data = json.loads(capsys.readouterr().out)
        # the next sweep removes the stale lock (its process is gone), never a held one
        assert store.remove_stale_locks(results, PROFILE) == [stale]
    assert "quad: 1 done, 1 running, 1 failed, 1 stale" in out
    assert f"running  {running}  step 4, dev 41.24" in out
    assert f"failed   {failed}  ValueError: loss is NaN" in out and "more" not in out
    assert {r["run_id"]: r["state"] for r in data["quad"]} == {done: "done", failed: "failed",
                                                               running: "running", stale: "stale"}
    assert not (work.parent / f"{stale}.lock").exists() and (work.parent / f"{running}.lock").exists()
