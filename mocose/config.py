"""Configuration as data: one frozen dataclass per concern, validated on construction.

Every field name is unique across the concerns, so a study or a user can override any of them by
its bare name (``--set ema_decay=0.95``); :class:`Config` routes the name to its concern.  Errors
name the field and the values it allows, before any work starts.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping

from .fields import ConfigError, fail, one_of, within
from .queue_specs import QUEUE_COMPATS, QueueNegatives, parse_queue_negatives, parse_queue_slice

__all__ = ["ConfigError", "Config"]


# The paper's collapse (Figures 5 and 6): the STS-B dev Spearman x 100 falls near 0. Figure 5
# stays within [-1, 4] after step 2,000 and Figure 6 within [-1.5, 1.5] between steps 2,000 and
# 10,000 (a working model scores ~80), so a validation below 5 points counts as collapsed.
COLLAPSE_DEV = 5.0
METHODS = ("mocose", "simcse", "none")  # none: evaluate the pre-trained encoder as it is
POOLERS = ("cls_before_pooler", "cls", "avg", "avg_first_last", "avg_top2")
TEXT_AUGMENTS = ("none", "typos", "spelling", "synonym", "paraphrase", "back_translation")
SELECTIONS = ("stsb_dev", "sts_test_avg")
LR_SCHEDULES = ("linear", "constant")
OPTIMIZERS = ("adamw_hf", "adamw_torch")  # mocose.training.optimizer
MATMUL_PRECISIONS = ("highest", "high", "medium")  # torch.set_float32_matmul_precision; high = TF32
AUTOCASTS = ("none", "bf16")
COMPILES = ("auto", "on", "off")  # auto: torch.compile on CUDA, eager on CPU
HEAD_INITS = ("bert", "pytorch")  # BERT's init (the authors') or pytorch's defaults: mocose.model.heads


@dataclass(frozen=True)
class ModelConfig:
    """The network: which encoder, which heads, which loss."""

    method: str = "mocose"
    encoder: str = "bert-base-uncased"
    max_length: int = 32
    proj_layers: int = 1
    pred_layers: int = 2
    embed_dim: int = 0  # 0: the encoder's hidden size
    temperature: float = 0.05
    key_gradient: bool = True  # authors' code: the loss's gradient flows through the keys
    ema_embeddings: bool = False  # authors' code: the target runs the online embedding layer
    head_init: str = "bert"  # heads not copied from the encoder: BERT's init (authors) or pytorch's

    def __post_init__(self) -> None:
        one_of("method", self.method, METHODS)
        one_of("head_init", self.head_init, HEAD_INITS)
        if not self.encoder:
            fail("encoder", self.encoder, "a Hugging Face model name or folder")
        within("max_length", self.max_length, 4, 512)
        within("proj_layers", self.proj_layers, 0, 8)
        within("pred_layers", self.pred_layers, 0, 8)
        within("embed_dim", self.embed_dim, 0)
        within("temperature", self.temperature, 0, lo_open=True)


@dataclass(frozen=True)
class EMAConfig:
    """The target branch: t <- m_s t + (1 - m_s) o with m_s rising from ema_decay to 1 by a cosine."""

    ema_decay: float = 0.85
    ema_total_steps: int = 15000  # the cosine's horizon S; 0: the run's total steps

    def __post_init__(self) -> None:
        within("ema_decay", self.ema_decay, 0, 1, hi_open=True)
        within("ema_total_steps", self.ema_total_steps, 0)


@dataclass(frozen=True)
class QueueConfig:
    """The negative queue: its length, its start, which of its ages a step uses, and how."""

    queue_size: int = 512
    # The recipe starts the queue with 128 random vectors at K 512 (the authors' code: K_start 128;
    # Table 7's (512, 1/4) = 77.30 is the cell nearest Table 1's 77.27): 1/4 of the queue.
    queue_init_fraction: float = 0.25
    queue_init_size: int = -1  # an absolute start size (Figure 12's begin_size); -1: use the fraction
    queue_compat: str = "suite"
    queue_slice: str = "all"  # all | blocks:0-3/8 | blocks:0,1,6,7/8 | ages:START-END
    queue_negatives: str = "all"  # all | mean | kmeans:K

    def __post_init__(self) -> None:
        within("queue_size", self.queue_size, 0)
        within("queue_init_fraction", self.queue_init_fraction, 0, 1)
        if not -1 <= self.queue_init_size <= self.queue_size:
            fail("queue_init_size", self.queue_init_size,
                  f"-1 (use queue_init_fraction) or a size in [0, queue_size={self.queue_size}]")
        one_of("queue_compat", self.queue_compat, QUEUE_COMPATS)
        ages, _negatives = self.ages, self.negatives  # parsed (so checked) here, once
        if ages is not None and self.queue_compat == "authors":
            fail("queue_slice", self.queue_slice, "'all' when queue_compat='authors'")

    # The two string settings parsed once, on construction (a cached property is not a field: the
    # serialized config and its digest hold the strings only).
    @cached_property
    def ages(self) -> tuple[int, ...] | None:
        """The queue ages (0 = newest) a step may use (``queue_slice``), None for all of them."""
        return parse_queue_slice(self.queue_slice, self.queue_size)

    @cached_property
    def negatives(self) -> QueueNegatives:
        """What a step makes of the entries it uses (``queue_negatives``)."""
        return parse_queue_negatives(self.queue_negatives, self.queue_size)

    @property
    def init_size(self) -> int:
        """Random vectors the queue holds at the start: queue_init_size, else round(f * K)."""
        if self.queue_init_size >= 0:
            return self.queue_init_size
        return round(self.queue_init_fraction * self.queue_size)


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentations on top of dropout (docs/model.md, Augmentations)."""

    fgsm_epsilon: float = 0.0
    position_shuffle: bool = False
    token_cutoff: float = 0.0
    feature_cutoff: float = 0.0
    text_augment: str = "none"
    augment_online_only: bool = False  # authors' code augments both branches, each its own draw
    # The authors' habits (mocose.presets: `--preset authors` turns them on; off is the clean default)
    augment_at_eval: bool = False  # token/feature cutoff and position shuffle act on evaluation too
    shuffle_per_batch: bool = False  # one position permutation for the whole batch, not per sentence
    fgsm_shared_sign: bool = False  # one FGSM sign for both branches: the last gradient's

    def __post_init__(self) -> None:
        within("fgsm_epsilon", self.fgsm_epsilon, 0)
        within("token_cutoff", self.token_cutoff, 0, 1, hi_open=True)
        within("feature_cutoff", self.feature_cutoff, 0, 1, hi_open=True)
        one_of("text_augment", self.text_augment, TEXT_AUGMENTS)


@dataclass(frozen=True)
class TrainConfig:
    """Data, optimiser, schedule, validation and checkpoint selection."""

    train_file: str = "wiki/wiki1m_for_simcse.txt"  # relative to the data folder, or absolute
    train_sentences: int = 0  # 0: every line of train_file
    epochs: int = 1
    max_steps: int = 0  # 0: as many as the epochs give
    batch_size: int = 64
    learning_rate: float = 3e-5
    lr_schedule: str = "linear"
    optimizer: str = "adamw_hf"  # the authors' Trainer's AdamW (epsilon inside the bias correction)
    weight_decay: float = 1e-6
    max_grad_norm: float = 1.0  # 0: no clipping
    eval_steps: int = 100
    selection: str = "stsb_dev"
    seed: int = 42
    collapse_dev: float = COLLAPSE_DEV  # a validation whose STS-B dev score is below: collapsed
    checkpoint_steps: int = 0  # 0: save a resumable state at every validation
    matmul_precision: str = "highest"  # the paper's float32; "high" lets a GPU use TF32
    autocast: str = "none"  # "bf16": the encoder passes of a training step under bfloat16 autocast
    compile: str = "auto"  # the encoder passes of a step under torch.compile; auto: on CUDA only
    drop_last: bool = False  # authors' DataLoader(drop_last=True): the last partial batch dropped

    def __post_init__(self) -> None:
        if not self.train_file:
            fail("train_file", self.train_file, "a file path")
        within("train_sentences", self.train_sentences, 0)
        within("epochs", self.epochs, 1)
        within("max_steps", self.max_steps, 0)
        within("batch_size", self.batch_size, 2)
        within("learning_rate", self.learning_rate, 0, lo_open=True)
        one_of("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        one_of("optimizer", self.optimizer, OPTIMIZERS)
        within("weight_decay", self.weight_decay, 0)
        within("max_grad_norm", self.max_grad_norm, 0)
        within("eval_steps", self.eval_steps, 1)
        one_of("selection", self.selection, SELECTIONS)
        within("seed", self.seed, 0)
        within("collapse_dev", self.collapse_dev, 0, 100)
        within("checkpoint_steps", self.checkpoint_steps, 0)
        one_of("matmul_precision", self.matmul_precision, MATMUL_PRECISIONS)
        one_of("autocast", self.autocast, AUTOCASTS)
        one_of("compile", self.compile, COMPILES)


@dataclass(frozen=True)
class EvalConfig:
    """How a trained model is evaluated at the end of a run."""

    eval_tasks: str = "sts"  # sts | transfer | all | comma-separated SentEval task names
    eval_pooler: str = "cls_before_pooler"
    eval_batch_size: int = 128
    eval_last: bool = True  # also evaluate each run's last model (`mocose report --checkpoint last`)
    # STS-B splits of the end-of-run analysis (alignment, uniformity, spectrum): SimCSE's three;
    # smoke reads dev alone (3,000 sentences, not 17,000: half a smoke run's seconds otherwise).
    analysis_splits: str = "train,dev,test"

    def __post_init__(self) -> None:
        if not self.eval_tasks:
            fail("eval_tasks", self.eval_tasks, "sts, transfer, all or a comma-separated task list")
        splits = self.analysed_splits
        if len(set(splits)) != len(splits) or not set(splits) <= {"train", "dev", "test"}:
            fail("analysis_splits", self.analysis_splits, "a comma-separated subset of train,dev,test")
        one_of("eval_pooler", self.eval_pooler, POOLERS)
        within("eval_batch_size", self.eval_batch_size, 1)

    @property
    def analysed_splits(self) -> tuple[str, ...]:  # analysis_splits as the names the analysis reads
        return tuple(self.analysis_splits.split(","))


CONCERNS: dict[str, type] = {
    "model": ModelConfig,
    "ema": EMAConfig,
    "queue": QueueConfig,
    "augment": AugmentConfig,
    "train": TrainConfig,
    "eval": EvalConfig,
}


@dataclass(frozen=True)
class Config:
    """A whole run's configuration: the profile it came from and one object per concern."""

    profile: str = "custom"
    model: ModelConfig = field(default_factory=ModelConfig)
    ema: EMAConfig = field(default_factory=EMAConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    # -- access by bare field name -------------------------------------------------------------
    def get(self, name: str) -> Any:
        return getattr(getattr(self, concern_of(name)), name)

    def override(self, values: Mapping[str, Any]) -> "Config":
        """A copy with fields replaced by bare name; string values are parsed by the field's type."""
        grouped: dict[str, dict[str, Any]] = {}
        for name, value in values.items():
            if name == "profile":
                continue
            concern = concern_of(name)
            grouped.setdefault(concern, {})[name] = parse_value(name, value)
        parts = {c: dataclasses.replace(getattr(self, c), **kw) for c, kw in grouped.items()}
        return dataclasses.replace(self, **parts)

    def flat(self) -> dict[str, Any]:
        """Every field by bare name (the profile included)."""
        out: dict[str, Any] = {"profile": self.profile}
        for concern in CONCERNS:
            out.update(dataclasses.asdict(getattr(self, concern)))
        return out

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Config":
        """Inverse of :meth:`to_dict`; also accepts the flat form of :meth:`flat`."""
        if any(k in CONCERNS for k in data):
            unknown = set(data) - set(CONCERNS) - {"profile"}
            if unknown:
                raise ConfigError(f"unknown configuration section(s): {sorted(unknown)}")
            parts = {c: CONCERNS[c](**_known(CONCERNS[c], data.get(c, {}))) for c in CONCERNS}
            return cls(profile=data.get("profile", "custom"), **parts)
        return cls(profile=data.get("profile", "custom")).override(data)

    def digest(self) -> str:
        """The run id: a short stable hash of what a run trains and how it reads its embeddings.
        It covers every field but the tasks a run is evaluated on (IDENTITY_EXCLUDED: Tables 1 and 2
        share their runs) and the fields added since run ids were fixed while they hold the value
        that computes what runs computed before them (ID_NEUTRAL), so an upgrade that adds such a
        field keeps every cached result (docs/results.md, "Run ids")."""
        return _hash(self._identity())

    def recipe_digest(self) -> str:
        """:meth:`digest` without the seed: every seed of one cell shares it."""
        data = self._identity()
        data["train"].pop("seed")
        return _hash(data)

    def _identity(self) -> dict[str, Any]:
        return identity(self.to_dict(), IDENTITY_EXCLUDED, ID_NEUTRAL)


# What a run is evaluated on is not part of its identity: a finished run is evaluated on more
# tasks later (its kept best checkpoint), never trained again; whether its last model is
# evaluated too, and on which STS-B splits it is analysed, change nothing it trains.
IDENTITY_EXCLUDED = ("eval_tasks", "eval_last", "analysis_splits")
# Fields added after run ids were fixed, each with the value under which a run computes what it did
# before the field existed: a config holding that value hashes as if the field were not there. A
# new field whose default keeps the old behaviour is added here with that default; any other value
# (a change to what a run computes) enters the hash and gives the runs it alters new ids.
ID_NEUTRAL: dict[str, Any] = {}


def identity(data: Mapping[str, Any], excluded: tuple[str, ...] = IDENTITY_EXCLUDED,
             neutral: Mapping[str, Any] = ID_NEUTRAL) -> dict[str, Any]:
    """The part of a config's nested dict (:meth:`Config.to_dict`) that a run id hashes."""
    out = {concern: dict(values) if isinstance(values, Mapping) else values for concern, values in data.items()}
    for name in excluded:
        out[concern_of(name)].pop(name, None)
    for name, value in neutral.items():
        section = out.get(concern_of(name))
        if isinstance(section, dict) and name in section and section[name] == value:
            section.pop(name)
    return out


def _hash(data: Mapping[str, Any]) -> str:
    blob = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _known(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(f"unknown field(s) {sorted(unknown)} in {cls.__name__}; "
                          f"known: {', '.join(sorted(names))}")
    return dict(values)


_FIELD_INDEX: dict[str, tuple[str, Any]] = {}
for _concern, _cls in CONCERNS.items():
    _hints = typing.get_type_hints(_cls)
    for _f in dataclasses.fields(_cls):
        _FIELD_INDEX[_f.name] = (_concern, _hints[_f.name])


def field_names() -> list[str]:
    """Every overridable field name."""
    return sorted(_FIELD_INDEX)


def concern_of(name: str) -> str:
    if name not in _FIELD_INDEX:
        import difflib

        close = difflib.get_close_matches(name, _FIELD_INDEX, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown configuration field {name!r}{hint}; known fields: "
                          + ", ".join(field_names()))
    return _FIELD_INDEX[name][0]


def parse_value(name: str, value: Any) -> Any:
    """Turn a command-line string into the type of field ``name``; typed values pass through."""
    kind = _FIELD_INDEX[name][1] if name in _FIELD_INDEX else None
    if kind is None:
        concern_of(name)  # raises with the list of known fields
    if not isinstance(value, str):
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if kind is int and isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            fail(name, value, f"of type {kind.__name__}")
        return value
    text = value.strip()
    try:
        if kind is bool:
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if kind is float:
            if "/" in text:  # fractions such as 1/4 for queue_init_fraction
                num, den = text.split("/", 1)
                return float(num) / float(den)
            return float(text)
    except (ValueError, ZeroDivisionError):
        fail(name, value, f"a {kind.__name__}")
    return text


def parse_assignments(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Parse ``key=value`` strings (``--set``), refusing malformed ones and unknown keys."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        key = key.strip()
        concern_of(key)
        out[key] = value
    return out
