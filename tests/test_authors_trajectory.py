"""The suite's training step against the authors' own trajectory: 70 steps at K 4096.

The fixture (``$MOCOSE_DATA/fixtures/authors_k4096_70steps``, its README says how it was made)
records what the authors' code (xbdxwyh/mocose at 45cbc81) computed from fixed heads, a fixed
initial queue and 70 fixed batches with dropout, FGSM and augmentation off. The suite, fed the same
inputs, must give at every step the same loss (1e-5 absolute), the same number of negatives (the
authors' queue holds up to ~2K at steps 61-63), the same EMA decay (1e-9) and the same gradient
norm before clipping (1e-3 relative). A missing fixture fails the test; it never skips.
"""
from __future__ import annotations

import copy
import dataclasses
import os

import pytest
import torch
from conftest import DEFAULT_DATA

from mocose.training.replay import AuthorsTrajectory, Tolerance, mismatches, replay

pytestmark = pytest.mark.slow

_REPLAYS: dict[str, list] = {}


@pytest.fixture(scope="module")
def fixture() -> AuthorsTrajectory:
    """From $MOCOSE_DATA, else the data folder beside the project (as conftest gives every test;
    its autouse fixture is function-scoped, so it has not run yet for a module fixture)."""
    return AuthorsTrajectory.load(None if os.environ.get("MOCOSE_DATA") else DEFAULT_DATA)


def replayed(fixture: AuthorsTrajectory, device: str) -> list:
    """The 70 replayed steps on ``device``, computed once per module."""
    if device not in _REPLAYS:
        config = fixture.config.override({"matmul_precision": "highest"})
        model = dataclasses.replace(fixture, config=config).build_model(device)
        _REPLAYS[device] = list(replay(model, config, fixture.batches(), device))
    return _REPLAYS[device]


def test_fixture_is_the_recorded_one(fixture):
    """What the README of the fixture says it holds: 70 logged steps of batches of 64."""
    assert fixture.steps == 70
    assert fixture.ids.shape[1] == 32 and fixture.ids.shape[0] >= 70 * 64
    assert fixture.queue0.shape == (768, 4096)
    assert [fixture.log["n_neg"][str(s)] for s in (1, 2, 60, 61, 62, 63, 64, 70)] == \
        [256, 320, 4032, 7936, 8000, 8064, 4096, 4096]


def test_the_suite_follows_the_authors_trajectory_on_cpu(fixture):
    steps = replayed(fixture, "cpu")
    assert len(steps) == 70
    assert mismatches(steps, fixture.log) == []
    assert steps[-1].loss == pytest.approx(2.300273, abs=1e-5)  # the fixture README's step 70


def test_the_compiled_step_follows_the_first_steps_on_cpu(fixture):
    """The compiled encoder passes (on by default on CUDA) hold the same arithmetic: 10 steps."""
    config = fixture.config.override({"compile": "on"})
    model = dataclasses.replace(fixture, config=config).build_model("cpu")
    steps = list(replay(model, config, fixture.batches(10), "cpu"))
    first = {k: {s: v[s] for s in map(str, range(1, 11))} for k, v in fixture.log.items()}
    assert mismatches(steps, first) == []


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_suite_follows_the_authors_trajectory_on_cuda(fixture):
    """The GPU path at float32's highest matmul precision, to 1e-4 in the loss."""
    steps = replayed(fixture, "cuda")
    assert mismatches(steps, fixture.log, Tolerance(loss=1e-4)) == []


@pytest.mark.parametrize("step", ["1", "35", "62", "70"])
def test_a_reference_loss_moved_by_1e3_is_caught(fixture, step):
    steps = replayed(fixture, "cpu")
    log = copy.deepcopy(fixture.log)
    log["loss"][step] += 1e-3
    problems = mismatches(steps, log)
    assert len(problems) == 1 and problems[0].startswith(f"step {step}: loss"), problems


def test_changed_negatives_decay_or_norm_are_caught(fixture):
    steps = replayed(fixture, "cpu")
    for key, change, what in (("n_neg", lambda v: v + 64, "negatives"),
                              ("ema_decay", lambda v: v + 1e-8, "EMA decay"),
                              ("grad_norm_total", lambda v: v * 1.002, "gradient norm")):
        log = copy.deepcopy(fixture.log)
        log[key]["62"] = change(log[key]["62"])
        problems = mismatches(steps, log)
        assert len(problems) == 1 and problems[0].startswith("step 62:") and what in problems[0], problems


def test_a_step_not_replayed_is_named(fixture):
    steps = replayed(fixture, "cpu")[:69]
    assert mismatches(steps, fixture.log) == ["step 70: not replayed"]


def test_a_missing_fixture_is_an_error_not_a_skip(tmp_path):
    (tmp_path / "senteval").mkdir()
    with pytest.raises(FileNotFoundError, match="authors_k4096_70steps lacks heads.npz, queue0.npz"):
        AuthorsTrajectory.load(tmp_path)


def test_readme_replay_example_runs(fixture, monkeypatch, capsys):
    """The README's Python API example as written, on the first 3 steps of the fixture."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "AuthorsTrajectory" in b)
    short = dataclasses.replace(fixture, log={k: {s: v[s] for s in ("1", "2", "3")} for k, v in fixture.log.items()})
    monkeypatch.setattr(AuthorsTrajectory, "load", classmethod(lambda cls, *a, **k: short))
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's code
    assert capsys.readouterr().out.strip() == "same trajectory"
