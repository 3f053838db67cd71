"""The registry: every artifact of the paper, its numbers checked against the slides, valid configs."""
from __future__ import annotations

import pytest

import ablations
from ablations.spec import Artifact, Cell, Claim, beats
from mocose.config import Config, ConfigError, parse_value
from mocose.mtd import mtd
from mocose.profiles import load_profile

REQUIRED = {"table1", "table2", "table3", "ema_curve", "table4", "augmentations", "table9",
            "table6b", "fig10", "table7", "fig12", "table8", "kmeans", "fig2", "fig3", "fig5", "fig6",
            "fig7", "align_uniform"}
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


# Numbers typed from the slides (shared/paper/slides/page-NN.png and slides_layout.txt), not from
# the registry's source. approx: read off a plot.
@pytest.mark.parametrize("name,label,value,approx", [
    ("table3", "eta 0.85", 76.49, False),
    ("table3", "eta 0.99", 75.12, False),
    ("ema_curve", "eta 0.8", 75.19, False),
    ("ema_curve", "eta 0.95", 76.08, False),
    ("table4", "proj 3 / pred 1", 31.51, False),
    ("table4", "proj 1 / pred 2", 76.89, False),
    ("table4", "proj 2 / pred 3", 61.57, False),
    ("table6b", "B 32", 73.86, False),
    ("table6b", "B 64", 77.25, False),
    ("table6b", "B 128", 76.78, False),
    ("table6b", "B 256", 76.62, False),
    ("fig10", "d 256", 74.5, True),
    ("fig10", "d 512", 76.1, True),
    ("fig10", "d 768", 77.05, True),
    ("fig10", "d 1024", 77.05, True),
    ("fig10", "d 2048", 77.0, True),
    ("table7", "K 4096, begin 2048", 38.74, False),   # init. 1/2 queue
    ("table7", "K 512, begin 128", 77.30, False),     # init. 1/4 queue
    ("table7", "K 128, begin 128", 76.87, False),     # init. all (normal)
    ("table7", "K 1024, begin 1", 76.63, False),      # w.o. init.
    ("fig12", "K 256, begin 64", 76.34, False),
    ("fig12", "K 4096, begin 128", 40.0, True),       # a box Table 7 lacks
    ("table8", "0~512", 76.10, False),
    ("table8", "256~768", 77.02, False),
    ("table8", "512~1024", 75.71, False),
    ("table8", "Without 256~768", 76.18, False),
    ("table8", "All", 76.86, False),
    ("kmeans", "10 clusters", 77.13, False),
    ("kmeans", "normal", 76.41, False),
    ("table9", "eps 1e-8", 75.39, False),
    ("table9", "no FGSM", 76.26, False),
    ("augmentations", "+ token dropout (0.1)", 41.32, False),
    ("augmentations", "+ back-translation (en-de-en)", 69.35, False),
    ("augmentations", "+ typos (nlpaug SpellingAug)", 22.32, False),
    ("table1", "MoCoSE", 77.27, False),
    ("table1", "SimCSE", 76.25, False),
    ("table1", "BERT (first-last avg.)", 56.70, False),
    ("table2", "MoCoSE-BERT", 85.46, False),
    ("table2", "BERT-[CLS] embedding", 84.66, False),
    ("fig2", "SimCSE-unsup-bert-base", 76.25, False),  # drawn at MTD 0
    ("fig2", "MTD 14.67", 76.89, True),
    ("fig2", "MTD 21", 76.10, True),
    ("fig3", "eta 0.85, K 512, B 64", 77.30, True),
    ("fig3", "eta 0.95, K 256, B 256", 75.40, True),
    ("fig3", "eta 0.75, K 256, B 128", 77.06, True),   # MTD 6
])
def test_paper_values_match_the_slides(name, label, value, approx):
    cell = ablations.get(name).cell(label)
    assert cell.paper == pytest.approx(value, abs=1e-9) and cell.approx == approx


def test_figure2_is_figure3_pooled_over_batch_sizes():
    """The evidence for the inference: at every MTD Figure 2's point is the mean of Figure 3's
    three lines (read independently off slide 8, within reading error)."""
    fig2, fig3 = ablations.get("fig2"), ablations.get("fig3")
    for cell in fig2.cells:
        if cell.series != "MoCoSE":
            continue
        lines = [c.paper for c in fig3.cells if c.x == cell.x]
        assert len(lines) == 3 and sum(lines) / 3 == pytest.approx(cell.paper, abs=0.02), cell.label
        pooled = {c.digest() for c in fig2.cell_configs(cell, "paper", 42)}
        assert pooled == {fig3.config(c, "paper", 42).digest() for c in fig3.cells if c.x == cell.x}


def test_mtd_axes_are_the_slides():
    xs = [5.0, 6.0, 7.67, 8.0, 8.67, 10.67, 12.0, 14.67, 21.0]  # slide 8's plotted positions
    fig2, fig3 = ablations.get("fig2"), ablations.get("fig3")
    assert [c.x for c in fig2.cells] == xs + [0.0]  # SimCSE at MTD 0
    assert fig2.cell("SimCSE-unsup-bert-base").overrides == {"method": "simcse"}
    for batch in ("64", "128", "256"):
        assert [c.x for c in fig3.cells if c.series == batch] == xs
    assert {c.series for c in fig3.cells} == {"64", "128", "256"}
    assert fig2.plot == fig3.plot == "band" and not fig2.x_log and not fig3.x_log
    inferred = {a.name for a in ablations.all_artifacts() if a.inference}
    assert inferred == {"fig2", "fig3", "align_uniform"}  # the rest follow the slides as drawn
    for cell, config in fig3.configs("paper"):
        assert config.train.batch_size == int(cell.series)
        assert config.ema.ema_decay in (0.75, 0.85, 0.95)
        assert config.queue.queue_size // config.train.batch_size in (1, 2, 4, 8)
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
    for name in ("fig5", "fig6", "fig7", "align_uniform"):
        assert all(c.paper is None for c in ablations.get(name).cells), name
    assert ablations.get("table1").cell("BERT-[CLS]").paper is None
    assert ablations.get("augmentations").cell("+ typos (offline keyboard stand-in)").paper is None
    assert ablations.get("augmentations").cell("+ typos (nlpaug SpellingAug)").overrides == {
        "text_augment": "spelling"}


def test_suite_additions_are_marked_and_kept_out_of_the_papers_claims():
    additions = {(a.name, c.label) for a in ablations.all_artifacts() for c in a.addition_cells}
    assert additions == {("table1", "BERT-[CLS]"), ("augmentations", "+ typos (offline keyboard stand-in)"),
                         ("kmeans", "10 clusters, K 1024"), ("kmeans", "10 clusters, K 4096"),
                         ("fig5", "MoCoSE (eta 0.85)")}
    for art in ablations.all_artifacts():
        extra = {c.label for c in art.addition_cells}
        for claim in art.claims:
            named = {label for check in claim.checks for label in check.labels}
            assert claim.additions == bool(named & extra), (art.name, claim.text)
    with pytest.raises(ConfigError, match="suite addition"):
        Artifact("x", "x", "table", (Cell("a"), Cell("b", addition=True)),
                 claims=(Claim("?", (beats("a", "b"),)),))


def test_grids_have_the_papers_shape():
    t4 = ablations.get("table4")
    assert {(c.overrides["proj_layers"], c.overrides["pred_layers"]) for c in t4.cells} == {
        (p, q) for p in range(4) for q in range(1, 4)}
    t6 = ablations.get("table6b")
    assert [c.overrides["batch_size"] for c in t6.cells] == [32, 64, 128, 256] and t6.plot == "bar"
    assert dict(t6.base) == {"queue_size": 512}
    fig10 = ablations.get("fig10")
    assert [c.overrides["embed_dim"] for c in fig10.cells] == [256, 512, 768, 1024, 2048]
    assert fig10.plot == "box" and dict(fig10.base) == {"queue_size": 512}
    t8 = ablations.get("table8")
    assert dict(t8.base) == {"queue_size": 1024, "batch_size": 256, "fgsm_epsilon": 5e-9}
    assert t8.rows == ("Avg.",) and t8.cols == ("0~512", "256~768", "512~1024", "Without 256~768", "All")
    assert [c.overrides["queue_slice"] for c in t8.cells] == [
        "blocks:0-3/8", "blocks:2-5/8", "blocks:4-7/8", "blocks:0,1,6,7/8", "all"]
    km = ablations.get("kmeans")
    assert [c.overrides["queue_negatives"] for c in km.paper_cells] == [
        "all", "mean", "kmeans:5", "kmeans:10", "kmeans:15", "kmeans:20"]
    assert sorted(c.overrides["ema_decay"] for c in ablations.get("table3").cells) == [
        0.5, 0.8, 0.85, 0.9, 0.95, 0.99]
    assert [c.x for c in ablations.get("ema_curve").cells] == [0.8, 0.85, 0.9, 0.95, 0.99]
    assert sorted(c.overrides["fgsm_epsilon"] for c in ablations.get("table9").cells) == [
        0.0, 1e-9, 5e-9, 1e-8, 5e-8]
    t1 = ablations.get("table1")
    assert t1.groups == ("Unsupervised Models (Base)", "Unsupervised Models (Large)")
    assert ablations.get("table2").groups == ("Unsupervised Model (Base)", "Unsupervised Model (Large)")


def test_queue_start_sizes_are_absolute_as_in_figure12():
    """Figure 12's legend: begin sizes 1 (w.o. init.), K/4, K/2, K per queue size, and 128 at
    K 4096; the config's start size is exactly the cell's series."""
    fig12, t7 = ablations.get("fig12"), ablations.get("table7")
    expected = {(k, b) for k in (128, 256, 512, 1024, 4096) for b in (1, k // 4, k // 2, k)}
    assert {(int(c.x), int(c.series)) for c in fig12.cells} == expected | {(4096, 128)}
    assert fig12.cells[:len(t7.cells)] == t7.cells and len(fig12.cells) == len(t7.cells) + 1
    for cell, config in fig12.configs("smoke"):
        assert config.queue.queue_size == cell.x and config.queue.init_size == int(cell.series)
    assert [p.xs for p in fig12.panels] == [(128, 256, 512, 1024), (128, 256, 512, 1024, 4096)]


def test_the_main_recipe_starts_the_queue_with_128_random_vectors():
    from ablations.recipe import RECIPE, check_recipe

    config = load_profile("paper")
    assert config.queue.queue_size == 512 and config.queue.init_size == 128
    assert check_recipe(config) == [] and all(c.source for c in RECIPE)
    # Table 7's (512, 1/4) cell is the main recipe: the same run as Table 3's eta 0.85
    t7 = ablations.get("table7").config("K 512, begin 128", "paper", 42)
    assert t7.digest() == ablations.get("table3").config("eta 0.85", "paper", 42).digest()


@pytest.mark.parametrize("profile", PROFILES)
def test_configs_are_valid_and_apply_every_override(profile):
    base = load_profile(profile)
    for art in ablations.all_artifacts():
        pairs = art.configs(profile, seeds=2)
        # a cell that trains nothing is evaluated once: its score does not depend on the seed
        untrained = {c.label for c, cfg in pairs if cfg.model.method == "none"}
        assert len(pairs) == sum(len(c.recipes) * (1 if c.label in untrained else 2)
                                 for c in art.run_cells)
        assert all(cfg.train.seed == base.train.seed for c, cfg in pairs if c.label in untrained)
        seen: dict[str, int] = {}
        for cell, config in pairs:
            assert isinstance(config, Config) and config.profile == profile
            assert Config.from_dict(config.to_dict()) == config  # round-trips, so it validates
            assert config.eval.eval_tasks == art.evaluation
            recipe = cell.recipes[seen.get(cell.label, 0) % len(cell.recipes)]  # seed by seed
            seen[cell.label] = seen.get(cell.label, 0) + 1
            expected = {**art.base, **recipe}
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
        assert digest("ema_curve", "eta 0.85", profile) == default
        best = digest("table1", "MoCoSE", profile)
        assert digest("fig7", "MoCoSE", profile) == best
        assert digest("augmentations", "+ FGSM (5e-9)", profile) == best
        assert digest("table9", "eps 5e-9", profile) == best
        # Tables 1 and 2 evaluate the same trained models (eval_tasks is not part of a run)
        assert digest("table2", "MoCoSE-BERT", profile) == best
        assert digest("table2", "SimCSE-BERT", profile) == digest("table1", "SimCSE", profile)
        assert digest("fig2", "SimCSE-unsup-bert-base", profile) == digest("table1", "SimCSE", profile)
        assert digest("table7", "K 4096, begin 1", profile) == digest("fig12", "K 4096, begin 1", profile)
    # the cpu and paper profiles run the recipe's B 64, K 512 (1/4 start): shared across tables
    for profile in ("cpu", "paper"):
        default = digest("table3", "eta 0.85", profile)
        assert digest("fig3", "eta 0.85, K 512, B 64", profile) == default
        assert digest("kmeans", "normal", profile) == default
        assert digest("table7", "K 512, begin 128", profile) == default
        assert digest("table6b", "B 64", profile) == default


def test_distinct_smoke_runs_of_the_whole_suite():
    """run_all.sh --profile smoke --seeds 1 in CI: 103 distinct runs (every run cell costs one)."""
    digests = {c.digest() for art in ablations.all_artifacts() for _, c in art.configs("smoke")}
    assert len(digests) == 103
    for profile in PROFILES:
        digests = {c.digest() for art in ablations.all_artifacts() for _, c in art.configs(profile)}
        assert len(digests) <= 110, profile


def test_mtd_positions_match_the_configs():
    for name in ("fig2", "fig3"):
        art = ablations.get(name)
        for cell, config in art.configs("smoke"):
            if config.model.method != "mocose":
                continue
            expected = mtd(config.ema.ema_decay, config.queue.queue_size, config.train.batch_size)
            assert cell.x == pytest.approx(expected, abs=0.01)


def test_figure5_and_6_run_the_authors_eta0_schedule():
    sym = ablations.get("fig5").cell("symmetric, eta 0").overrides
    pred = ablations.get("fig6").cell("predictor, eta 0").overrides
    assert sym == {"ema_decay": 0.0, "ema_total_steps": 15000, "pred_layers": 0}
    assert pred == {"ema_decay": 0.0, "ema_total_steps": 15000}
    from mocose.model.ema import ema_decay_at

    assert ema_decay_at(10000, 0.0, 15000) == pytest.approx(0.75)  # where Figure 6 leaves 0
    for name in ("fig5", "fig6"):  # the report prints why short profiles cannot show the recovery
        notes = ablations.get(name).notes
        assert "15,000" in notes and "recovery cannot appear" in notes
    curve = ablations.get("fig6").cell("predictor, eta 0").paper_curve
    assert max(v for s, v in curve if 2000 <= s < 10000) < 5 < max(v for s, v in curve if s >= 10000)


def test_every_claim_names_cells_of_its_artifact():
    for art in ablations.all_artifacts():
        labels = {c.label for c in art.cells}
        for claim in art.claims:
            assert claim.checks, claim.text
            for check in claim.checks:
                assert set(check.labels) <= labels


def test_no_claim_compares_a_trained_model_with_untrained_bert_on_sts():
    """A claim nobody can fail (an untrained encoder is worse than a trained one) is not kept."""
    t1 = ablations.get("table1")
    named = {label for claim in t1.claims for check in claim.checks for label in check.labels}
    assert not named & {"BERT-[CLS]", "BERT (first-last avg.)"}


def test_list_json_shows_the_registry(capsys):
    import json

    from mocose.cli import main

    assert main(["list", "--json"]) == 0
    data = {a["name"]: a for a in json.loads(capsys.readouterr().out)}
    assert list(data) == ablations.names()
    t6 = data["table6b"]
    assert t6["kind"] == "table" and t6["title"].startswith("Table 6(b)")
    assert [(c["label"], c["overrides"], c["paper"], c["in_paper"]) for c in t6["cells"]] == [
        ("B 32", {"batch_size": 32}, 73.86, True), ("B 64", {"batch_size": 64}, 77.25, True),
        ("B 128", {"batch_size": 128}, 76.78, True), ("B 256", {"batch_size": 256}, 76.62, True)]
    bert_cls = next(c for c in data["table1"]["cells"] if c["label"] == "BERT-[CLS]")
    assert bert_cls["paper"] is None and bert_cls["in_paper"] is False
    assert data["fig10"]["claims"][0]["checks"][0] == {
        "text": "d 768 > d 256 + 1.5 (sts)", "op": ">", "a": "d 768", "b": "d 256", "margin": 1.5,
        "metric": "sts", "steps": [], "before": []}


def test_bad_specs_are_refused():
    cell = Cell("a", {"ema_decay": 0.5})
    with pytest.raises(ConfigError, match="unknown cell"):
        Artifact("x", "x", "table", (cell,), claims=(Claim("?", (beats("a", "b"),)),))
    with pytest.raises(ConfigError, match="unknown configuration field"):
        Artifact("x", "x", "table", (Cell("a", {"ema_decy": 0.5}),))
    with pytest.raises(ConfigError, match="kind"):
        Artifact("x", "x", "chart", (cell,))
    with pytest.raises(ConfigError, match="plot"):
        Artifact("x", "x", "figure", (cell,), plot="mtd")
    with pytest.raises(ConfigError, match="duplicate"):
        Artifact("x", "x", "table", (cell, cell))
    with pytest.raises(ConfigError, match="pools"):
        ablations.get("fig2").config("MTD 21", "cpu")
    with pytest.raises(ConfigError, match="seeds"):
        ablations.get("table3").configs("cpu", seeds=0)
