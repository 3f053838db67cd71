"""The report from synthetic result files (written in the layout of docs/results.md): statistics, verdicts,
missing cells, collapse marks, the paper's table layouts, the run DataFrame, the files it writes and
the figures' axes."""
from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import matplotlib.collections as mcoll
import pandas as pd
import pytest
from scipy import stats as sps

import ablations
from mocose.config import ConfigError
import mocose
from mocose.report import build as report, cells, plots, provenance, tables
from mocose.report import commands as report_commands
from mocose.report.verdicts import CONTRADICTED, HOLDS, NOT_ENOUGH
from mocose.evaluation.tasks import STS_TASKS, TRANSFER_TASKS

PROFILE = "smoke"


def write_result(root: Path, artifact: str, label: str, seed_offset: int, sts: float | None = None,
                 *, status: str = "ok", transfer: float | None = None, analysis: dict | None = None,
                 curve: list | None = None, flat: bool = True, devacc: float | None = None,
                 task_scores: dict | None = None) -> dict:
    """One result file for a cell of an artifact, shaped as the runner writes it: every task of
    the group at ``sts`` / ``transfer`` (dev accuracy ``devacc``, else ``transfer``), unless
    ``task_scores`` gives the tasks' scores one by one (the average is then their mean)."""
    art = ablations.get(artifact)
    config = art.config(label, PROFILE, 42 + seed_offset)
    tasks = {}
    if sts is not None:
        tasks.update({t: {"score": sts} for t in STS_TASKS})
    if transfer is not None:
        dev = transfer if devacc is None else devacc
        tasks.update({t: {"score": transfer, "acc": transfer, "devacc": dev} for t in TRANSFER_TASKS})
    for t, v in (task_scores or {}).items():
        tasks[t] = {"score": v}
    avg = {}
    if sts is not None or any(t in STS_TASKS for t in task_scores or {}):
        avg["sts"] = sum(tasks[t]["score"] for t in STS_TASKS) / len(STS_TASKS)
    if transfer is not None:
        avg["transfer"] = transfer
    body = {
        "schema": 1, "run_id": config.digest(), "profile": PROFILE, "seed": config.train.seed,
        "config": config.to_dict(), "status": status,
        "metrics": {"tasks": tasks, "avg": avg},
        "analysis": analysis or {"alignment": 0.2, "uniformity": -2.0, "singular_values": [1.0, 0.5]},
        "training": {"steps": 16, "best_step": 8, "best_score": 50.0, "selection": "stsb_dev",
                     "collapsed": status == "collapsed", "curve": curve or []},
        "mtd": None, "best_checkpoint": None, "wall_time": 3.0, "device": "cpu",
        "versions": {"python": "3"}, "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "created": "2026-01-01T00:00:00+00:00", "host": "test",
    }
    if flat:
        body["flat_config"] = config.flat()
    path = root / PROFILE / "runs" / f"{config.digest()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body))
    return body


def _json(root: Path, name: str) -> dict:
    return json.loads((root / PROFILE / "reports" / f"{name}.json").read_text())


def _cell(dump: dict, label: str) -> dict:
    return next(c for c in dump["cells"] if c["label"] == label)


# Statistics and claim verdicts are tested in tests/test_claims.py.


# -- whole reports from synthetic files ---------------------------------------------------------------
@pytest.fixture()
def table3_results(tmp_path):
    """eta 0.85 at 76, 77, 78 (mean 77, std 1); the others two seeds each; eta 0.99 missing."""
    root = tmp_path / "results"
    for i, v in enumerate((76.0, 77.0, 78.0)):
        write_result(root, "table3", "eta 0.85", i, v)
    for label, values in {"eta 0.5": (70.0, 71.0), "eta 0.8": (72.0, 72.5),
                          "eta 0.9": (73.0, 74.0), "eta 0.95": (74.0, 74.4)}.items():
        for i, v in enumerate(values):
            write_result(root, "table3", label, i, v, flat=(label != "eta 0.9"))
    return root


def test_table_report_statistics_and_verdicts(table3_results, tmp_path):
    root = table3_results
    [rep] = report.build(["table3"], PROFILE, root, tmp_path / "plots")
    dump = _json(root, "table3")
    c = _cell(dump, "eta 0.85")
    assert (c["n"], c["mean"], c["std"]) == (3, pytest.approx(77.0), pytest.approx(1.0))
    assert c["diff"] == pytest.approx(77.0 - 76.49)
    assert c["seeds"] == [42, 43, 44]
    assert _cell(dump, "eta 0.9")["mean"] == pytest.approx(73.5)  # read without flat_config
    missing = _cell(dump, "eta 0.99")
    assert missing["n"] == 0 and missing["mean"] is None and missing["status"] == "no result"
    [claim] = dump["claims"]
    assert claim["verdict"] == NOT_ENOUGH and claim["paper"] == HOLDS
    by_check = {ch["check"]: ch for ch in claim["checks"]}
    vs05 = by_check["eta 0.85 > eta 0.5 (sts)"]
    ref = sps.ttest_ind((76.0, 77.0, 78.0), (70.0, 71.0), equal_var=False)
    assert vs05["verdict"] == HOLDS and vs05["p"] == pytest.approx(ref.pvalue)
    assert vs05["diff"] == pytest.approx(6.5) and vs05["a_n"] == 3 and vs05["b_n"] == 2
    assert by_check["eta 0.85 > eta 0.99 (sts)"]["verdict"] == NOT_ENOUGH
    md = (root / PROFILE / "reports" / "table3.md").read_text()
    assert "77.00 ± 1.00 (76.49)" in md and "| eta 0.85 | eta 0.85 (n=3)" not in md
    assert "no result (75.12)" in md and "Not a reproduction" in md and "stsb_dev" in md
    assert "Seeds found**: 42, 43, 44" in md and "**Preset**: `clean`" in md
    # the CSV: the paper's layout (one row, a column per eta) with mean, std, n and paper per entry
    table = pd.read_csv(root / PROFILE / "reports" / "table3.csv")
    assert len(table) == 1
    assert table.loc[0, "0.85 mean"] == pytest.approx(77.0) and table.loc[0, "0.85 n"] == 3
    assert table.loc[0, "0.85 std"] == pytest.approx(1.0) and table.loc[0, "0.85 paper"] == 76.49
    assert pd.isna(table.loc[0, "0.99 mean"]) and table.loc[0, "0.99 n"] == 0
    runs = pd.read_csv(root / PROFILE / "reports" / "table3.runs.csv")
    assert len(runs) == 11 and set(runs["cell"]) == {"eta 0.85", "eta 0.5", "eta 0.8", "eta 0.9",
                                                     "eta 0.95"}
    tex = (root / PROFILE / "reports" / "table3.tex").read_text()
    assert r"77.00 $\pm$ 1.00 (76.49)" in tex and r"\begin{tabular}" in tex
    assert rep.n_with_results == 5 and rep.n_cells == 6
    index = (root / PROFILE / "REPORT.md").read_text()
    assert "reports/table3.md" in index and "`table4`" in index  # the index covers every artifact
    assert "smoke" in (root / "REPORT.md").read_text()


def test_completed_claim_holds_and_fails(tmp_path):
    root = tmp_path / "results"
    for label, values in {"+ FGSM (5e-9)": (77.0, 77.2, 77.1), "dropout only": (76.0, 76.1, 75.9)}.items():
        for i, v in enumerate(values):
            write_result(root, "augmentations", label, i, v)
    rep = cells.analyse(ablations.get("augmentations"), PROFILE,
                         *report.read_records(root, PROFILE))
    fgsm, others = rep.claims
    assert fgsm.verdict == HOLDS and fgsm.checks[0].diff == pytest.approx(1.1)
    assert others.verdict == NOT_ENOUGH  # the other augmentations have no runs
    for i, v in enumerate((79.0, 79.5)):  # an augmentation clearly above dropout alone
        write_result(root, "augmentations", "+ position shuffle", i, v)
    rep = cells.analyse(ablations.get("augmentations"), PROFILE, *report.read_records(root, PROFILE))
    assert rep.claims[1].verdict == CONTRADICTED


def test_failed_runs_and_collapse_are_reported(tmp_path):
    root = tmp_path / "results"
    # near 0 from step 2,000 on, as Figure 5 (collapse: dev below 5 at every validation there)
    curve = [{"step": s, "loss": 1.0, "dev_spearman": d, "embedding_std": 1e-6}
             for s, d in ((1000, 20.0), (2000, 2.0), (3000, 1.0))]
    for i in range(2):
        write_result(root, "fig5", "symmetric, eta 0", i, 20.0, status="collapsed", curve=curve)
    config = ablations.get("fig5").config("MoCoSE (eta 0.85)", PROFILE, 42)
    failure = {"schema": 1, "run_id": config.digest(), "profile": PROFILE, "seed": 42,
               "config": config.to_dict(), "flat_config": config.flat(), "status": "failed",
               "error": "RuntimeError: out of memory\nmore", "traceback": "..."}
    (root / PROFILE / "failed").mkdir(parents=True)
    (root / PROFILE / "failed" / f"{config.digest()}.json").write_text(json.dumps(failure))
    plots = tmp_path / "plots"
    [rep] = report.build(["fig5"], PROFILE, root, plots)
    dump = _json(root, "fig5")
    assert dump["claims"][0]["verdict"] == HOLDS  # both runs of the symmetric model collapsed
    assert dump["claims"][0]["paper"] == HOLDS
    sym = _cell(dump, "symmetric, eta 0")
    assert sym["collapsed_runs"] == 2 and "collapsed" in sym["status"]
    assert _cell(dump, "MoCoSE (eta 0.85)")["status"] == "no result (failed: RuntimeError: out of memory)"
    for ext in (".png", ".pdf"):
        path = plots / PROFILE / f"fig5{ext}"
        assert path.is_file() and path.stat().st_size > 1000
    md = (root / PROFILE / "reports" / "fig5.md").read_text()
    assert "../../../plots/smoke/fig5.png" in md and cells.COLLAPSE_MARK in md


def test_figures_are_drawn_with_and_without_results(tmp_path):
    root = tmp_path / "results"
    for i, (align, unif) in enumerate(((0.20, -2.0), (0.22, -2.2))):
        write_result(root, "align_uniform", "MoCoSE", i, 70.0,
                     analysis={"alignment": align, "uniformity": unif,
                               "singular_values": [3.0, 2.0, 1.0]})
    write_result(root, "fig3", "eta 0.85, K 512, B 64", 0, 70.0)  # Figure 2's MTD 14.67 pools it
    plots = tmp_path / "plots"
    reps = report.build(["align_uniform", "fig7", "fig2", "fig10", "table1"], PROFILE, root, plots)
    for name in ("align_uniform", "fig7", "fig2", "fig10"):
        assert (plots / PROFILE / f"{name}.png").is_file() and (plots / PROFILE / f"{name}.pdf").is_file()
    mocose = _cell(_json(root, "fig7"), "MoCoSE")
    assert mocose["mean"] == pytest.approx((1 + 2 / 3 + 1 / 3) / 3)  # sv_auc by hand
    au = _cell(_json(root, "align_uniform"), "MoCoSE")
    # align_uniform = alignment + uniformity: -1.80 and -1.98 -> mean -1.89, std 0.18 / sqrt(2)
    assert au["mean"] == pytest.approx(-1.89) and au["std"] == pytest.approx(0.18 / math.sqrt(2))
    t1 = (root / PROFILE / "reports" / "table1.md").read_text()
    assert "| MoCoSE " in t1 and "| GloVe (avg.) " in t1 and "— (61.32)" in t1
    assert {r.art.name for r in reps} == {"align_uniform", "fig7", "fig2", "fig10", "table1"}


def test_table2_reads_transfer_scores(tmp_path):
    root = tmp_path / "results"
    for i, (m, s) in enumerate(((85.0, 85.2), (85.1, 85.1), (84.9, 85.3))):
        write_result(root, "table2", "MoCoSE-BERT", i, transfer=m)
        write_result(root, "table2", "SimCSE-BERT", i, transfer=s)
    rep = cells.analyse(ablations.get("table2"), PROFILE, *report.read_records(root, PROFILE))
    within = rep.claims[0]
    assert within.checks[0].metric == "transfer" and within.verdict == HOLDS
    cell = next(cd for cd in rep.cells if cd.cell.label == "MoCoSE-BERT")
    assert cell.stats.mean == pytest.approx(85.0) and cell.values("MRPC") == [85.0, 85.1, 84.9]


def test_report_command_is_registered(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    report_commands.register(parser.add_subparsers())
    args = parser.parse_args(["report"])
    assert (args.profile, str(args.results), str(args.plots), args.names, args.preset) == (
        None, "results", "plots", [], "clean")
    root = tmp_path / "r"
    args = parser.parse_args(["report", "kmeans", "--profile", PROFILE, "--results", str(root),
                              "--plots", str(tmp_path / "p")])
    with pytest.raises(ConfigError, match="no profile has results there yet"):
        args.func(args)  # nothing to report: said, and no empty report written
    assert not (root / PROFILE / "reports").exists()
    write_result(root, "kmeans", "normal", 0, 75.0)
    args = parser.parse_args(["report", "kmeans", "--results", str(root), "--plots", str(tmp_path / "p")])
    assert args.func(args) == 0  # no --profile: the profile that has results
    assert f"kmeans [{PROFILE}]: 1/8 cells with results" in capsys.readouterr().out  # 6 + 2 suite additions
    assert (root / PROFILE / "reports" / "kmeans.md").is_file()
    assert not (root / "cpu").exists()  # never an empty report of another profile beside it
    args = parser.parse_args(["report", "kmeans", "--profile", "cpu", "--results", str(root)])
    with pytest.raises(ConfigError, match=f"profiles with results there: {PROFILE}"):
        args.func(args)


def test_fgsm_changed_fraction_is_shown(tmp_path):
    """Table 9 says how much of the input FGSM really changed (docs/model.md, Augmentations)."""
    root = tmp_path / "results"
    body = write_result(root, "table9", "eps 1e-9", 0, 75.0)
    body["training"]["diagnostics"] = {"fgsm_changed_fraction": 0.125}
    path = root / PROFILE / "runs" / f"{body['run_id']}.json"
    path.write_text(json.dumps(body))
    report.build(["table9"], PROFILE, root, tmp_path / "plots")
    md = (root / PROFILE / "reports" / "table9.md").read_text()
    assert "FGSM changed" in md and "0.1250" in md


# -- the run DataFrame ---------------------------------------------------------------------------------
def test_load_runs_is_one_tidy_row_per_run(tmp_path):
    root = tmp_path / "results"
    assert mocose.load_runs(root, PROFILE).empty  # no runs yet: an empty frame, not an error
    for i, v in enumerate((76.0, 77.0, 78.0)):
        write_result(root, "table3", "eta 0.85", i, v)
    write_result(root, "table3", "eta 0.5", 0, 70.0)
    for i, dev in enumerate((86.0, 87.0)):
        write_result(root, "table2", "MoCoSE-BERT", i, transfer=85.0, devacc=dev)
    every = mocose.load_runs(root, PROFILE)
    # one row per (artifact, cell, run): each run counts for its own cell, and shared ones for more
    table3 = every[every["artifact"] == "table3"]
    assert sorted(table3.groupby("cell")["run_id"].nunique().items()) == [("eta 0.5", 1), ("eta 0.85", 3)]
    assert set(every["run_id"]) == set(table3["run_id"]) | set(every.loc[every["artifact"] == "table2", "run_id"])
    assert not every.duplicated(["artifact", "cell", "run_id"]).any()
    runs = every.drop_duplicates("run_id")
    assert len(runs) == 6
    assert {"artifact", "cell", "seed", "ema_decay", "queue_size", "fgsm_epsilon", "sts", "STS12", "STSBenchmark",
            "SST2", "SST2_devacc", "transfer_devacc", "preset", "collapsed"} <= set(runs.columns)
    sts = runs.dropna(subset=["sts"])
    assert sts.groupby("ema_decay")["sts"].mean().to_dict() == {0.5: 70.0, 0.85: 77.0}
    assert sorted(sts.loc[sts["ema_decay"] == 0.85, "seed"]) == [42, 43, 44]
    mocose_rows = runs[runs["fgsm_epsilon"] == 5e-9]
    assert list(mocose_rows["SST2"]) == [85.0, 85.0]
    assert sorted(mocose_rows["transfer_devacc"]) == [86.0, 87.0]
    assert set(runs["preset"]) == {"clean"} and not runs["collapsed"].any()


def test_readme_example_runs(tmp_path, monkeypatch):
    """The README's DataFrame example, run as written from a folder holding ./results."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    code = next(b for b in blocks if "load_runs" in b)
    monkeypatch.chdir(tmp_path)
    for i, v in enumerate((76.0, 78.0)):
        write_result(tmp_path / "results", "table3", "eta 0.85", i, v)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    table = namespace["table"]
    assert table.loc[("table3", "eta 0.85"), "mean"] == pytest.approx(77.0)
    assert table.loc[("table3", "eta 0.85"), "std"] == pytest.approx(math.sqrt(2.0))
    assert table.loc[("table3", "eta 0.85"), "count"] == 2


def test_preset_comes_from_the_config(tmp_path):
    from mocose.report.runs import preset_of

    body = write_result(tmp_path / "results", "table3", "eta 0.85", 0, 76.0)
    assert preset_of(body) == "clean"  # the config names no preset
    body["flat_config"]["preset"] = "authors"
    assert preset_of(body) == "authors"
    lines = provenance.provenance_lines(PROFILE, [body])
    assert any("**Preset**: `authors`" in line for line in lines)
    assert any("Model selection**: `stsb_dev`" in line for line in lines)
    assert any("`smoke`" in line and "Not a reproduction" in line for line in lines)


def test_a_page_names_analyses_read_on_fewer_splits_than_simcse(tmp_path):
    body = write_result(tmp_path / "results", "table3", "eta 0.85", 0, 76.0)
    body["analysis"] = {"alignment": 0.2, "uniformity": -2.0, "splits": ["train", "dev", "test"]}
    assert not any("**Analyses**" in line for line in provenance.provenance_lines(PROFILE, [body]))
    other = dict(body, run_id="x", analysis={**body["analysis"], "splits": ["dev"]})
    (line,) = [x for x in provenance.provenance_lines(PROFILE, [body, other]) if "**Analyses**" in x]
    assert "`dev` / `train,dev,test`" in line


# -- the paper's layouts --------------------------------------------------------------------------------
# Table 1 as printed on slide 4: the rows, their order and the two group headers.
SLIDE4_TABLE1_ROWS = [
    "Unsupervised Models (Base)", "GloVe (avg.)", "BERT (first-last avg.)", "BERT-flow",
    "BERT-whitening", "IS-BERT", "CT-BERT", "RoBERTa (first-last avg.)", "RoBERTa-whitening",
    "DeCLUTR-RoBERTa", "SimCSE", "MoCoSE", "Unsupervised Models (Large)", "SimCSE-RoBERTa (large)",
    "SimCSE-BERT (large)", "MoCoSE-BERT (large)"]


def test_table1_in_the_papers_layout(tmp_path):
    root = tmp_path / "results"
    scores = [{t: 70.0 + k + i for k, t in enumerate(STS_TASKS)} for i in range(3)]  # seed i: +i
    for i, s in enumerate(scores):
        write_result(root, "table1", "MoCoSE", i, task_scores=s)
    write_result(root, "table1", "BERT-[CLS]", 0, 50.0)  # not in the paper: a suite addition
    report.build(["table1"], PROFILE, root, tmp_path / "plots")
    rep = cells.analyse(ablations.get("table1"), PROFILE, *report.read_records(root, PROFILE))
    frame = tables.display_frame(tables.layout(rep))
    assert list(frame.columns) == ["Model", "STS12", "STS13", "STS14", "STS15", "STS16", "STS-B",
                                   "SICK-R", "Avg."]
    assert list(frame["Model"]) == SLIDE4_TABLE1_ROWS
    mocose_row = frame[frame["Model"] == "MoCoSE"].iloc[0]
    # STS-B is the sixth task: 75, 76, 77 over the seeds -> 76.00 ± 1.00; the paper's 78.68
    assert mocose_row["STS-B"] == "76.00 ± 1.00 (78.68)"
    # the average of 70..76 (+i) is 73 + i -> 74.00 ± 1.00; the paper's 77.27
    assert mocose_row["Avg."] == "74.00 ± 1.00 (77.27)"
    assert frame[frame["Model"] == "GloVe (avg.)"].iloc[0]["Avg."] == "— (61.32)"
    additions = tables.additions_frame(rep)
    assert list(additions.iloc[:, 0]) == ["BERT-[CLS]"] and additions.iloc[0]["Ours"] == "50.00"
    out = root / PROFILE / "reports"
    md = (out / "table1.md").read_text()
    assert "| **Unsupervised Models (Large)**" in md and "## Suite additions" in md
    tex = (out / "table1.tex").read_text()
    assert r"\multicolumn{9}{c}{Unsupervised Models (Base)} \\" in tex
    assert r"76.00 $\pm$ 1.00 (78.68)" in tex and "Unsupervised Models (Base) &" not in tex
    csv_rows = pd.read_csv(out / "table1.csv")
    assert list(csv_rows["Model"]) == [r for r in SLIDE4_TABLE1_ROWS if not r.startswith("Unsup")]
    row = csv_rows[csv_rows["Model"] == "MoCoSE"].iloc[0]
    assert (row["STS-B mean"], row["STS-B std"], row["STS-B n"], row["STS-B paper"]) == (
        pytest.approx(76.0), pytest.approx(1.0), 3, 78.68)
    assert row["group"] == "Unsupervised Models (Base)"


def test_table2_compares_mocose_on_dev_accuracy(tmp_path):
    root = tmp_path / "results"
    for i, dev in enumerate((86.0, 86.5, 87.0)):
        write_result(root, "table2", "MoCoSE-BERT", i, transfer=84.0, devacc=dev)
        write_result(root, "table2", "SimCSE-BERT", i, transfer=85.0 + i, devacc=90.0)
    report.build(["table2"], PROFILE, root, tmp_path / "plots")
    rep = cells.analyse(ablations.get("table2"), PROFILE, *report.read_records(root, PROFILE))
    frame = tables.display_frame(tables.layout(rep)).set_index("Model")
    assert list(frame.columns) == ["MR", "CR", "SUBJ", "MPQA", "SST", "TREC", "MRPC", "Avg."]
    assert frame.loc["MoCoSE-BERT ‡", "SST"] == "86.50 ± 0.50 (86.35)"  # dev accuracy
    assert frame.loc["MoCoSE-BERT ‡", "Avg."] == "86.50 ± 0.50 (85.46)"
    assert frame.loc["SimCSE-BERT", "SST"] == "86.00 ± 1.00 (85.50)"  # test accuracy
    md = (root / PROFILE / "reports" / "table2.md").read_text()
    assert "753 of SST-2's 872 dev sentences" in md
    numbers = pd.read_csv(root / PROFILE / "reports" / "table2.csv").set_index("Model")
    assert numbers.loc["MoCoSE-BERT", "SST metric"] == "SST2_devacc"
    assert numbers.loc["SimCSE-BERT", "SST metric"] == "SST2"


def test_table4_is_printed_as_proj_pred_corr(tmp_path):
    rep = cells.analyse(ablations.get("table4"), PROFILE, {}, {})
    frame = tables.display_frame(tables.layout(rep))
    assert list(frame.columns) == ["Proj.", "Pred.", "Corr."]  # slide 5
    assert list(frame["Proj."]) == ["0", "", "", "1", "", "", "2", "", "", "3", "", ""]
    assert list(frame["Pred."]) == ["1", "2", "3"] * 4
    assert frame["Corr."].iloc[4] == "no result (76.89)"


def test_grid_table_has_a_spanning_column_header(tmp_path):
    root = tmp_path / "results"
    report.build(["table7"], PROFILE, root, tmp_path / "plots")
    rep = cells.analyse(ablations.get("table7"), PROFILE, {}, {})
    lay = tables.layout(rep)
    assert lay.columns == ["128", "256", "512", "1024", "4096"] and lay.column_title
    tex = (root / PROFILE / "reports" / "table7.tex").read_text()
    assert r"\multicolumn{5}{c}{" + lay.column_title + "}" in tex


# -- figures: the paper's axes ---------------------------------------------------------------------------
def _cells(name: str, root: Path):
    return cells.analyse(ablations.get(name), PROFILE, *report.read_records(root, PROFILE)).cells


def test_mtd_axis_is_linear_from_zero(tmp_path):
    root = tmp_path / "results"
    for i, v in enumerate((76.0, 77.0)):  # Figure 2's MTD 14.67 pools Figure 3's batch sizes
        write_result(root, "fig3", "eta 0.85, K 512, B 64", i, v)
        write_result(root, "fig3", "eta 0.85, K 1024, B 128", i, v + 1.0)
    write_result(root, "fig2", "SimCSE-unsup-bert-base", 0, 75.0)
    cells = {cd.cell.label: cd for cd in _cells("fig2", root)}
    assert sorted(cells["MTD 14.67"].values()) == [76.0, 77.0, 77.0, 78.0]
    fig = plots.draw(ablations.get("fig2"), list(cells.values()), "")
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear" and ax.get_xlim()[0] < 0 < 21 < ax.get_xlim()[1]
    assert any(isinstance(c, mcoll.PolyCollection) for c in ax.collections)  # the seed band
    # smoke is not the paper's scale: the paper's numbers get their own panel, same x axis
    theirs = fig.axes[1]
    assert ax.get_ylabel() == "STS avg., Spearman x 100" and theirs.get_ylabel().startswith("paper")
    [paper] = [ln for ln in theirs.get_lines() if ln.get_label() == "SimCSE-unsup-bert-base (paper)"]
    assert (list(paper.get_xdata()), list(paper.get_ydata())) == ([0.0], [76.25])  # slide 8
    assert "SimCSE-unsup-bert-base (ours)" in ax.get_legend_handles_labels()[1]
    # a cell without a result is marked at its place
    assert any("cells not run" in label for label in ax.get_legend_handles_labels()[1])


def test_spectrum_is_raw_singular_values_against_index(tmp_path):
    root = tmp_path / "results"
    for i, sv in enumerate(([4.0, 2.0, 1.0, 0.5], [2.0, 4.0, 1.0, 1.5])):  # unsorted on purpose
        write_result(root, "fig7", "MoCoSE", i, 70.0, analysis={"singular_values": sv})
    fig = plots.draw_spectrum(ablations.get("fig7"), _cells("fig7", root), "")
    [line] = fig.axes[0].get_lines()
    assert list(line.get_xdata()) == [0, 1, 2, 3]
    assert list(line.get_ydata()) == pytest.approx([4.0, 2.0, 1.25, 0.75])  # sorted, not normalised
    assert fig.axes[0].get_xscale() == "linear" and fig.axes[0].get_ylabel() == "Singular Values"
    old = tmp_path / "old"
    for i in range(2):  # results written before raw values were stored: the axis says so
        write_result(old, "fig7", "BERT", i, 70.0, analysis={"singular_values": [1.0, 0.5]})
    fig = plots.draw_spectrum(ablations.get("fig7"), _cells("fig7", old), "")
    assert "normalised" in fig.axes[0].get_ylabel()


def test_box_plots_one_box_per_dimension_and_queue_panels(tmp_path):
    from matplotlib.patches import PathPatch

    root = tmp_path / "results"
    for label in ("d 256", "d 768", "d 2048"):
        for i in range(3):
            write_result(root, "fig10", label, i, 70.0 + i)
    fig = plots.draw(ablations.get("fig10"), _cells("fig10", root), "")
    ax = fig.axes[0]
    assert sum(isinstance(p, PathPatch) for p in ax.patches) == 3
    assert [t.get_text() for t in ax.get_xticklabels()] == ["256", "512", "768", "1024", "2048"]
    # smoke is not the paper's scale: the paper's diamonds sit on a twin axis of their own
    paper = [ln for a in fig.axes for ln in a.get_lines() if ln.get_label() == "paper"][0]
    assert paper.axes is not ax and paper.axes.get_ylabel().startswith("paper: STS avg.")
    assert list(paper.get_ydata()) == [74.5, 76.1, 77.05, 77.05, 77.0]  # medians read off slide 6
    report.build(["fig10"], PROFILE, root, tmp_path / "plots")
    md = (root / PROFILE / "reports" / "fig10.md").read_text()
    assert "| ~74.50 " in md  # read off a plot: marked approximate
    for size in (128, 1024, 4096):
        for i in range(2):
            write_result(root, "fig12", f"K {size}, begin {size // 4}", i, 70.0 + i)
            write_result(root, "fig12", f"K {size}, begin {size}", i, 71.0 + i)
    fig = plots.draw(ablations.get("fig12"), _cells("fig12", root), "")
    zoom, whole = fig.axes[:2]
    assert zoom.get_title() == "(left) Zoomed view"
    assert [t.get_text() for t in zoom.get_xticklabels()] == ["128", "256", "512", "1024"]
    assert [t.get_text() for t in whole.get_xticklabels()][-1] == "4096"
    assert sum(isinstance(p, PathPatch) for p in zoom.patches) == 4  # 2 sizes x 2 initial fills
    assert sum(isinstance(p, PathPatch) for p in whole.patches) == 6
    # a begin size keeps its colour in both panels: K 128 begin 128 is the 2nd box of each
    boxes = [[p for p in ax.patches if isinstance(p, PathPatch)] for ax in (zoom, whole)]
    assert boxes[0][1].get_facecolor() == boxes[1][1].get_facecolor()


def test_validation_curves_are_seed_means_with_a_band(tmp_path):
    root = tmp_path / "results"
    for i, shift in enumerate((0.0, 2.0)):
        curve = [{"step": s, "dev_spearman": 10.0 + shift, "embedding_std": 0.1} for s in (8, 16)]
        write_result(root, "fig5", "symmetric, eta 0", i, 20.0, curve=curve)
    fig = plots.draw(ablations.get("fig5"), _cells("fig5", root), "")
    ours, theirs = fig.axes[:2]  # 16 steps against the paper's 14,000: the paper gets its own panel
    [line] = [ln for ln in ours.get_lines() if ln.get_label().startswith("symmetric")]
    assert list(line.get_xdata()) == [8, 16] and list(line.get_ydata()) == [11.0, 11.0]
    [paper] = [ln for ln in theirs.get_lines() if ln.get_label().startswith("symmetric")]
    assert paper.get_label().endswith("(paper, approx.)") and paper.get_linestyle() == "--"
    assert paper.get_xdata()[-1] == 14000  # slide 5's x axis runs to ~14,000 steps
    assert any(isinstance(c, mcoll.PolyCollection) for c in ours.collections)
    report.build(["fig5"], PROFILE, root, tmp_path / "plots")
    md = (root / PROFILE / "reports" / "fig5.md").read_text()
    assert "16 steps" in md and "cannot appear" in md  # a smoke run never reaches step 10,000


def test_bar_chart_puts_the_paper_beside_ours(tmp_path):
    root = tmp_path / "results"
    from matplotlib.container import BarContainer

    for i in range(2):
        write_result(root, "table6b", "B 64", i, 76.0 + i)
    fig = plots.draw(ablations.get("table6b"), _cells("table6b", root), "")
    # smoke is not the paper's scale: the paper's bars get their own panel and y axis
    [ours] = [c for c in fig.axes[0].containers if isinstance(c, BarContainer)]
    [paper] = [c for c in fig.axes[1].containers if isinstance(c, BarContainer)]
    assert [b.get_height() for b in paper] == pytest.approx([73.86, 77.25, 76.78, 76.62])  # slide 6
    assert ours[1].get_height() == pytest.approx(76.5)
    assert fig.axes[1].get_ylabel() == "paper: STS avg., Spearman x 100"
    assert fig.axes[1].get_ylim()[0] > 72 and fig.axes[1].get_ylim()[1] < 79  # the slide's 72-78
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["32", "64", "128", "256"]
    # the other batch sizes were not run: each says so at its place
    assert sum(t.get_text() == "not run" for t in fig.axes[0].texts) == 3


# -- untrained encoders and reproduction verdicts ----------------------------------------------------
def test_untrained_cell_is_one_number_and_published_numbers_get_a_verdict(tmp_path):
    root = tmp_path / "results"
    for i in range(2):  # results made before cells that train nothing were planned once
        write_result(root, "table1", "BERT (first-last avg.)", i, 56.70)
    for i, v in enumerate((76.0, 77.0, 78.0)):
        write_result(root, "table1", "MoCoSE", i, v)
    [rep] = report.build(["table1"], PROFILE, root, tmp_path / "plots")
    bert = next(cd for cd in rep.cells if cd.cell.label == "BERT (first-last avg.)")
    assert bert.fixed and bert.stats.n == 1 and bert.seeds == [42]  # evaluated once
    md = (root / PROFILE / "reports" / "table1.md").read_text()
    assert "56.70 (56.70)" in md and "56.70 ±" not in md  # one number, no ±
    dump = json.loads((root / PROFILE / "reports" / "table1.json").read_text())
    by_label = {c["label"]: c for c in dump["cells"]}
    # MoCoSE (76, 77, 78): mean 77, sd 1, t(0.975, 2) = 4.3027: 77 +- 2.4842 holds 77.27
    moco = by_label["MoCoSE"]["reproduction"]
    assert moco["verdict"] == "reproduced" and moco["published"] == 77.27
    assert (moco["low"], moco["high"]) == pytest.approx((77 - 2.4842, 77 + 2.4842), abs=1e-3)
    assert not moco["comparable"]  # smoke: labelled, not hidden
    assert by_label["BERT (first-last avg.)"]["reproduction"]["verdict"] == "reproduced"
    assert by_label["SimCSE"]["reproduction"]["verdict"] == "too few seeds"
    assert by_label["GloVe (avg.)"]["reproduction"] is None  # not run: nothing to reproduce
    assert "reproduced (not comparable)" in md
    assert "2 of 3 numbers reproduced (not comparable)" in (root / PROFILE / "REPORT.md").read_text()
    assert "`table1`: 2 of 3 numbers reproduced (not comparable)" in (root / "REPORT.md").read_text()
