"""The suite's SimCSE against SimCSE's own code, step by step, with dropout on.

The reference is ``BertForCL`` of the ``simcse`` package 0.4 (princeton-nlp's ``simcse/models.py``:
``cl_init``, ``cl_forward``, ``MLPLayer``, ``Similarity``, ``sentemb_forward``), its code unchanged,
with ``pooler_type="cls"`` and temperature 0.05, trained as SimCSE's ``CLTrainer`` (transformers
4.2's ``Trainer.train``) trains it: forward, backward, ``clip_grad_norm_`` at 1.0 over the model's
parameters, transformers' AdamW (transcribed below: its ``transformers.optimization.AdamW`` is gone
from transformers 5) over the Trainer's two parameter groups, the linear schedule without warm-up.
The suite's side is its own :class:`~mocose.training.step.TrainStep` over its SimCSE, optimizer
and schedule. Both start from the same encoder weights and MLP weights, see the same batches and
the same seed: each step's loss (1e-5) and gradient norm before clipping (1e-5, relative above 1)
agree, and so does the evaluation embedding after each step (the encoder's [CLS] without the MLP:
``mlp_only_train``). Package 0.4 predates SimCSE's ``mlp_only_train`` flag (its ``sentemb_forward``
applies the MLP whenever ``pooler_type`` is ``cls``); the flag's evaluation is that code's
``cls_before_pooler`` pooler, the one its ``tool.py`` and ``evaluation.py`` use for unsupervised
models, so the reference evaluates with that pooler. The fast tier runs the tiny random BERT, the
slow tier all-MiniLM-L6-v2; a moved reference (temperature 0.051, the MLP at evaluation) is caught,
naming the step; a SimCSE checkpoint the suite trained scores on STS-B dev as SimCSE's ``tool.py``.

Shims for transformers 5, the only changes around SimCSE's code: importing ``simcse`` runs its
``tool.py``'s ``logging.basicConfig`` (undone here, so other tests' logging stays as it was), and
``BertForCL.__init__`` calls ``init_weights()``, which in transformers 5 needs the tied-weights map
that ``post_init()`` builds first (``all_tied_weights_keys``; BertForCL without an MLM head ties
nothing): :func:`_cl_init` sets it, then runs SimCSE's ``cl_init``. ``transformers.file_utils``
still exists in transformers 5, so no import needs moving.
"""
from __future__ import annotations

import copy
import logging
import math
import types
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from transformers import get_linear_schedule_with_warmup

from mocose.config import Config
from mocose.data import read_sentences, resolve_data_dir, training_file
from mocose.device import set_matmul_precision
from mocose.evaluation.encode import SentenceEncoder
from mocose.model import encoders
from mocose.model.simcse import SimCSE
from mocose.profiles import load_profile
from mocose.training.batches import Batches
from mocose.training.optimizer import build_optimizer
from mocose.training.step import TrainStep

_root = logging.getLogger()
_saved = (list(_root.handlers), _root.level)
try:
    from simcse import models as simcse_models  # pip install --no-deps simcse==0.4 (see .ci/run)
    from simcse import SimCSE as SimCSETool
finally:
    _root.handlers[:], _root.level = _saved[0], _saved[1]

STEPS, BATCH, LENGTH = 50, 8, 16
PROBE = 8  # sentences embedded after every step, the evaluation's view


def _cl_init(cls, config):
    """transformers 5 shim: post_init()'s tied-weights map, then SimCSE's own cl_init."""
    if not hasattr(cls, "all_tied_weights_keys"):
        cls.all_tied_weights_keys = cls.get_expanded_tied_weights_keys(all_submodels=False)
    return _SIMCSE_CL_INIT(cls, config)


_SIMCSE_CL_INIT = simcse_models.cl_init
simcse_models.cl_init = _cl_init  # BertForCL.__init__ looks cl_init up in its module


@dataclass(frozen=True)
class Reference:
    """How SimCSE's side is set up: its temperature, and whether its evaluation applies the MLP."""

    temperature: float = 0.05
    mlp_at_eval: bool = False


@dataclass(frozen=True)
class Step:
    """One training step: the loss, the gradient norm before clipping, the probe's embeddings after it."""

    step: int
    loss: float
    grad_norm: float
    embeddings: np.ndarray


@dataclass(frozen=True)
class Setup:
    """What both sides share: the encoder, its tokenizer, the config, the MLP, batches, probe."""

    encoder: torch.nn.Module
    tokenizer: object
    config: Config
    mlp: dict
    batches: list
    probe: list


def make_setup(encoder_name: str, learning_rate: float) -> Setup:
    config = load_profile("cpu").override({
        "method": "simcse", "encoder": encoder_name, "batch_size": BATCH, "max_length": LENGTH,
        "learning_rate": learning_rate, "weight_decay": 0.01, "lr_schedule": "linear",
        "optimizer": "adamw_hf", "max_grad_norm": 1.0, "temperature": 0.05, "compile": "off",
        "matmul_precision": "highest", "autocast": "none"})
    encoder, tokenizer = encoders.load(encoder_name)
    path = training_file(resolve_data_dir(), config.train.train_file, STEPS * BATCH + PROBE)
    sentences = read_sentences(path, STEPS * BATCH + PROBE)
    batches = Batches(sentences[:STEPS * BATCH], tokenizer, config, pad_to_max=False)
    torch.manual_seed(config.train.seed)
    mlp = {k: v.clone() for k, v in SimCSE(encoder, config).mlp.state_dict().items()}  # BERT's init
    return Setup(encoder, tokenizer, config, mlp, [batches.batch(s) for s in range(1, STEPS + 1)],
                 sentences[STEPS * BATCH:])


def suite_trajectory(setup: Setup) -> tuple[list[Step], SimCSE]:
    """The suite's SimCSE trained by its own step, optimizer and schedule, with its evaluation
    encoder's vectors after each step; and the trained model."""
    config = setup.config
    model = SimCSE(copy.deepcopy(setup.encoder), config)
    model.mlp.load_state_dict(setup.mlp)
    set_matmul_precision(config.train.matmul_precision)
    step_once = TrainStep(model, build_optimizer(model, config), config, total=len(setup.batches), device="cpu")
    encoder = SentenceEncoder(model.embedding_encoder(), setup.tokenizer, "cls_before_pooler")
    model.train()
    torch.manual_seed(config.train.seed)
    steps = []
    for s, batch in enumerate(setup.batches, start=1):
        out = step_once(s, batch)
        steps.append(Step(s, float(out.loss), float(out.grad_norm), encoder.encode(setup.probe)))
    return steps, model


class TransformersAdamW(torch.optim.Optimizer):
    """``transformers.optimization.AdamW`` (4.2, ``correct_bias=True``, SimCSE's Trainer's), its
    ``step`` transcribed line by line."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, correct_bias=True):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, correct_bias=correct_bias))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p.data)
                    state["exp_avg_sq"] = torch.zeros_like(p.data)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                beta1, beta2 = group["betas"]
                state["step"] += 1
                exp_avg.mul_(beta1).add_(grad, alpha=1.0 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                denom = exp_avg_sq.sqrt().add_(group["eps"])
                step_size = group["lr"]
                if group["correct_bias"]:
                    bias_correction1 = 1.0 - beta1 ** state["step"]
                    bias_correction2 = 1.0 - beta2 ** state["step"]
                    step_size = step_size * math.sqrt(bias_correction2) / bias_correction1
                p.data.addcdiv_(exp_avg, denom, value=-step_size)
                if group["weight_decay"] > 0.0:
                    p.data.add_(p.data, alpha=-group["lr"] * group["weight_decay"])


def reference_model(setup: Setup, reference: Reference) -> torch.nn.Module:
    """SimCSE's BertForCL on the shared encoder and MLP weights."""
    args = types.SimpleNamespace(pooler_type="cls", temp=reference.temperature, do_mlm=False,
                                 mlp_only_train=True, hard_negative_weight=0.0)
    model = simcse_models.BertForCL(setup.encoder.config, model_args=args)
    model.bert.load_state_dict(setup.encoder.state_dict())
    model.mlp.dense.load_state_dict({"weight": setup.mlp["0.weight"], "bias": setup.mlp["0.bias"]})
    return model


def reference_trajectory(setup: Setup, reference: Reference = Reference(), steps: int = STEPS) -> list[Step]:
    """SimCSE's BertForCL trained as its CLTrainer steps (transformers 4.2's Trainer.train) over
    the first ``steps`` batches, the schedule set for all of them."""
    train = setup.config.train
    model = reference_model(setup, reference)
    no_decay = ["bias", "LayerNorm.weight"]  # Trainer.create_optimizer
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)],
         "weight_decay": train.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
         "weight_decay": 0.0}]
    optimizer = TransformersAdamW(groups, lr=train.learning_rate, betas=(0.9, 0.999), eps=1e-8)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, len(setup.batches))
    probe = setup.tokenizer(setup.probe, padding=True, truncation=True, max_length=128, return_tensors="pt")
    model.train()
    torch.manual_seed(train.seed)
    done = []
    for s, batch in enumerate(setup.batches[:steps], start=1):
        # SimCSE's collator gives each unsupervised sentence twice: (bs, 2, len)
        ids = torch.stack([batch.input_ids, batch.input_ids], dim=1)
        mask = torch.stack([batch.attention_mask, batch.attention_mask], dim=1)
        loss = model(input_ids=ids, attention_mask=mask).loss
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), train.max_grad_norm)
        optimizer.step()
        scheduler.step()
        model.zero_grad()
        done.append(Step(s, float(loss.detach()), float(norm), reference_embeddings(model, probe, reference)))
    return done


@torch.no_grad()
def reference_embeddings(model: torch.nn.Module, probe: dict, reference: Reference) -> np.ndarray:
    """SimCSE's sentence embedding (``sent_emb=True``): ``cls_before_pooler`` for mlp_only_train,
    its ``cls`` pooler (the MLP) when the moved reference applies the MLP at evaluation."""
    model.eval()
    model.pooler_type = "cls" if reference.mlp_at_eval else "cls_before_pooler"
    try:
        out = model(**probe, sent_emb=True, return_dict=True)
    finally:
        model.pooler_type = "cls"
        model.train()
    return out.pooler_output.numpy()


@dataclass(frozen=True)
class Tolerance:
    loss: float = 1e-5           # absolute
    grad_norm: float = 1e-5      # absolute below a norm of 1, relative above (float32's noise grows with it)
    embedding: float = 1e-4      # largest absolute entry difference


def mismatches(suite: list[Step], reference: list[Step], tolerance: Tolerance = Tolerance()) -> list[str]:
    """One line per step and quantity where the suite and SimCSE differ beyond ``tolerance``."""
    problems = []
    theirs = {s.step: s for s in reference}
    for ours in suite:
        ref = theirs.get(ours.step)
        if ref is None:
            problems.append(f"step {ours.step}: not in SimCSE's trajectory")
            continue
        if not abs(ours.loss - ref.loss) <= tolerance.loss:
            problems.append(f"step {ours.step}: loss {ours.loss:.7f}, SimCSE's {ref.loss:.7f}")
        if not abs(ours.grad_norm - ref.grad_norm) <= tolerance.grad_norm * max(1.0, abs(ref.grad_norm)):
            problems.append(f"step {ours.step}: gradient norm {ours.grad_norm:.7g}, SimCSE's {ref.grad_norm:.7g}")
        gap = float(np.max(np.abs(ours.embeddings - ref.embeddings))) if ours.embeddings.shape == ref.embeddings.shape else math.inf
        if not gap <= tolerance.embedding:
            problems.append(f"step {ours.step}: evaluation embeddings differ by {gap:.3g}")
    problems += [f"step {s}: not in the suite's trajectory" for s in sorted(set(theirs) - {s.step for s in suite})]
    return problems


def largest_differences(suite: list[Step], reference: list[Step]) -> dict[str, float]:
    """Largest |loss| difference, absolute and relative gradient-norm differences, embedding entry difference."""
    pairs = list(zip(suite, reference))
    return {"loss": max(abs(a.loss - b.loss) for a, b in pairs),
            "grad_norm": max(abs(a.grad_norm - b.grad_norm) for a, b in pairs),
            "grad_norm_relative": max(abs(a.grad_norm - b.grad_norm) / abs(b.grad_norm) for a, b in pairs),
            "embedding": max(float(np.max(np.abs(a.embeddings - b.embeddings))) for a, b in pairs)}


_RUNS: dict[tuple, object] = {}


def cached(key: tuple, make):
    """Compute each setup and trajectory once per module."""
    if key not in _RUNS:
        _RUNS[key] = make()
    return _RUNS[key]


TINY_LR, MINILM_LR = 1e-3, 3e-5  # the tiny random BERT moves little at SimCSE's 3e-5
MOVED_STEPS = 5  # a moved reference is caught at step 1; a few steps show it stays caught


def setup_of(name: str) -> Setup:
    if name == "tiny":
        return cached(("setup", name), lambda: make_setup(encoders.TINY, TINY_LR))
    return cached(("setup", name), lambda: make_setup("all-MiniLM-L6-v2", MINILM_LR))


def trajectories(name: str) -> tuple[list[Step], list[Step]]:
    """The suite's and SimCSE's trajectories on encoder ``name`` (tiny, minilm)."""
    setup = setup_of(name)
    suite, _ = cached(("suite", name), lambda: suite_trajectory(setup))
    return suite, cached(("reference", name), lambda: reference_trajectory(setup))


def moved_by_training(steps: list[Step]) -> float:
    """How far training moved the evaluation embeddings from step 1 to the last step: a trajectory
    that agrees because nothing learns would prove little."""
    return float(np.max(np.abs(steps[-1].embeddings - steps[0].embeddings)))


def test_the_suite_follows_simcse_on_the_tiny_bert():
    suite, reference = trajectories("tiny")
    assert len(suite) == len(reference) == STEPS
    figures = {**largest_differences(suite, reference), "moved": moved_by_training(suite)}
    print(figures)  # docs/model.md quotes them (pytest -rP shows them)
    assert mismatches(suite, reference) == [], figures
    assert figures["moved"] > 100 * Tolerance().embedding


@pytest.mark.slow
def test_the_suite_follows_simcse_on_minilm():
    suite, reference = trajectories("minilm")
    assert len(suite) == len(reference) == STEPS
    figures = {**largest_differences(suite, reference), "moved": moved_by_training(suite)}
    print(figures)  # docs/model.md quotes them (pytest -rP shows them)
    assert mismatches(suite, reference) == [], figures
    assert figures["moved"] > 100 * Tolerance().embedding


def test_a_reference_at_temperature_0051_is_caught_at_step_1():
    suite, _ = trajectories("tiny")
    moved = reference_trajectory(setup_of("tiny"), Reference(temperature=0.051), MOVED_STEPS)
    problems = mismatches(suite[:MOVED_STEPS], moved)
    assert problems and problems[0].startswith("step 1: loss"), problems
    assert {p.split(":")[0] for p in problems} == {f"step {s}" for s in range(1, MOVED_STEPS + 1)}


def test_a_reference_applying_the_mlp_at_evaluation_is_caught_at_step_1():
    suite, _ = trajectories("tiny")
    moved = reference_trajectory(setup_of("tiny"), Reference(mlp_at_eval=True), MOVED_STEPS)
    problems = mismatches(suite[:MOVED_STEPS], moved)
    assert [p.split(":")[0] for p in problems] == [f"step {s}" for s in range(1, MOVED_STEPS + 1)], problems
    assert all("evaluation embeddings differ" in p for p in problems), problems  # training is unmoved


def test_a_step_missing_on_either_side_is_named():
    suite, reference = trajectories("tiny")
    assert mismatches(suite[:-1], reference) == [f"step {STEPS}: not in the suite's trajectory"]
    assert mismatches(suite, reference[:-1]) == [f"step {STEPS}: not in SimCSE's trajectory"]


def tool_and_suite_spearman(name: str, folder) -> tuple[float, float]:
    """STS-B dev Spearman of the suite's trained SimCSE saved to ``folder``: by SimCSE's tool.py
    (``SimCSE(path).similarity``, cls_before_pooler, scipy's spearmanr) and by the suite's
    evaluation (its encoder loader, SentenceEncoder, stsb_dev_spearman), both on the 0-1 scale."""
    from scipy.stats import spearmanr

    from mocose.evaluation.sts import stsb_dev_spearman, task_pairsets
    from mocose.model.checkpoint import save_model_folder

    setup = setup_of(name)
    _, model = cached(("suite", name), lambda: suite_trajectory(setup))
    save_model_folder(model, setup.tokenizer, setup.config.to_dict(), folder)
    pairs = task_pairsets("STSBenchmark", split="dev")[0]
    tool = SimCSETool(str(folder), device="cpu", pooler="cls_before_pooler")
    sims = np.diag(tool.similarity(pairs.a, pairs.b))
    theirs = float(spearmanr(sims, pairs.gold).correlation)
    encoder, tokenizer = encoders.load(str(folder))
    ours = stsb_dev_spearman(SentenceEncoder(encoder, tokenizer, "cls_before_pooler")) / 100
    return ours, theirs


@pytest.mark.slow
def test_simcse_tool_scores_the_suites_minilm_checkpoint_as_the_suite(tmp_path):
    """On MiniLM only: the tiny random BERT's cosines on STS-B dev all lie within 3e-5 of 1, where
    tool.py's float32 cosines (sklearn) reorder pairs and move its Spearman by ~2e-3 while its
    vectors equal the suite's to 1e-7."""
    ours, theirs = tool_and_suite_spearman("minilm", tmp_path / "best")
    print({"suite": ours, "tool.py": theirs})
    assert ours == pytest.approx(theirs, abs=1e-4)
    assert theirs > 0.5  # a trained MiniLM, not noise
