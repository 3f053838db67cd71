"""Configuration as validated data, and the maximum traceable distance, against hand-worked values."""
import dataclasses
import re

import pytest

from mocose import Config, ConfigError, ema_decay_for_mtd, load_profile, mtd, queue_size_for_mtd
from mocose.config import AugmentConfig, QueueConfig
from mocose.queue_specs import QueueNegatives, parse_queue_negatives


def test_mtd_worked_values():
    assert mtd(0.85, 512, 64) == pytest.approx(1 / 0.15 + 8)  # 14.67
    assert round(mtd(0.85, 512, 64), 2) == 14.67
    assert mtd(0.0, 0, 64) == 1.0
    assert mtd(0.99, 4096, 64) == pytest.approx(100 + 64)


def test_mtd_inverses_round_trip():
    k = queue_size_for_mtd(14.67, 0.85, 64)
    assert k == 512 and mtd(0.85, k, 64) == pytest.approx(14.67, abs=0.01)
    eta = ema_decay_for_mtd(14.67, 512, 64)
    assert eta == pytest.approx(0.85, abs=1e-3)
    with pytest.raises(ValueError):
        queue_size_for_mtd(3.0, 0.85, 64)  # below the EMA horizon alone


def test_override_by_bare_name_parses_types():
    c = load_profile("cpu").override({"ema_decay": "0.95", "queue_size": "1024", "key_gradient": "false",
                                      "queue_init_fraction": "1/4", "queue_slice": "blocks:2-5/8"})
    assert (c.ema.ema_decay, c.queue.queue_size, c.model.key_gradient) == (0.95, 1024, False)
    assert c.queue.queue_init_fraction == 0.25
    assert Config.from_dict(c.to_dict()) == c and Config.from_dict(c.flat()).digest() == c.digest()
    assert c.digest() != load_profile("cpu").digest()


@pytest.mark.parametrize("field,value,allowed", [
    ("queue_size", "-1", r"\[0, inf\]"),
    ("queue_init_fraction", "1.5", r"\[0, 1\]"),
    ("ema_decay", "1.0", r"\[0, 1\)"),
    ("queue_compat", "moco", "suite, authors"),
    ("text_augment", "emoji", "typos"),
    ("queue_negatives", "kmeans:0", "kmeans:k"),
    ("queue_negatives", "kmeans:999", "queue_size"),
    ("batch_size", "sixty", "int"),
    ("analysis_splits", "dev,valid", "subset of train,dev,test"),
    ("analysis_splits", "dev,dev", "subset of train,dev,test"),
])
def test_bad_values_name_field_and_allowed(field, value, allowed):
    with pytest.raises(ConfigError, match=field) as err:
        load_profile("cpu").override({field: value})
    assert re.search(allowed, str(err.value))


def test_the_analysis_splits_are_outside_the_run_id():
    """Like eval_tasks: which STS-B splits a finished run is analysed on changes nothing it trained."""
    cpu = load_profile("cpu")
    assert cpu.eval.analysis_splits == "train,dev,test" and load_profile("smoke").eval.analysis_splits == "dev"
    assert cpu.override({"analysis_splits": "dev"}).digest() == cpu.digest()


def test_unknown_field_suggests_close_names():
    with pytest.raises(ConfigError, match="did you mean queue_size"):
        load_profile("cpu").override({"queue_sise": 10})
    with pytest.raises(ConfigError, match="unknown profile 'gpu'.*cpu, paper, smoke"):
        load_profile("gpu")


def test_knob_specs():
    assert parse_queue_negatives("all", 512) == QueueNegatives("all")
    assert parse_queue_negatives("mean", 512) == QueueNegatives("mean")
    assert parse_queue_negatives("kmeans:10", 512) == QueueNegatives("kmeans", 10)
    with pytest.raises(ConfigError, match="queue_negatives"):
        QueueConfig(queue_negatives="kmeans:513")
    parsed = QueueConfig(queue_size=8, queue_slice="ages:2-5", queue_negatives="kmeans:3")
    assert parsed.ages == (2, 3, 4) and parsed.negatives == QueueNegatives("kmeans", 3)
    assert "ages" not in dataclasses.asdict(parsed) and "negatives" not in dataclasses.asdict(parsed)
    with pytest.raises(ConfigError, match="queue_slice"):
        QueueConfig(queue_compat="authors", queue_slice="blocks:0-3/8")
    with pytest.raises(ConfigError, match="token_cutoff"):
        AugmentConfig(token_cutoff=1.0)
