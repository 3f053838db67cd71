"""The training loop: MoCoSE or SimCSE, periodic validation, best checkpoint, resumable state.

:func:`train` sets a run up (:func:`_prepare`), restores a killed run's state when resuming, then
repeats :class:`~mocose.training.step.TrainStep` (one optimisation step) with a validation every
``eval_steps`` (:mod:`mocose.training.validation`) and a saved state at every validation. What the
run folder holds and when it may be reused is :mod:`mocose.training.run_folder`.
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..config import Config, ConfigError
from ..data import read_sentences, resolve_data_dir, training_file
from ..device import precision_record, resolve_device, set_deterministic, set_matmul_precision
from ..model import encoders
from ..model.checkpoint import load_tree, replace_folder, save_model_folder, save_tree
from ..model.factory import build_model
from ..model.interface import ContrastiveModel
from ..presets import preset_name
from . import validation
from .batches import Batches, total_steps
from .optimizer import build_optimizer
from .run_folder import check_best_checkpoint, check_run_folder, clear_run_folder, truncate_log
from .step import TrainStep, compile_enabled, compiled_graphs

LOG_EVERY = 10


@dataclass
class Progress:
    """Where a run stands: the last step done, the best validation so far, every validation."""

    step: int = 0
    best: dict[str, Any] = field(default_factory=lambda: {"score": float("-inf"), "step": 0})
    curve: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Timings:
    """Seconds this process spent in each part of a run and how many of each it did (a resumed
    run counts its own part): what :mod:`mocose.runner.cost` prices a plan from. On a GPU a step
    is queued, not waited for, so some of the steps' time shows in the validation that next reads
    the device; the sum stays right."""

    prepare_seconds: float = 0.0
    steps: int = 0
    step_seconds: float = 0.0
    validations: int = 0
    validation_seconds: float = 0.0
    save_seconds: float = 0.0


@dataclass
class Run:
    """Everything one training run works with, built by :func:`_prepare`."""

    config: Config
    out: Path
    data: Path
    device: str
    model: ContrastiveModel
    tokenizer: Any
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    batches: Batches
    sentences: list[str]
    total: int
    validation_set: validation.ValidationSet | None = None  # built at the first validation


def _prepare(config: Config, out: Path, data: Path, device: str, deterministic: bool) -> Run:
    """Read the data, seed every generator, load the encoder and build model, batches, optimizer."""
    text_augment = None
    if config.augment.text_augment != "none":
        from .text_augment import build_text_augmenter, check_text_augment_available

        check_text_augment_available(config.augment.text_augment)
        text_augment = build_text_augmenter(config.augment.text_augment, config.train.seed)
    sentences = read_sentences(training_file(data, config.train.train_file, config.train.train_sentences),
                               config.train.train_sentences)
    set_deterministic(deterministic)  # set (or cleared) every run: a job process runs several
    set_matmul_precision(config.train.matmul_precision)
    torch.manual_seed(config.train.seed)
    np.random.seed(config.train.seed)
    encoder, tokenizer = encoders.load(config.model.encoder, pass_as="--set encoder=DIR")
    generator = torch.Generator().manual_seed(config.train.seed)
    model = build_model(encoder, config, generator).to(device)
    model.train()
    compiling = compile_enabled(config, device)
    if compiling:
        model.compile_encoder_passes()
    augmenting = model.augment.active
    # static shapes for the augmentations' cut counts and for a compiled step
    batches = Batches(sentences, tokenizer, config, pad_to_max=augmenting or compiling, text_augment=text_augment)
    total = total_steps(config, len(sentences))
    if total == 0 and config.train.drop_last:
        raise ConfigError(f"drop_last=True with {len(sentences)} training sentences and batch_size="
                          f"{config.train.batch_size} leaves no batch: use fewer per batch or more sentences")
    return Run(config, out, data, device, model, tokenizer, build_optimizer(model, config), generator,
               batches, sentences, total)


def _restore(run: Run, state_dir: Path) -> Progress:
    """Load a killed run's saved state into ``run``: model, optimizer, augmenter, every RNG."""
    state = load_tree(state_dir, "state")
    run.model.load_checkpoint_state(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    if state.get("augment"):
        run.model.augment.load_state_dict(state["augment"])
    torch.set_rng_state(state["rng"])
    if "cuda_rng" in state and run.device.startswith("cuda"):  # dropout masks drawn on the GPU
        torch.cuda.set_rng_state(state["cuda_rng"], run.device)
    run.generator.set_state(state["generator"])
    done = Progress(state["step"], state["best"], state["curve"])
    check_best_checkpoint(run.out, done.best)
    truncate_log(run.out / "metrics.jsonl", done.step)
    return done


def _save_state(run: Run, done: Progress) -> None:
    """Everything a resume needs, written atomically to ``state/``."""
    state = {"model": run.model.checkpoint_state(), "optimizer": run.optimizer.state_dict(),
             "augment": run.model.augment.state_dict(), "rng": torch.get_rng_state(),
             "generator": run.generator.get_state(), "step": done.step, "best": done.best,
             "curve": done.curve, "config": run.config.to_dict()}
    if run.device.startswith("cuda"):
        state["cuda_rng"] = torch.cuda.get_rng_state(run.device)
    replace_folder(lambda tmp: save_tree(tmp, "state", state), run.out / "state")


def _save_best(run: Run, step: int, score: float | None) -> None:
    extra = {"step": step, "score": score}
    if score is not None:
        extra["selection"] = run.config.train.selection
    save_model_folder(run.model, run.tokenizer, run.config.to_dict(), run.out / "best", extra)


def _validate_now(run: Run, done: Progress, record: dict[str, Any], last_keys: torch.Tensor) -> None:
    """Validate at ``record``'s step: add the scores to it and the curve, keep a new best."""
    sample = run.sentences[:validation.VALIDATION_SAMPLE]
    if run.validation_set is None and run.config.train.selection != "sts_test_avg":
        run.validation_set = validation.ValidationSet(run.model.embedding_encoder(), run.tokenizer, run.data,
                                                      sample, run.device, run.config.eval.eval_batch_size)
    record.update(validation.validate(run.model, run.tokenizer, run.config, sample, run.data,
                                      run.device, last_keys, run.validation_set))
    record.update(run.model.augment.stats())
    done.curve.append(record)
    if record["score"] > done.best["score"]:
        done.best = {"score": record["score"], "step": record["step"]}
        _save_best(run, record["step"], record["score"])


def _step_record(run: Run, step: int, out) -> dict[str, Any]:
    """The metrics.jsonl line of a step; reading its loss and gradient norm syncs with the device."""
    record = {"step": step, "loss": float(out.loss), "lr": out.lr, "ema_decay": out.ema_decay,
              "queue_fill": run.model.queue_length(),
              "negatives": out.num_negatives}
    if out.grad_norm is not None:
        record["grad_norm"] = float(out.grad_norm)
    return record


def _loop(run: Run, done: Progress, timings: Timings, progress: bool,
          on_record: Callable[[dict], None] | None = None) -> None:
    """Train from ``done.step`` to the last step: log, validate, save states (timed in ``timings``).

    The loop never waits on the device between log points: a step's loss is read only when it is
    logged (every ``LOG_EVERY`` steps) or validated, so a GPU queues step after step."""
    from tqdm.auto import tqdm

    config, total = run.config, run.total
    eval_every = config.train.eval_steps
    save_every = config.train.checkpoint_steps or eval_every
    step_once = TrainStep(run.model, run.optimizer, config, total, run.device)
    bar = tqdm(total=total, initial=done.step, disable=not progress, dynamic_ncols=True,
               desc=f"{config.model.method} {run.out.name}", file=sys.stderr)
    with (run.out / "metrics.jsonl").open("a") as log:
        while done.step < total:  # a collapse does not stop training: Figure 6's curve recovers
            done.step += 1
            step = done.step
            began = time.perf_counter()
            out = step_once(step, run.batches.batch(step).to(run.device))
            timings.steps += 1
            timings.step_seconds += time.perf_counter() - began
            validating = step % eval_every == 0 or step == total
            if step % LOG_EVERY == 0 or validating:  # the only points that read the device
                record = _step_record(run, step, out)
                if validating:
                    began = time.perf_counter()
                    _validate_now(run, done, record, out.keys.float())  # float: bf16 under autocast
                    timings.validations += 1
                    timings.validation_seconds += time.perf_counter() - began
                dev = done.curve[-1]["dev_spearman"] if done.curve else None
                bar.set_postfix(loss=f"{record['loss']:.3f}", dev="-" if dev is None else f"{dev:.2f}")
                log.write(json.dumps(record) + "\n")
                log.flush()
                if on_record is not None:  # a tracker (--report-to) gets the line metrics.jsonl got
                    on_record(record)
            if step % save_every == 0 and step < total:
                began = time.perf_counter()
                _save_state(run, done)
                timings.save_seconds += time.perf_counter() - began
            bar.update(1)
    bar.close()


def train(config: Config, out_dir: str | Path, data_dir: str | Path | None = None, device: str = "cpu",
          resume: bool = False, progress: bool = True, deterministic: bool = False,
          overwrite: bool = False, allow_config_change: bool = False,
          on_record: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Train ``config`` into ``out_dir``; returns the summary also written to ``train.json``.

    ``resume`` continues from ``out_dir/state`` when there is one (a fresh start when the run was
    killed before its first save); ``out_dir`` holding another run is refused unless ``overwrite``;
    resuming with another config is refused unless ``allow_config_change``. ``on_record`` is
    called with every record written to metrics.jsonl (the trackers of ``--report-to``).
    """
    if config.model.method == "none":
        raise ValueError("method 'none' trains nothing: evaluate the encoder with `mocose eval`")
    started = time.time()
    device = resolve_device(device)
    out = Path(out_dir)
    config_changes = check_run_folder(out, config, resume, overwrite, allow_config_change)
    data = resolve_data_dir(data_dir)
    if overwrite:
        clear_run_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    run = _prepare(config, out, data, device, deterministic)
    timings = Timings(prepare_seconds=time.time() - started)
    graphs_before = compiled_graphs()
    if resume and (out / "state").is_dir():
        done = _restore(run, out / "state")
    else:
        (out / "metrics.jsonl").unlink(missing_ok=True)
        done = Progress()
    _loop(run, done, timings, progress, on_record)
    if not (out / "best").is_dir():  # no finite validation score: keep the last weights
        _save_best(run, done.step, None)
    best = done.best
    # The last model as well as the selected one (readers compare both): its own folder unless the
    # selected checkpoint is the last step's.
    last = out / "best" if best["step"] == done.step else out / "last"
    if last.name == "last":
        save_model_folder(run.model, run.tokenizer, run.config.to_dict(), last, {"step": done.step, "score": None})
    summary = {"preset": preset_name(config), "steps": done.step, "total_steps": run.total,
               "best_step": best["step"],
               "best_score": best["score"] if math.isfinite(best["score"]) else None,
               "selection": config.train.selection, "collapsed": bool(done.curve and done.curve[-1]["collapsed"]),
               "collapsed_steps": [r["step"] for r in done.curve if r.get("collapsed")], "curve": done.curve,
               "diagnostics": run.model.augment.stats(), "best_checkpoint": str((out / "best").resolve()),
               "last_checkpoint": str(last.resolve()),
               "train_sentences": len(run.sentences), "wall_time": time.time() - started,
               "timings": dataclasses.asdict(timings),
               "device": device, "deterministic": deterministic, "precision": precision_record(config),
               "attention": encoders.attention_of(run.model.embedding_encoder()),
               "compile": {"enabled": compile_enabled(config, device), "graphs": compiled_graphs() - graphs_before}}
    if config_changes:
        summary["config_changes"] = config_changes
    (out / "train.json").write_text(json.dumps(summary, indent=2))
    return summary
