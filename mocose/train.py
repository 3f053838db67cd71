"""The training loop: MoCoSE or SimCSE, periodic validation, best checkpoint, resumable state.

A run's folder holds ``metrics.jsonl`` (one line per logged step), ``best/`` (the selected
checkpoint, a Hugging Face encoder folder plus heads) and ``state/`` (everything needed to resume
after a kill: model, optimizer, RNG, counters, curve). ``train.json`` summarises a finished run.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import encoders
from .checkpoint import load_tree, replace_folder, save_model_folder, save_tree
from .config import Config, ConfigError, parse_assignments
from .data import read_sentences, resolve_data_dir, training_file
from .device import autocast, precision_record, resolve_device, set_deterministic, set_matmul_precision
from .model import Batch, build_model, evaluation_augmentation
from .presets import PRESETS, apply_preset, preset_name
from .profiles import load_profile, profile_names

LOG_EVERY = 10
VALIDATION_SAMPLE = 512  # training sentences whose embedding spread flags a collapse


def _pad(rows: list[list[int]], pad_id: int, length: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    width = length or max(map(len, rows))
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):  # collation of token lists, not tensor math
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return ids, mask


class Batches:
    """Shuffled batches of pre-tokenised sentences; the order depends only on (seed, epoch)."""

    def __init__(self, sentences: list[str], tokenizer, config: Config, pad_to_max: bool, text_augment=None):
        self.sentences = sentences
        self.tokenizer = tokenizer
        self.max_length = config.model.max_length
        self.ids = tokenizer(sentences, truncation=True, max_length=self.max_length)["input_ids"]
        self.batch_size = config.train.batch_size
        self.seed = config.train.seed
        self.pad_length = self.max_length if pad_to_max else None
        self.text_augment = text_augment
        self.per_epoch = batches_per_epoch(config, len(sentences))

    def batch(self, step: int) -> Batch:
        """The batch of training step ``step`` (1-based)."""
        epoch, index = divmod(step - 1, self.per_epoch)
        order = torch.randperm(len(self.ids), generator=torch.Generator().manual_seed(self.seed + epoch))
        rows = order[index * self.batch_size:(index + 1) * self.batch_size].tolist()
        pad = self.tokenizer.pad_token_id or 0
        ids, mask = _pad([self.ids[r] for r in rows], pad, self.pad_length)
        if self.text_augment is None:
            return Batch(ids, mask)
        views = self.text_augment([self.sentences[r] for r in rows])
        view_ids = self.tokenizer(views, truncation=True, max_length=self.max_length)["input_ids"]
        t_ids, t_mask = _pad(view_ids, pad, self.pad_length or max(map(len, view_ids)))
        return Batch(ids, mask, t_ids, t_mask)


def _optimizer(model: torch.nn.Module, config: Config) -> torch.optim.Optimizer:
    """AdamW as the Hugging Face Trainer builds it: no weight decay on biases and LayerNorms."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name
             or p.ndim == 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": config.train.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.train.learning_rate, betas=(0.9, 0.999), eps=1e-8)


def _model_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """State dict without the second name of a shared module (the target's embedding layer)."""
    state = model.state_dict()
    return {k: v for k, v in state.items() if not _is_shared_twin(k, state)}


def _is_shared_twin(key: str, state: dict) -> bool:
    if not key.startswith("target_encoder.embeddings."):
        return False
    twin = "encoder." + key[len("target_encoder."):]
    return twin in state and state[twin].data_ptr() == state[key].data_ptr()


def batches_per_epoch(config: Config, num_sentences: int) -> int:
    """Batches in one pass over the data; ``drop_last`` (the authors' DataLoader) drops a partial one."""
    if config.train.drop_last:
        return num_sentences // config.train.batch_size
    return math.ceil(num_sentences / config.train.batch_size)


def total_steps(config: Config, num_sentences: int) -> int:
    steps = config.train.epochs * batches_per_epoch(config, num_sentences)
    return min(steps, config.train.max_steps) if config.train.max_steps else steps


def _validate(model, tokenizer, config: Config, sample: list[str], data_dir: Path, device: str,
              last_keys: torch.Tensor | None) -> dict[str, Any]:
    """Dev score, selection score and collapse diagnostics of the online encoder now."""
    from .evaluation import SentenceEncoder, alignment_uniformity, stsb_dev_spearman, sts_test_average

    enc = SentenceEncoder(model.embedding_encoder(), tokenizer, pooler="cls_before_pooler",
                          batch_size=config.eval.eval_batch_size, device=device)
    with evaluation_augmentation(model.embedding_encoder(), config.augment, config.train.seed):
        out: dict[str, Any] = {"dev_spearman": stsb_dev_spearman(enc, data_dir)}
        if config.train.selection == "sts_test_avg":
            out["sts_test_avg"] = sts_test_average(enc, data_dir)
        diag = alignment_uniformity(enc, data_dir, splits=("dev",))
        emb = F.normalize(torch.as_tensor(enc.encode(sample)), dim=-1)
    out.update(alignment=diag["alignment"], uniformity=diag["uniformity"])
    out["embedding_std"] = float(emb.std(dim=0).mean())
    queue = getattr(model, "queue", None)
    if queue is not None and last_keys is not None and queue.length:
        negatives = queue.negatives()
        out["key_queue_cos"] = float((F.normalize(last_keys, dim=-1) @ F.normalize(negatives, dim=-1).T).mean())
    score = out["sts_test_avg"] if config.train.selection == "sts_test_avg" else out["dev_spearman"]
    # The paper's collapse: the STS-B dev correlation near 0 (embedding_std stays a diagnostic).
    dev = out["dev_spearman"]
    out["collapsed"] = bool(not math.isfinite(dev) or dev < config.train.collapse_dev)
    out["score"] = score if math.isfinite(score) else float("-inf")
    return out


def train(config: Config, out_dir: str | Path, data_dir: str | Path | None = None, device: str = "cpu",
          resume: bool = False, progress: bool = True, deterministic: bool = False) -> dict[str, Any]:
    """Train ``config`` into ``out_dir``; returns the summary also written to ``train.json``."""
    from tqdm.auto import tqdm

    if config.model.method == "none":
        raise ValueError("method 'none' trains nothing: evaluate the encoder with `mocose eval`")
    started = time.time()
    device = resolve_device(device)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = resolve_data_dir(data_dir)
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
    encoder, tokenizer = encoders.load(config.model.encoder)
    generator = torch.Generator().manual_seed(config.train.seed)
    model = build_model(encoder, config, generator).to(device)
    model.train()
    augmenting = bool(getattr(model.augment, "active", False))
    batches = Batches(sentences, tokenizer, config, pad_to_max=augmenting, text_augment=text_augment)
    total = total_steps(config, len(sentences))
    if total == 0 and config.train.drop_last:
        raise ConfigError(f"drop_last=True with {len(sentences)} training sentences and batch_size="
                          f"{config.train.batch_size} leaves no batch: use fewer per batch or more sentences")
    optimizer = _optimizer(model, config)
    params = [p for g in optimizer.param_groups for p in g["params"]]
    sample = sentences[:VALIDATION_SAMPLE]

    step, best, curve, collapsed = 0, {"score": float("-inf"), "step": 0}, [], False
    state_dir = out / "state"
    if resume and (state_dir / "state.json").is_file():
        state = load_tree(state_dir, "state")
        missing, unexpected = model.load_state_dict(state["model"], strict=False)
        if unexpected or any(not k.startswith("target_encoder.embeddings.") for k in missing):
            raise RuntimeError(f"saved state does not fit this model: missing {missing}, unexpected {unexpected}")
        optimizer.load_state_dict(state["optimizer"])
        if state.get("augment"):
            model.augment.load_state_dict(state["augment"])
        torch.set_rng_state(state["rng"])
        if "cuda_rng" in state and device.startswith("cuda"):  # dropout masks drawn on the GPU
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        generator.set_state(state["generator"])
        step, best, curve = state["step"], state["best"], state["curve"]
        _truncate_log(out / "metrics.jsonl", step)
    elif (out / "metrics.jsonl").exists():
        (out / "metrics.jsonl").unlink()

    eval_every = config.train.eval_steps
    save_every = config.train.checkpoint_steps or eval_every
    last_keys, last_loss, decay = None, float("nan"), float("nan")
    bar = tqdm(total=total, initial=step, disable=not progress, desc=f"{config.model.method} {out.name}",
               dynamic_ncols=True, file=sys.stderr)
    with (out / "metrics.jsonl").open("a") as log:
        while step < total:  # a collapse does not stop training: Figure 6's curve recovers
            step += 1
            batch = batches.batch(step).to(device)
            decay = model.update_target(step, total)
            with autocast(device, config.train.autocast):
                result = model(batch)
            optimizer.zero_grad(set_to_none=True)
            result.loss.backward()
            if config.train.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(params, config.train.max_grad_norm)
            lr = config.train.learning_rate * ((total - step + 1) / total if config.train.lr_schedule == "linear" else 1.0)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.step()
            last_keys, last_loss = result.keys.float(), float(result.loss.detach())  # float: bf16 under autocast
            record = {"step": step, "loss": last_loss, "lr": lr, "ema_decay": decay,
                      "queue_fill": int(getattr(getattr(model, "queue", None), "length", 0)),
                      "negatives": result.num_negatives}
            if step % eval_every == 0 or step == total:
                record.update(_validate(model, tokenizer, config, sample, data, device, last_keys))
                record.update(model.augment.stats())
                curve.append(record)
                collapsed = record["collapsed"]  # the latest validation's judgement
                if record["score"] > best["score"]:
                    best = {"score": record["score"], "step": step}
                    save_model_folder(model, tokenizer, config.to_dict(), out / "best",
                                      {"step": step, "score": record["score"], "selection": config.train.selection})
                bar.set_postfix(loss=f"{last_loss:.3f}", dev=f"{record['dev_spearman']:.2f}")
            else:
                bar.set_postfix(loss=f"{last_loss:.3f}", dev=f"{curve[-1]['dev_spearman']:.2f}" if curve else "-")
            if step % LOG_EVERY == 0 or "dev_spearman" in record:
                log.write(json.dumps(record) + "\n")
                log.flush()
            if step % save_every == 0 and step < total:
                state = {"model": _model_state(model), "optimizer": optimizer.state_dict(),
                         "augment": model.augment.state_dict(), "rng": torch.get_rng_state(),
                         "generator": generator.get_state(), "step": step, "best": best, "curve": curve}
                if device.startswith("cuda"):
                    state["cuda_rng"] = torch.cuda.get_rng_state(device)
                replace_folder(lambda tmp: save_tree(tmp, "state", state), state_dir)
            bar.update(1)
    bar.close()
    if not (out / "best").is_dir():  # no finite validation score: keep the last weights
        save_model_folder(model, tokenizer, config.to_dict(), out / "best", {"step": step, "score": None})
    summary = {"preset": preset_name(config), "steps": step, "total_steps": total, "best_step": best["step"],
               "best_score": best["score"] if math.isfinite(best["score"]) else None,
               "selection": config.train.selection, "collapsed": collapsed,
               "collapsed_steps": [r["step"] for r in curve if r.get("collapsed")], "curve": curve,
               "diagnostics": model.augment.stats(), "best_checkpoint": str((out / "best").resolve()),
               "train_sentences": len(sentences), "wall_time": time.time() - started,
               "device": device, "deterministic": deterministic, "precision": precision_record(config)}
    (out / "train.json").write_text(json.dumps(summary, indent=2))
    return summary


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines past ``step`` (written after the last saved state, before a kill)."""
    if not path.exists():
        return
    keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in keep))


# -- command line --------------------------------------------------------------------------------
def resolve_config(profile: str, method: str | None, sets: list[str], preset: str = "clean") -> Config:
    """The profile's config, then the preset's habits, then --method and --set, all validated
    before any work."""
    overrides: dict[str, Any] = dict(parse_assignments(sets or []))
    if method:
        overrides["method"] = method
    base = load_profile(profile)
    if preset != "clean":
        base = apply_preset(base, preset)
    return base.override(overrides)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train MoCoSE (or --method simcse) and keep the best checkpoint")
    p.add_argument("--profile", default="cpu", choices=profile_names(), help="base configuration (default: cpu)")
    p.add_argument("--method", choices=("mocose", "simcse"), help="override the profile's method")
    p.add_argument("--preset", default="clean", choices=PRESETS,
                   help="clean (default) or authors: the authors' code's habits (mocose/presets.py)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field, e.g. --set ema_decay=0.95 (repeatable)")
    p.add_argument("--out", required=True, help="run folder (checkpoints, metrics.jsonl)")
    p.add_argument("--data", help="data folder (default: $MOCOSE_DATA)")
    p.add_argument("--device", default=None,
                   help="cpu, cuda (the current GPU) or cuda:N (default: cuda when there is a GPU, else cpu)")
    p.add_argument("--resume", action="store_true", help="continue a killed run from its last state")
    p.add_argument("--deterministic", action="store_true",
                   help="deterministic kernels (torch and cuBLAS): a resumed run repeats a straight one")
    p.add_argument("--evaluate", action="store_true", help="then evaluate the best checkpoint on the seven STS tasks")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    config = resolve_config(args.profile, args.method, args.set, args.preset)
    resolve_data_dir(args.data)  # fail before loading anything
    device = resolve_device(args.device)
    summary = train(config, args.out, args.data, device, args.resume, not args.quiet, args.deterministic)
    print(f"trained {config.model.method} ({config.profile} profile, preset {summary['preset']}, {summary['steps']} steps, "
          f"{summary['wall_time']:.0f} s); best {config.train.selection} = {summary['best_score']} "
          f"at step {summary['best_step']}{' (collapsed)' if summary['collapsed'] else ''}")
    print(f"checkpoint: {summary['best_checkpoint']}  log: {Path(args.out) / 'metrics.jsonl'}")
    if args.evaluate:
        from .evaluation import evaluate_model
        from .experiment import evaluate_trained

        if config.augment.augment_at_eval:  # the authors' habit: augmentations on the test sentences
            result = evaluate_trained(config, summary["best_checkpoint"], "sts", args.data, device,
                                      not args.quiet)
        else:
            result = evaluate_model(summary["best_checkpoint"], pooler=config.eval.eval_pooler, tasks="sts",
                                    data_dir=args.data, device=device, progress=not args.quiet)
        (Path(args.out) / "eval.json").write_text(json.dumps(result, indent=2))
        print(f"STS avg = {result['avg']['sts']:.2f}; details in {Path(args.out) / 'eval.json'}")
    return 0
