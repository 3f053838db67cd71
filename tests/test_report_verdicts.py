"""The verdict vocabulary worked by hand: each claim verdict from a t-interval computed here from a
t table, for 'a > b' and '|a - b| <= margin' checks, against a cell that trains nothing, and each
reproduction verdict of a published number."""
from __future__ import annotations

import math

import pytest

from ablations.spec import Artifact, Cell, Claim, beats, within
from mocose.report import claims
from mocose.report.seeds import claim_seeds
from mocose.report.stats import stepdown_levels
from mocose.report.verdicts import (ABOVE, BELOW, CONTRADICTED, HOLDS, REPRODUCED, SMALLER, TOO_FEW,
                                    UNRESOLVED, reproduction)

# Two cells of three runs, x-1, x, x+1: var 1 each, so a - b has se = sqrt(1/3 + 1/3) = 0.81650
# and Welch's df = (2/3)^2 / (2 (1/3)^2 / 2) = 4. t table: t(0.975, 4) = 2.7764 (two-sided 95%),
# t(0.95, 4) = 2.1318 (one-sided, TOST's interval).
SE = math.sqrt(2 / 3)
HALF_TWO_SIDED = 2.7764 * SE  # 2.2670
HALF_ONE_SIDED = 2.1318 * SE  # 1.7407


def trio(x: float, untrained: bool = False) -> list[dict]:
    run = {"config": {"model": {"method": "none"}}} if untrained else {}
    return [{**run, "metrics": {"avg": {"sts": v}}} for v in (x - 1, x, x + 1)]


def check_of(check, diff: float, gap: float):
    art = Artifact("t", "test", "table", (Cell("a", paper=gap), Cell("b", paper=0.0)),
                   claims=(Claim("c", (check,)),))
    return claims.evaluate_claims(art, {"a": trio(diff), "b": trio(0.0)})[0].checks[0]


@pytest.mark.parametrize("diff,gap,expected", [
    (3.0, 3.0, HOLDS),          # [0.73, 5.27]: above the margin 0
    (-3.0, 3.0, CONTRADICTED),  # [-5.27, -0.73]: below it
    (0.5, 4.0, SMALLER),        # [-1.77, 2.77]: includes 0, the paper's 4 lies above it
    (0.5, 2.0, UNRESOLVED),     # [-1.77, 2.77]: includes 0 and the paper's 2
])
def test_greater_check_verdict_from_its_interval(diff, gap, expected):
    ch = check_of(beats("a", "b"), diff, gap)
    assert (ch.low, ch.high) == pytest.approx((diff - HALF_TWO_SIDED, diff + HALF_TWO_SIDED), abs=1e-3)
    assert ch.verdict == expected


@pytest.mark.parametrize("diff,gap,expected", [
    (0.0, 0.5, HOLDS),          # [-1.74, 1.74]: inside (-3, 3)
    (5.0, 0.5, CONTRADICTED),   # [3.26, 6.74]: wholly above 3
    (2.0, -0.5, SMALLER),       # [0.26, 3.74]: reaches 3, excludes the paper's -0.5
    (2.0, 1.0, UNRESOLVED),     # [0.26, 3.74]: reaches 3, includes the paper's 1
])
def test_within_check_verdict_from_its_tost_interval(diff, gap, expected):
    ch = check_of(within("a", "b", 3.0), diff, gap)
    assert (ch.low, ch.high) == pytest.approx((diff - HALF_ONE_SIDED, diff + HALF_ONE_SIDED), abs=1e-3)
    assert ch.verdict == expected


def test_a_cell_that_trains_nothing_is_one_number_not_seeds():
    # b: one evaluation of an untrained encoder, 0 exactly. a = (2, 3, 4) against it: a
    # one-sample t interval, se = 1 / sqrt 3, df 2, t(0.975, 2) = 4.3027: 3 +- 2.4842.
    art = Artifact("t", "test", "table", (Cell("a", paper=3.0), Cell("b", paper=0.0)),
                   claims=(Claim("c", (beats("a", "b"),)),))
    runs = {"a": trio(3.0), "b": trio(1.0, untrained=True)[:1]}
    ch = claims.evaluate_claims(art, runs)[0].checks[0]
    assert ch.fixed == ("b",)
    assert (ch.low, ch.high) == pytest.approx((3 - 2.4842, 3 + 2.4842), abs=1e-3)
    assert ch.verdict == HOLDS
    (cs,) = claim_seeds(art, runs)
    assert cs.seeds_used == {"a": 3}  # the untrained cell counts no seeds


def test_holm_stepdown_levels_stop_at_the_first_check_kept():
    # sorted: 0.005 < 0.05/4 rejects, 0.01 < 0.05/3 rejects, 0.03 >= 0.05/2 stops: it and 0.04
    # are tested at 0.025
    assert stepdown_levels([0.01, 0.04, 0.03, 0.005]) == pytest.approx(
        [0.05 / 3, 0.025, 0.025, 0.05 / 4])


# Seeds (10, 12, 14): mean 12, sd 2, se 2 / sqrt 3 = 1.1547, t(0.975, 2) = 4.3027: [7.0317, 16.9683].
@pytest.mark.parametrize("published,verdict,distance", [
    (15.0, REPRODUCED, None),
    (20.0, BELOW, 20.0 - 16.9683),   # our interval lies below the published number
    (5.0, ABOVE, 7.0317 - 5.0),
])
def test_reproduction_verdict_from_the_t_interval_of_our_mean(published, verdict, distance):
    found = reproduction([10.0, 12.0, 14.0], published)
    assert (found.low, found.high) == pytest.approx((7.0317, 16.9683), abs=1e-3)
    assert found.verdict == verdict and found.published == published
    assert found.distance == (None if distance is None else pytest.approx(distance, abs=1e-3))


def test_reproduction_with_too_few_seeds_or_one_exact_evaluation():
    assert reproduction([12.0], 15.0).verdict == TOO_FEW
    assert reproduction([12.0, 13.0], None) is None
    assert reproduction([31.42], 31.40, fixed=True).verdict == REPRODUCED  # within 0.05
    far = reproduction([31.4], 31.6, fixed=True)
    assert far.verdict == BELOW and far.distance == pytest.approx(0.2)
    assert far.text(comparable=False) == "below by 0.20 (not comparable)"
