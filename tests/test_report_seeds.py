"""Seeds per claim (``mocose seeds``) and ``mocose reproduce --until-resolved``: planning worked by
hand on synthetic runs, the JSON shape, and a sweep over a registry defined here (``REGISTRY``,
given to the command by tests/mocose_with.py) whose runs the fake experiment of test_runner_sweep makes
in seconds."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import fake_sweep_env, mocose_with

from ablations.spec import Artifact, Cell, Claim, Registry, beats
from mocose.cli import main
from mocose.report import seeds
from mocose.report.claims import HOLDS
from mocose.report.sequential import SequentialDesign
from mocose.report.stats import Stats
from mocose.runner.job import JobFunctions

PROFILE = "smoke"


def runs(*values: float) -> list[dict]:
    return [{"metrics": {"avg": {"sts": v}}} for v in values]


def two_claims(gap_cd: float = 1.0) -> Artifact:
    """a > b (paper gap 3) and c > d (paper gap ``gap_cd``)."""
    return Artifact("t", "test", "table",
                    (Cell("a", paper=3.0), Cell("b", paper=0.0), Cell("c", paper=gap_cd), Cell("d", paper=0.0)),
                    claims=(Claim("a beats b", (beats("a", "b"),)), Claim("c beats d", (beats("c", "d"),))))


def test_planning_variance_shrinks_toward_the_pool_by_hand():
    st = Stats((1.0, 2.0, 3.0))  # var 1, 2 degrees of freedom
    assert seeds.planning_variance(st, 4.0) == pytest.approx((2 * 1.0 + 2 * 4.0) / 4)
    assert seeds.planning_variance(Stats((1.0,)), 4.0) == 4.0  # one run: the pool alone
    assert seeds.planning_variance(st, None) == pytest.approx(1.0)


def test_claim_seeds_resolved_needed_and_beyond():
    design = SequentialDesign(3, 10)
    data = {"a": runs(10, 10.5, 11), "b": runs(0, 0.5, 1), "c": runs(1.2, 0.1, 2.0), "d": runs(0.5, -0.4, 1.1)}
    ab, cd = seeds.claim_seeds(two_claims(), data, design)
    assert ab.verdict == HOLDS and ab.resolved and ab.seeds_used == {"a": 3, "b": 3}
    assert not cd.resolved and cd.paper_gap == pytest.approx(1.0)
    # c, d: var 0.8233 and 0.5633, pooled with a, b (0.25 each) over 8 df: 0.4717; shrunk
    # (2 s^2 + 2 x 0.4717) / 4: 0.6475 and 0.5175; effect 1 needs (t + t_.8) sqrt(1.165 / n) <= 1
    # at the design's nominal level: beyond 10 seeds
    assert cd.seeds_needed == seeds.beyond(10)
    _, cd_big = seeds.claim_seeds(two_claims(gap_cd=3.0), data, design)
    assert isinstance(cd_big.seeds_needed, int) and 3 < cd_big.seeds_needed <= 10
    # next round: only c and d grow, a and b (resolved) stay
    assert seeds.next_targets([ab, cd_big], 10) == {"c": cd_big.seeds_needed, "d": cd_big.seeds_needed}
    assert seeds.next_targets([ab, cd], 10) == {"c": 10, "d": 10}
    assert seeds.next_targets([ab, cd], 3) == {}  # already at the maximum
    # six runs would have seen the paper's gap of 3 by now, but the observed one is 0.25: the plan
    # is made for that, which 10 seeds cannot resolve
    close = {**data, "c": runs(0.5, 1.5, 1.0, 0.2, 1.8, 1.0), "d": runs(0.7, 1.2, 0.6, 0.4, 1.3, 0.3)}
    _, cd_close = seeds.claim_seeds(two_claims(gap_cd=3.0), close, design)
    assert cd_close.seeds_needed == seeds.beyond(10)
    row = cd.to_dict()
    assert {"artifact", "claim", "verdict", "seeds_used", "seeds_needed", "detectable", "paper_gap"} <= set(row)


def test_seeds_simulate_json(capsys):
    assert main(["seeds", "--simulate", "--effect", "0", "--sd", "1", "--start", "3", "--max", "10",
                 "--trials", "50", "--seed", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"reject_rate", "mean_seeds", "max_seeds_hit"}
    assert main(["seeds", "--simulate", "--effect", "1"]) == 2  # no --sd: refused


def test_seeds_of_table1_lists_every_claim(tmp_path, capsys):
    from test_report_build import write_result

    for i, (mocose, simcse) in enumerate([(77.0, 76.0), (77.5, 76.2), (76.8, 76.1)]):
        write_result(tmp_path, "table1", "MoCoSE", i, sts=mocose)
        write_result(tmp_path, "table1", "SimCSE", i, sts=simcse)
    assert main(["seeds", "table1", "--profile", PROFILE, "--results", str(tmp_path), "--json"]) == 0
    claims = json.loads(capsys.readouterr().out)["claims"]
    import ablations

    assert [c["claim"] for c in claims] == [c.text for c in ablations.get("table1").claims]
    assert claims[0]["seeds_used"] == {"MoCoSE": 3, "SimCSE": 3}
    assert claims[0]["seeds_needed"] == "resolved" or isinstance(claims[0]["seeds_needed"], (int, str))
    assert main(["seeds", "table1", "--profile", PROFILE, "--results", str(tmp_path)]) == 0
    assert "seeds needed" in capsys.readouterr().out


# -- the registry of the sweep below ----------------------------------------------------------------
# The fake experiment scores 50 + 30 ema_decay + (seed - base) / 10: a vs b differ by 3 with a
# spread of 0.07 (resolved at the first look); c vs d by 0.03, the paper says 1: never resolved.
REGISTRY = Registry((
    Artifact(
        "duel", "fake duel", "table",
        (Cell("a", {"ema_decay": 0.9}, paper=77.0), Cell("b", {"ema_decay": 0.8}, paper=74.0),
         Cell("c", {"ema_decay": 0.801}, paper=75.0), Cell("d", {"ema_decay": 0.8}, paper=74.0)),
        claims=(Claim("a beats b", (beats("a", "b"),)), Claim("c beats d", (beats("c", "d"),)))),
))
FUNCTIONS = JobFunctions(train="test_runner_sweep:fake_experiment")


@pytest.fixture
def env(tmp_path, monkeypatch):
    return fake_sweep_env(tmp_path, monkeypatch)


def reproduce(tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [*mocose_with("test_report_seeds", "reproduce", "duel"), "--profile", PROFILE,
           "--results", str(tmp / "results"), "--data", str(tmp / "data"), "--no-report", "--quiet",
           "--seeds", "2", "--until-resolved", "--max-seeds", "4", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def seeds_per_cell(tmp: Path) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    eta = {0.9: "a", 0.801: "c"}
    for path in (tmp / "results" / PROFILE / "runs").glob("*.json"):
        body = json.loads(path.read_text())
        e = body["config"]["ema"]["ema_decay"]
        out.setdefault(eta.get(e, "b|d"), []).append(body["seed"])
    return {k: sorted(v) for k, v in out.items()}


def test_until_resolved_adds_seeds_only_to_unresolved_claims(env):
    dry = reproduce(env, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "round 1" in dry.stdout and "8 to run" in dry.stdout.replace("6 to run", "8 to run")
    done = reproduce(env)
    assert done.returncode == 0, done.stderr + done.stdout
    got = seeds_per_cell(env)
    base = min(got["a"])
    assert got["a"] == [base, base + 1]  # resolved after the first round: 2 seeds
    assert got["c"] == [base + i for i in range(4)]  # never resolved: up to --max-seeds, not past
    assert got["b|d"] == [base + i for i in range(4)]  # b and d share one recipe (d's grows)
    # 4 cells x 4 seeds fixed = 12 distinct runs (b and d are one recipe); the plan took 10
    assert "took 10 runs where --max-seeds 4 seeds in every cell would take 12: 2 runs saved" in done.stdout
    design = json.loads((env / "results" / PROFILE / "sequential" / "duel.json").read_text())
    assert design == {"start": 2, "max_seeds": 4, "spending": "obrien-fleming"}
    rerun = reproduce(env)  # the runs there count: nothing is trained, the same plan is reported
    assert rerun.returncode == 0 and seeds_per_cell(env) == got, rerun.stderr
    assert "2 runs saved" in rerun.stdout
    again = reproduce(env, "--dry-run")  # everything resolved or at the maximum: nothing to run
    assert again.returncode == 0 and "nothing to run" in again.stdout, again.stdout
    refused = reproduce(env, "--max-seeds", "1")
    assert refused.returncode == 2 and "--max-seeds 1" in refused.stderr
