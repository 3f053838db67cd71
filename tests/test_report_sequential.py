"""Group-sequential boundaries and seed planning against independent truth: spending functions and
first boundaries worked by hand, the published Pocock-type table, a bivariate-normal integral, a
Monte Carlo of the crossing probability, a power formula worked by hand, and simulated rates of the
until-resolved procedure (CI runs the simulation with few trials; ``mocose seeds --simulate
--trials 2000`` is the full check)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from mocose.report.sequential import SequentialDesign, boundaries, seeds_for_power, spent
from mocose.report.seeds import simulate


def test_spending_functions_by_hand():
    # O'Brien-Fleming type at t = 0.5: 2 - 2 Phi(1.959964 / sqrt(0.5)) = 2 - 2 Phi(2.771808)
    assert spent(0.5, 0.05, "obrien-fleming") == pytest.approx(2 * sps.norm.sf(1.959964 / math.sqrt(0.5)))
    assert spent(0.5, 0.05, "obrien-fleming") == pytest.approx(0.005575, abs=2e-6)
    # Pocock type at t = 0.2: 0.05 ln(1 + 0.2 (e - 1)) = 0.05 ln 1.343656 = 0.014770
    assert spent(0.2, 0.05, "pocock") == pytest.approx(0.014770, abs=2e-6)
    for kind in ("obrien-fleming", "pocock"):
        assert spent(1.0, 0.05, kind) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="spending"):
        spent(0.5, 0.05, "haybittle")


def test_first_boundary_is_the_spent_level_by_hand():
    assert boundaries((0.5, 1.0), 0.05)[0] == pytest.approx(1.959964 / math.sqrt(0.5), abs=1e-5)
    assert boundaries((1.0,), 0.05) == pytest.approx((1.959964,), abs=1e-5)  # one look: fixed test


def test_pocock_type_boundaries_match_the_published_table():
    # Lan-DeMets Pocock-type spending, 5 equally spaced looks, two-sided 0.05 (e.g. Jennison &
    # Turnbull 2000 Table 7.6 / R ldbounds): 2.438, 2.427, 2.410, 2.397, 2.386
    got = boundaries((0.2, 0.4, 0.6, 0.8, 1.0), 0.05, "pocock")
    assert got == pytest.approx((2.438, 2.427, 2.410, 2.397, 2.386), abs=1.5e-3)


def test_second_boundary_spends_the_rest_by_a_bivariate_normal_integral():
    c1, c2 = boundaries((0.5, 1.0), 0.05)
    # P(|Z1| < c1, |Z2| >= c2) with corr(Z1, Z2) = sqrt(0.5), by scipy's bivariate normal cdf
    mvn = sps.multivariate_normal([0, 0], [[1, math.sqrt(0.5)], [math.sqrt(0.5), 1]])
    inside = (mvn.cdf([c1, c2]) - mvn.cdf([-c1, c2]) - mvn.cdf([c1, -c2]) + mvn.cdf([-c1, -c2]))
    stay = 1 - 2 * sps.norm.sf(c1)
    assert stay - inside == pytest.approx(0.05 - spent(0.5, 0.05), abs=2e-5)


@pytest.mark.parametrize("kind", ["obrien-fleming", "pocock"])
def test_monte_carlo_crossing_rate_is_the_level(kind):
    fr = np.arange(3, 11) / 10  # looks at 3..10 seeds of 10
    c = np.array(boundaries(tuple(fr), 0.05, kind))
    rng = np.random.default_rng(1)
    paths = (rng.normal(size=(200_000, len(fr))) * np.sqrt(np.diff(np.r_[0, fr]))).cumsum(1)
    rate = (np.abs(paths / np.sqrt(fr)) >= c).any(1).mean()
    assert rate == pytest.approx(0.05, abs=0.0025)  # 5 standard errors of 200,000 paths


def test_design_nominal_and_repeated_p():
    d = SequentialDesign(3, 10)
    assert SequentialDesign(4, 4).nominal(0.05, 4) == pytest.approx(0.05)  # one look
    noms = [d.nominal(0.05, n) for n in range(3, 11)]
    assert noms == sorted(noms) and noms[-1] < 0.05  # spending: every look below the full level
    assert d.nominal(0.05, 3) == pytest.approx(2 * sps.norm.sf(1.959964 / math.sqrt(0.3)), rel=1e-4)
    for n in (3, 7, 10):
        for level in (0.05, 0.025, 0.05 / 3):
            assert d.repeated_p(d.nominal(level, n), n) == pytest.approx(level, rel=1e-6)
    assert d.repeated_p(0.001, 7) < d.repeated_p(0.01, 7) < d.repeated_p(0.1, 7) <= 1.0
    with pytest.raises(ValueError, match="max_seeds"):
        SequentialDesign(5, 4)


def test_seeds_for_power_by_hand_and_by_simulation():
    # fixed-sample Welch, sd 1 in both cells, effect 2: (t_.975 + t_.8) sqrt(2 / n) <= 2
    # n = 5 (df 8): (2.306 + 0.889) x 0.632 = 2.02 > 2; n = 6 (df 10): (2.228 + 0.879) x 0.577 = 1.79
    fixed = SequentialDesign(10, 10)
    assert seeds_for_power(2.0, 1.0, 1.0, 0.05, fixed, fixed=True) == 6
    rng = np.random.default_rng(0)
    a, b = rng.normal(2, 1, (4000, 6)), rng.normal(0, 1, (4000, 6))
    power = (sps.ttest_ind(a, b, axis=1, equal_var=False).pvalue < 0.05).mean()
    assert power >= 0.78  # ~0.82: the planned n reaches the power it promises
    # the sequential design asks for more (its last looks are below 0.05); a tiny effect for none
    assert seeds_for_power(2.0, 1.0, 1.0, 0.05, SequentialDesign(3, 10)) > 6
    assert seeds_for_power(0.1, 1.0, 1.0, 0.05, SequentialDesign(3, 10)) is None
    assert seeds_for_power(-1.0, 1.0, 1.0, 0.05, SequentialDesign(3, 10)) is None


def test_simulated_null_rejects_at_most_the_level():
    out = simulate(0.0, 1.0, start=3, max_seeds=10, trials=400, seed=0)
    assert out["reject_rate"] <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 400)
    assert out == simulate(0.0, 1.0, start=3, max_seeds=10, trials=400, seed=0)  # deterministic


def test_simulated_effect_resolves_early():
    out = simulate(2.0, 1.0, start=3, max_seeds=10, trials=200, seed=0)
    assert out["reject_rate"] >= 0.8 and out["mean_seeds"] < 10
    assert 0 <= out["max_seeds_hit"] <= 1


def test_naive_looks_would_inflate_the_error():
    """Why the design: the same looks (3..10 seeds) each at the full 0.05 reject far more often."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (2000, 10)), rng.normal(0, 1, (2000, 10))
    hit = np.zeros(2000, bool)
    for n in range(3, 11):
        hit |= sps.ttest_ind(a[:, :n], b[:, :n], axis=1, equal_var=False).pvalue < 0.05
    assert hit.mean() > 0.1
