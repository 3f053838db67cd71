"""``reproduce --set``'s reruns (ablations/overrides.py): the grid at another base setting, named
by its overrides, a cell that sets the field itself keeping its own value."""
from __future__ import annotations

import pytest

import ablations
from ablations.overrides import parse_overrides, split_name, with_overrides
from mocose.cli import main
from mocose.config import ConfigError


def test_a_rerun_carries_its_overrides_in_name_title_and_base():
    table3 = ablations.get("table3")
    rerun = with_overrides(table3, parse_overrides(["batch_size=32", "learning_rate=5e-5"]))
    assert rerun.name == "table3+batch_size=32+learning_rate=5e-05"
    assert rerun.title == table3.title + " [batch_size=32, learning_rate=5e-05]"
    assert [c.label for c in rerun.cells] == [c.label for c in table3.cells]
    for cell in rerun.run_cells:
        config = rerun.config(cell, "smoke")
        assert (config.train.batch_size, config.train.learning_rate) == (32, 5e-5)
        assert config.ema.ema_decay == table3.config(cell, "smoke").ema.ema_decay
    assert split_name(rerun.name) == ("table3", {"batch_size": 32, "learning_rate": 5e-5})


def test_a_cell_that_sets_the_field_keeps_its_value_and_the_notes_say_so():
    table3 = ablations.get("table3")
    rerun = with_overrides(table3, {"ema_decay": 0.7})
    assert {rerun.config(c, "smoke").ema.ema_decay for c in rerun.run_cells} == \
        {c.overrides["ema_decay"] for c in table3.cells}
    assert "eta 0.85 (ema_decay=0.85)" in rerun.notes and table3.notes in rerun.notes


def test_values_that_cannot_name_a_file_are_refused():
    with pytest.raises(ConfigError, match="names the report files"):
        parse_overrides(["train_file=wiki/other.txt"])


@pytest.mark.parametrize("bad, words", [("batch_sise=32", "did you mean batch_size"),
                                        ("batch_size=many", "batch_size='many' is not allowed"),
                                        ("batch_size", "key=value")])
def test_a_bad_set_is_one_line_exit_2(bad, words, tmp_path, capsys):
    assert main(["reproduce", "table3", "--set", bad, "--results", str(tmp_path / "results"), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err
    assert not (tmp_path / "results").exists()
