"""The training loop: MoCoSE or SimCSE, periodic validation, best checkpoint, resumable state.

A run's folder holds ``metrics.jsonl`` (one line per logged step), ``best/`` (the selected
checkpoint, a Hugging Face encoder folder plus heads) and ``state/`` (everything needed to resume
after a kill: model, optimizer, RNG, counters, curve). ``train.json`` summarises a finished run.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import encoders
from .checkpoint import (CheckpointError, check_model_folder, load_tree, read_tree_json, recover_folder,
                         replace_folder, save_model_folder, save_tree)
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
          resume: bool = False, progress: bool = True, deterministic: bool = False,
          overwrite: bool = False, allow_config_change: bool = False) -> dict[str, Any]:
    """Train ``config`` into ``out_dir``; returns the summary also written to ``train.json``.

    ``resume`` continues from ``out_dir/state`` when there is one (a fresh start when the run was
    killed before its first save); ``out_dir`` holding another run is refused unless ``overwrite``;
    resuming with another config is refused unless ``allow_config_change``.
    """
    from tqdm.auto import tqdm

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
    if resume and state_dir.is_dir():
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
        check_best_checkpoint(out, best)
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
                         "generator": generator.get_state(), "step": step, "best": best, "curve": curve,
                         "config": config.to_dict()}
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
    if config_changes:
        summary["config_changes"] = config_changes
    (out / "train.json").write_text(json.dumps(summary, indent=2))
    return summary


def _truncate_log(path: Path, step: int) -> None:
    """Drop log lines past ``step`` (written after the last saved state, before a kill). A log with
    a line that does not parse is kept aside as ``metrics.jsonl.broken-N`` and its sound lines up
    to ``step`` are kept."""
    if not path.exists():
        return
    keep, broken = [], False
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line) if line else None
        except json.JSONDecodeError:
            record, broken = None, True
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            if record["step"] <= step:
                keep.append(line)
        elif line:
            broken = True
    if broken:
        n = 1
        while path.with_name(f"{path.name}.broken-{n}").exists():
            n += 1
        aside = path.with_name(f"{path.name}.broken-{n}")
        path.rename(aside)
        print(f"mocose: {path} had lines that do not parse; kept as {aside}, its sound lines up to "
              f"step {step} carried over", file=sys.stderr)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(line + "\n" for line in keep))
    os.replace(tmp, path)  # a kill leaves the old log or the new one, never half of one


# -- the run folder: what a new run, an overwrite and a resume may find there ---------------------
RUN_FILES = ("metrics.jsonl", "state", "best", "train.json", "eval.json")
STATE_FILES = ("state.json", "state.safetensors")


def check_run_folder(out: Path, config: Config, resume: bool, overwrite: bool,
                     allow_config_change: bool) -> list[str]:
    """Refuse, before anything is written, a new run over an old one (unless ``overwrite``), a
    resume from an incomplete state, or a resume with other settings than the saved run's (unless
    ``allow_config_change``). Returns the changed settings ("field: old -> new") a resume accepts."""
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other: continue the run in the "
                          "folder, or replace it")
    recover_folder(out / "state")  # undo a kill inside a folder replacement, drop half-built copies
    recover_folder(out / "best")
    (out / ".metrics.jsonl.tmp").unlink(missing_ok=True)  # a kill inside _truncate_log
    existing = [name for name in RUN_FILES if (out / name).exists()]
    if existing and not resume and not overwrite:
        raise ConfigError(f"{out} already holds a run ({', '.join(existing)}): pass --resume to "
                          f"continue it or --overwrite to replace it")
    if not resume:
        return []
    state_dir = out / "state"
    if not state_dir.exists():
        return []  # killed before its first save: there is nothing to resume, a fresh start is exact
    missing = [name for name in STATE_FILES if not (state_dir / name).is_file()]
    if missing:
        raise CheckpointError(f"cannot resume {out}: {state_dir / missing[0]} is missing; restore it, "
                              f"or start the run again with --overwrite")
    saved = _saved_config(state_dir)
    if saved is None:
        return []
    changes = config_differences(saved, config)
    if changes and not allow_config_change:
        raise ConfigError(f"cannot resume {out} with other settings than it was started with: "
                          f"{'; '.join(changes)} (pass the run's own settings, or "
                          f"--allow-config-change to continue under the new ones)")
    if changes:
        print(f"mocose: resuming {out} under changed settings: {'; '.join(changes)}", file=sys.stderr)
    return changes


def _saved_config(state_dir: Path) -> dict | None:
    """The config a saved state was made with (read from its JSON half only), or None when the
    state predates configs being saved; then the best checkpoint's config stands in."""
    structure = read_tree_json(state_dir, "state")
    entries = structure.get("__dict__", []) if isinstance(structure, dict) else []
    for key, value in entries:
        if key == "config":
            return _plain(value)
    meta = state_dir.parent / "best" / "mocose_config.json"
    try:
        return json.loads(meta.read_text())["config"]
    except (OSError, ValueError, KeyError):
        return None


def _plain(tree: Any) -> Any:
    """A JSON value of a saved tree back as plain dicts and lists."""
    if isinstance(tree, dict) and "__dict__" in tree:
        return {k: _plain(v) for k, v in tree["__dict__"]}
    if isinstance(tree, list):
        return [_plain(v) for v in tree]
    return tree


def config_differences(saved: dict, config: Config) -> list[str]:
    """The fields whose values differ between a saved config and ``config``: "name: old -> new"."""
    try:
        old = Config.from_dict(saved).flat()
    except (TypeError, ValueError) as err:
        return [f"the saved config is unreadable ({err})"]
    new = config.flat()
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)]


def check_best_checkpoint(out: Path, best: dict) -> None:
    """A resumed run whose state names a best checkpoint must still have it, whole."""
    if best.get("step", 0) <= 0:
        return
    try:
        check_model_folder(out / "best")
    except CheckpointError as err:
        raise CheckpointError(f"cannot resume {out}: the best checkpoint of step {best['step']} "
                              f"(score {best.get('score')}) is gone or damaged ({err}); its weights "
                              f"cannot be recomputed: start the run again with --overwrite") from None


def clear_run_folder(out: Path) -> None:
    """Remove the files of an old run from ``out`` (only those: anything else there is kept)."""
    import shutil

    for name in RUN_FILES:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


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
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    p.add_argument("--allow-config-change", action="store_true",
                   help="with --resume: continue under other --set values than the run was started with")
    p.add_argument("--deterministic", action="store_true",
                   help="deterministic kernels (torch and cuBLAS): a resumed run repeats a straight one")
    p.add_argument("--evaluate", action="store_true", help="then evaluate the best checkpoint on the seven STS tasks")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    config = resolve_config(args.profile, args.method, args.set, args.preset)
    resolve_data_dir(args.data)  # fail before loading anything
    device = resolve_device(args.device)
    _check_resumable(Path(args.out), args.resume)
    summary = train(config, args.out, args.data, device, args.resume, not args.quiet, args.deterministic,
                    overwrite=args.overwrite, allow_config_change=args.allow_config_change)
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


def _check_resumable(out: Path, resume: bool) -> None:
    """``--resume`` asks for a saved state: a folder without one is refused, never restarted."""
    if not resume:
        return
    recover_folder(out / "state")
    if not (out / "state").is_dir():
        if not any((out / n).exists() for n in RUN_FILES):
            raise CheckpointError(f"cannot resume {out}: it holds no run; start one without --resume")
        raise CheckpointError(f"cannot resume {out}: it has no saved state ({out / 'state'} is missing: "
                              f"killed before its first save, or removed); start it again with --overwrite")
