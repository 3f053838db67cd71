"""Claim statistics against hand-worked numbers: Welch, Holm, the detectable difference, the
verdicts (from the interval of the difference), curve checks, and every registry claim on the
paper's own numbers."""
from __future__ import annotations

import math

import pytest
from scipy import stats as sps

import ablations
from ablations.spec import Artifact, Cell, Check, Claim, beats, collapses, recovers, within
from mocose.report import claims
from mocose.report.verdicts import (CONTRADICTED, HOLDS, NO_PAPER, NOT_AT_PROFILE, NOT_ENOUGH, SMALLER,
                                    UNRESOLVED, combine)
from mocose.report.stats import Stats
from mocose.cli import main


def runs(*values: float) -> list[dict]:
    """Result dicts with an STS average each."""
    return [{"metrics": {"avg": {"sts": v}}} for v in values]


def curve_runs(*curves) -> list[dict]:
    return [{"training": {"curve": [{"step": s, "dev_spearman": v} for s, v in c]}} for c in curves]


def art(*checks: Check, paper=(None, None)) -> Artifact:
    return Artifact("t", "test", "table", (Cell("a", paper=paper[0]), Cell("b", paper=paper[1])),
                    claims=(Claim("c", checks),))


def verdict(checks, a, b, paper=(None, None)):
    return claims.evaluate_claims(art(*checks, paper=paper), {"a": a, "b": b})[0]


# -- tests worked by hand ------------------------------------------------------------------------
def test_welch_matches_scipy_and_hand():
    a, b = Stats((76.0, 77.0, 78.0)), Stats((70.0, 71.5))
    w = claims.welch(a, b)
    ref = sps.ttest_ind(a.values, b.values, equal_var=False)
    assert w.t == pytest.approx(ref.statistic) and w.p == pytest.approx(ref.pvalue)
    se2 = 1 / 3 + 1.125 / 2  # var(a)/3 + var(b)/2
    assert w.t == pytest.approx(6.25 / math.sqrt(se2))
    assert w.df == pytest.approx(se2 ** 2 / ((1 / 3) ** 2 / 2 + (1.125 / 2) ** 2 / 1))
    shifted = claims.welch(a, b, margin=6.25)  # H0 exactly at the observed difference
    assert shifted.t == pytest.approx(0.0) and shifted.p == pytest.approx(1.0)


def test_stats_use_the_sample_std():
    s = Stats((1.0, 2.0, 4.0))
    assert s.n == 3 and s.mean == pytest.approx(7 / 3)
    assert s.std == pytest.approx(math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2))
    assert Stats((5.0,)).std is None and Stats(()).mean is None


def test_holm_on_known_pvalues():
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> 0.06 (monotone)
    assert claims.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert claims.holm_levels([0.01, 0.04, 0.03, 0.005]) == pytest.approx(
        [0.05 / 3, 0.05 / 1, 0.05 / 2, 0.05 / 4])
    assert claims.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_detectable_difference_formula():
    # a = (1, 3), b = (5, 7): var 2 each, se = sqrt(2/2 + 2/2) = sqrt 2, df = 4 / (1 + 1) = 2;
    # t(0.975, 2) = 4.3027 (t table), so the smallest significant difference is 4.3027 sqrt 2.
    w = claims.welch(Stats((1.0, 3.0)), Stats((5.0, 7.0)))
    assert w.se == pytest.approx(math.sqrt(2)) and w.df == pytest.approx(2.0)
    assert claims.detectable_difference(w, 0.05) == pytest.approx(4.3027 * math.sqrt(2), abs=1e-3)
    # one-sided (TOST) at 0.05: t(0.95, 2) = 2.9200
    assert claims.detectable_difference(w, 0.05, two_sided=False) == pytest.approx(2.92 * math.sqrt(2), abs=1e-3)


# -- verdicts ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("a,b,margin,expected", [
    ((76.0, 77.0, 78.0), (70.0, 71.0), 0.0, HOLDS),          # t ~ 8.5, p ~ 0.004
    ((70.0, 71.0), (76.0, 77.0, 78.0), 0.0, CONTRADICTED),
    ((76.0, 78.0), (76.5, 77.5), 0.0, UNRESOLVED),
    ((76.0, 77.0, 78.0), (70.0, 71.0), 10.0, CONTRADICTED),         # 6.5 points is not a 10-point drop
    ((77.0,), (70.0, 71.0), 0.0, NOT_ENOUGH),                # one seed: no test
    ((), (70.0, 71.0), 0.0, NOT_ENOUGH),
])
def test_greater_check_verdicts(a, b, margin, expected):
    res = verdict([beats("a", "b", margin)], runs(*a), runs(*b))
    assert res.verdict == expected == res.checks[0].verdict


@pytest.mark.parametrize("a,b,expected", [
    ((85.0, 85.1, 84.9, 85.0), (85.2, 85.1, 85.3, 85.2), HOLDS),   # 0.2 apart, tight
    ((85.0, 85.1, 84.9), (88.0, 88.1, 87.9), CONTRADICTED),             # 3 points apart
    ((85.0, 87.0), (85.5, 86.0), UNRESOLVED),
])
def test_within_check_is_tost(a, b, expected):
    assert verdict([within("a", "b", 1.0)], runs(*a), runs(*b)).verdict == expected


def test_detectable_difference_of_a_check():
    # a - b = 0.5 with std 1 in both: se = sqrt(1/3 + 1/3) = 0.816, df = 4, t(0.975, 4) = 2.7764
    a, b = (76.5, 77.5, 78.5), (76.0, 77.0, 78.0)
    check = verdict([beats("a", "b")], runs(*a), runs(*b), paper=(77.3, 77.0)).checks[0]
    assert check.detectable == pytest.approx(2.7764 * math.sqrt(2 / 3), abs=1e-3)


def test_holm_correction_can_withhold_a_verdict():
    a, b = (77.0, 77.6, 78.2), (76.0, 76.3, 76.6)
    p = sps.ttest_ind(a, b, equal_var=False).pvalue
    assert 0.025 < p < 0.05  # significant alone, not after Holm with two equal p-values
    assert verdict([beats("a", "b")], runs(*a), runs(*b)).verdict == HOLDS
    twice = verdict([beats("a", "b"), beats("a", "b", 0.0, "sts")], runs(*a), runs(*b))
    assert all(c.p_holm == pytest.approx(min(1, 2 * p)) for c in twice.checks)
    assert twice.verdict == UNRESOLVED


def test_combine_orders_the_verdicts():
    assert combine([HOLDS, HOLDS]) == HOLDS
    assert combine([HOLDS, UNRESOLVED]) == UNRESOLVED
    assert combine([UNRESOLVED, SMALLER, HOLDS]) == SMALLER
    assert combine([UNRESOLVED, NOT_ENOUGH]) == NOT_ENOUGH
    assert combine([NOT_ENOUGH, CONTRADICTED]) == CONTRADICTED


# -- curve checks -------------------------------------------------------------------------------------
COLLAPSED = [(1000, 30.0), (3000, 1.0), (5000, -0.5)]
HEALTHY = [(1000, 30.0), (3000, 40.0), (5000, 60.0)]


def curve_verdict(check, a, b=()):
    one = Artifact("t", "t", "figure", (Cell("a"), Cell("b")), plot="curves",
                   claims=(Claim("c", (check,)),))
    return claims.evaluate_claims(one, {"a": curve_runs(*a), "b": curve_runs(*b)})[0]


def test_collapse_is_judged_in_its_window_and_needs_two_runs():
    check = collapses("a", (2000, None))
    assert curve_verdict(check, [COLLAPSED, COLLAPSED]).verdict == HOLDS
    assert curve_verdict(check, [HEALTHY, HEALTHY]).verdict == CONTRADICTED
    assert curve_verdict(check, [COLLAPSED, HEALTHY]).verdict == UNRESOLVED
    assert curve_verdict(check, [COLLAPSED]).verdict == NOT_ENOUGH
    short = [(8, 1.0), (16, 0.5)]  # a smoke-length run: no validation after step 2,000
    assert curve_verdict(check, [short, short]).verdict == NOT_AT_PROFILE


def test_recovery_is_a_one_sample_test_on_after_minus_before():
    check = recovers("a", (10000, None), (2000, 10000), 2.0)
    # after - before per run: 6 - 0 = 6 and 5.5 - 0.5 = 5 -> mean 5.5 > 2
    up = [(3000, 0.0), (9000, 0.0), (11000, 6.0)], [(3000, 0.5), (9000, 0.5), (11000, 5.5)]
    res = curve_verdict(check, up)
    assert res.checks[0].diff == pytest.approx(5.5)
    # t = (5.5 - 2) / (0.7071 / sqrt 2) = 7.0, df 1: p = 2 * sf(7, 1) = 0.0903 -> not significant
    assert res.checks[0].p == pytest.approx(2 * sps.t.sf(7.0, 1))
    assert res.verdict == UNRESOLVED  # no paper curve: nothing to be smaller than
    three = up + ([(3000, 0.2), (9000, 0.2), (11000, 6.0)],)
    assert curve_verdict(check, three).verdict == HOLDS


# -- the registry on the paper's own numbers -------------------------------------------------------
def test_every_registry_claim_holds_on_the_papers_numbers():
    for artifact in ablations.all_artifacts():
        for res in claims.paper_claims(artifact):
            assert res.verdict in (HOLDS, NO_PAPER), (artifact.name, res.claim.text, res.verdict)


def test_paper_check_fails_when_the_paper_contradicts_it():
    wrong = art(beats("b", "a"), paper=(77.0, 74.5))
    assert claims.paper_claims(wrong)[0].verdict == CONTRADICTED


def test_claims_against_paper_command_exits_zero(capsys):
    assert main(["claims", "--against-paper"]) == 0
    out = capsys.readouterr().out
    total = sum(len(a.claims) for a in ablations.all_artifacts())
    assert f"{total} claims of {len(ablations.names())} artifacts; 0 contradicted" in out
    assert "fig10: [holds] A low dimension hurts" in out


def test_claims_command_on_measured_runs(tmp_path, capsys):
    """Result files for Table 6(b) matched to cells by recipe; B 128 clearly above B 64
    contradicts the paper's claim, so the command exits 1."""
    import json

    t6 = ablations.get("table6b")
    values = {"B 32": (70.0, 70.5, 71.0), "B 64": (77.0, 77.5, 78.0), "B 128": (80.0, 80.2, 80.4)}
    for label, scores in values.items():
        for i, score in enumerate(scores):
            config = t6.config(label, "smoke", 42 + i)
            path = tmp_path / "smoke" / "runs" / f"{config.digest()}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"schema": 1, "run_id": config.digest(), "profile": "smoke",
                                        "status": "ok", "config": config.to_dict(),
                                        "metrics": {"avg": {"sts": score}}}))
    code = main(["claims", "table6b", "--profile", "smoke", "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "table6b: [contradicted] Performance does not improve with a larger batch" in out
    assert "[not enough runs] B 64 > B 256 (sts): no result for B 256" in out
    assert "table6b: [holds] B 32 is clearly worst" in out
