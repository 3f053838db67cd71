"""The registry: every artifact of the paper, its numbers checked against the slides, valid configs."""
from __future__ import annotations

import pytest

import ablations
from ablations.spec import Artifact, Cell, Claim, beats
from mocose.config import Config, ConfigError, parse_value
from mocose.mtd import mtd
from mocose.profiles import load_profile

REQUIRED = {"table1", "table2", "table3", "table4", "augmentations", "table9", "table6b", "fig10",
            "table7", "fig12", "table8", "kmeans", "fig2", "fig3", "fig5", "fig6", "fig7",
            "align_uniform"}
PROFILES = ("smoke", "cpu", "paper")


def test_every_required_artifact_is_registered():
    assert set(ablations.names()) == REQUIRED
    for name in REQUIRED:
        art = ablations.get(name)
        assert art.name == name and art.kind in ("table", "figure") and art.title


def test_unknown_artifact_lists_the_valid_names():
    with pytest.raises(ConfigError, match="table3") as err:
        ablations.get("tabel3")
    assert "align_uniform" in str(err.value)


# Numbers typed from the slides (shared/paper/001_*.txt), not from the registry's source.
@pytest.mark.parametrize("name,label,value", [
    ("table3", "eta 0.85", 76.49),
    ("table3", "eta 0.99", 75.12),
    ("table4", "proj 3 / pred 1", 31.51),
    ("table4", "proj 1 / pred 2", 76.89),
    ("table4", "proj 2 / pred 3", 61.57),
    ("table7", "K 4096, init 0.5", 38.74),
    ("table7", "K 512, init 0.25", 77.30),
    ("table7", "K 128, init 1", 76.87),
    ("fig12", "K 1024, init 0", 76.63),
    ("table8", "blocks 2-5 (middle)", 77.02),
    ("table8", "blocks 0,1,6,7 (both ends)", 76.18),
    ("kmeans", "10 clusters", 77.13),
    ("kmeans", "normal", 76.41),
    ("table9", "eps 1e-8", 75.39),
    ("table9", "no FGSM", 76.26),
    ("augmentations", "+ token dropout (0.1)", 41.32),
    ("augmentations", "+ back-translation (en-de-en)", 69.35),
    ("augmentations", "+ typos (nlpaug SpellingAug)", 22.32),
    ("table1", "MoCoSE", 77.27),
    ("table1", "SimCSE", 76.25),
    ("table1", "BERT (first-last avg.)", 56.70),
    ("table2", "MoCoSE-BERT", 85.46),
    ("table2", "BERT-[CLS] embedding", 84.66),
])
def test_paper_values_match_the_slides(name, label, value):
    assert ablations.get(name).cell(label).paper == pytest.approx(value, abs=1e-9)


def test_per_task_values_match_the_slides():
    t1 = ablations.get("table1")
    assert t1.cell("MoCoSE").paper_tasks["STS12"] == 71.48
    assert t1.cell("SimCSE").paper_tasks["SICKRelatedness"] == 72.23
    t2 = ablations.get("table2")
    assert t2.cell("MoCoSE-BERT").paper_tasks["MRPC"] == 75.86
    assert t2.cell("SimCSE-BERT").paper_tasks["TREC"] == 89.80


@pytest.mark.parametrize("name", ["table1", "table2"])
def test_published_averages_are_the_mean_of_the_tasks(name):
    """An independent check of the transcription: each row's Avg. is the mean of its tasks."""
    art = ablations.get(name)
    for cell in art.cells:
        if cell.paper is None:
            continue
        tasks = [cell.paper_tasks[t] for t in art.task_columns]
        assert sum(tasks) / len(tasks) == pytest.approx(cell.paper, abs=0.015), cell.label


def test_cells_without_published_numbers_are_none():
    for name in ("table6b", "fig10", "fig2", "fig3", "fig5", "fig6", "fig7", "align_uniform"):
        assert all(c.paper is None for c in ablations.get(name).cells), name
    assert ablations.get("table1").cell("BERT-[CLS]").paper is None
    assert ablations.get("augmentations").cell("+ typos (offline keyboard stand-in)").paper is None
    assert ablations.get("augmentations").cell("+ typos (nlpaug SpellingAug)").overrides == {
        "text_augment": "spelling"}


def test_grids_have_the_papers_shape():
    t4 = ablations.get("table4")
    assert {(c.overrides["proj_layers"], c.overrides["pred_layers"]) for c in t4.cells} == {
        (p, q) for p in range(4) for q in range(1, 4)}
    t7 = ablations.get("table7")
    assert {(c.overrides["queue_size"], c.overrides["queue_init_fraction"]) for c in t7.cells} == {
        (k, f) for k in (128, 256, 512, 1024, 4096) for f in (0.0, 0.25, 0.5, 1.0)}
    assert ablations.get("fig12").cells == t7.cells  # the same runs, drawn
    t8 = ablations.get("table8")
    assert dict(t8.base) == {"queue_size": 1024, "batch_size": 256, "fgsm_epsilon": 5e-9}
    assert [c.overrides["queue_slice"] for c in t8.cells] == [
        "blocks:0-3/8", "blocks:2-5/8", "blocks:4-7/8", "blocks:0,1,6,7/8", "all"]
    km = ablations.get("kmeans")
    assert [c.overrides["queue_negatives"] for c in km.cells] == [
        "all", "mean", "kmeans:5", "kmeans:10", "kmeans:15", "kmeans:20"]
    assert sorted(c.overrides["ema_decay"] for c in ablations.get("table3").cells) == [
        0.5, 0.8, 0.85, 0.9, 0.95, 0.99]
    assert sorted(c.overrides["fgsm_epsilon"] for c in ablations.get("table9").cells) == [
        0.0, 1e-9, 5e-9, 1e-8, 5e-8]


@pytest.mark.parametrize("profile", PROFILES)
def test_configs_are_valid_and_apply_every_override(profile):
    base = load_profile(profile)
    for art in ablations.all_artifacts():
        pairs = art.configs(profile, seeds=2)
        assert len(pairs) == 2 * len(art.run_cells)
        for cell, config in pairs:
            assert isinstance(config, Config) and config.profile == profile
            assert Config.from_dict(config.to_dict()) == config  # round-trips, so it validates
            assert config.eval.eval_tasks == art.evaluation
            expected = {**art.base, **cell.overrides}
            for key, value in expected.items():
                assert config.get(key) == parse_value(key, value), (art.name, cell.label, key)
            untouched = set(base.flat()) - set(expected) - {"seed", "eval_tasks", "profile"}
            for key in untouched:
                assert config.get(key) == base.get(key), (art.name, cell.label, key)
        seeds = sorted({c.train.seed for _, c in pairs})
        assert seeds == [base.train.seed, base.train.seed + 1]
        assert len({c.digest() for _, c in pairs}) == len(pairs)  # every run is its own


def test_reference_rows_are_not_run():
    t1 = ablations.get("table1")
    labels = {cell.label for cell, _ in t1.configs("cpu")}
    assert labels == {"BERT-[CLS]", "BERT (first-last avg.)", "SimCSE", "MoCoSE"}
    bert = dict(t1.cell("BERT-[CLS]").overrides)
    assert bert == {"method": "none", "eval_pooler": "cls"}
    assert t1.cell("BERT (first-last avg.)").overrides["eval_pooler"] == "avg_first_last"
    with pytest.raises(ConfigError, match="reference row"):
        t1.config("GloVe (avg.)", "cpu")
    assert ablations.get("table2").evaluation == "transfer"


def test_identical_recipes_share_runs():
    def digest(name, label, profile):
        return ablations.get(name).config(label, profile, 42).digest()

    for profile in PROFILES:
        default = digest("table3", "eta 0.85", profile)
        assert digest("table4", "proj 1 / pred 2", profile) == default
        assert digest("augmentations", "dropout only", profile) == default
        assert digest("table9", "no FGSM", profile) == default
        best = digest("table1", "MoCoSE", profile)
        assert digest("fig7", "MoCoSE", profile) == best
        assert digest("augmentations", "+ FGSM (5e-9)", profile) == best
        assert digest("table9", "eps 5e-9", profile) == best
        assert digest("table7", "K 4096, init 0", profile) == digest("fig12", "K 4096, init 0", profile)
    # the cpu profile runs the paper's B 64, K 512: the MTD grid reuses Table 3 and Table 7
    assert digest("fig2", "eta 0.85, K 512, B 64", "cpu") == digest("table3", "eta 0.85", "cpu")
    assert digest("fig2", "eta 0.99, K 512, B 64", "cpu") == digest("table3", "eta 0.99", "cpu")
    assert digest("fig2", "eta 0.85, K 4096, B 64", "cpu") == digest("table7", "K 4096, init 1", "cpu")
    assert digest("kmeans", "normal", "cpu") == digest("table3", "eta 0.85", "cpu")


@pytest.mark.parametrize("profile", PROFILES)
def test_the_whole_suite_stays_moderate(profile):
    """run_all.sh runs every artifact in CI: about a hundred distinct runs per seed."""
    digests = {c.digest() for art in ablations.all_artifacts() for _, c in art.configs(profile)}
    assert len(digests) <= 110


def test_mtd_positions_match_the_configs():
    for name in ("fig2", "fig3"):
        art = ablations.get(name)
        for cell, config in art.configs("smoke"):
            expected = mtd(config.ema.ema_decay, config.queue.queue_size, config.train.batch_size)
            assert cell.x == pytest.approx(expected, abs=0.01)
    fig3 = ablations.get("fig3")
    by_batch: dict[str, set] = {}
    for cell in fig3.cells:
        by_batch.setdefault(cell.series, set()).add(cell.x)
    assert len(by_batch) == 3 and len({frozenset(v) for v in by_batch.values()}) == 1


def test_fig10_grid_is_valid_for_every_encoder_size():
    fig10 = ablations.get("fig10")
    dims = [c.overrides["embed_dim"] for c in fig10.cells]
    assert 0 in dims and all(isinstance(d, int) and d >= 0 for d in dims)
    assert dict(fig10.base) == {"queue_size": 512}


def test_figure5_and_6_isolate_the_predictor_at_eta_0():
    sym = ablations.get("fig5").cell("symmetric, eta 0").overrides
    pred = ablations.get("fig6").cell("predictor, eta 0").overrides
    assert sym == {"ema_decay": 0.0, "ema_total_steps": 15000, "pred_layers": 0}
    assert pred == {"ema_decay": 0.0, "ema_total_steps": 15000}
    for profile in PROFILES:  # the decay stays at eta = 0 for the whole run (no cosine rise)
        config = ablations.get("fig5").config("symmetric, eta 0", profile)
        assert config.ema.ema_total_steps == 15000


def test_every_claim_names_cells_of_its_artifact():
    for art in ablations.all_artifacts():
        labels = {c.label for c in art.cells}
        for claim in art.claims:
            assert claim.checks, claim.text
            for check in claim.checks:
                assert check.a in labels and (check.b in labels or check.op in ("collapsed", "stable"))


def test_bad_specs_are_refused():
    cell = Cell("a", {"ema_decay": 0.5})
    with pytest.raises(ConfigError, match="unknown cell"):
        Artifact("x", "x", "table", (cell,), claims=(Claim("?", (beats("a", "b"),)),))
    with pytest.raises(ConfigError, match="unknown configuration field"):
        Artifact("x", "x", "table", (Cell("a", {"ema_decy": 0.5}),))
    with pytest.raises(ConfigError, match="kind"):
        Artifact("x", "x", "chart", (cell,))
    with pytest.raises(ConfigError, match="duplicate"):
        Artifact("x", "x", "table", (cell, cell))
    with pytest.raises(ConfigError, match="seeds"):
        ablations.get("table3").configs("cpu", seeds=0)
