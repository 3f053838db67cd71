"""Replay a recorded training trajectory and compare it step by step with its log.

The authors' code (xbdxwyh/mocose, commit 45cbc81) was run for 70 steps at K 4096 from fixed
inputs: the fixture ``fixtures/authors_k4096_70steps/`` of the data folder holds its start (head
weights, initial queue), its 70 batches of token ids and, per step, its loss, number of negatives,
gradient norm and EMA decay (the fixture's README says how it was made). :func:`replay` feeds given
batches through the suite's own :class:`~mocose.training.step.TrainStep`, and :func:`mismatches`
names every step where the two differ by more than a tolerance, so the suite's arithmetic (or a
user's port of it) can be held to the authors'::

    from mocose.training.replay import AuthorsTrajectory, mismatches, replay
    fixture = AuthorsTrajectory.load()                # $MOCOSE_DATA/fixtures/authors_k4096_70steps
    model = fixture.build_model()                     # MiniLM, the fixture's heads and queue
    steps = list(replay(model, fixture.config, fixture.batches()))
    assert not mismatches(steps, fixture.log)
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import torch

from ..config import Config
from ..data import resolve_data_dir
from ..device import resolve_device, set_matmul_precision
from ..model import encoders
from ..model.batch import Batch
from ..model.factory import build_model
from ..model.mocose import MoCoSE
from ..presets import apply_preset
from ..profiles import load_profile
from .optimizer import build_optimizer
from .step import TrainStep, compile_enabled

FIXTURE = "fixtures/authors_k4096_70steps"
FILES = ("heads.npz", "queue0.npz", "batches.npz", "authors_log.json")

# The fixture's recipe (its README): the authors' queue bookkeeping with K 4096 and K_start 128,
# batch 64, eta 0.85 on the 15,000-step cosine, AdamW at a constant 3e-5, weight decay 1e-6,
# clipping at 1.0, projection and predictor 768 wide, no augmentation.
RECIPE: dict[str, Any] = {
    "queue_size": 4096, "queue_init_size": 128, "batch_size": 64, "ema_decay": 0.85,
    "ema_total_steps": 15000, "learning_rate": 3e-5, "lr_schedule": "constant",
    "weight_decay": 1e-6, "max_grad_norm": 1.0, "embed_dim": 768, "proj_layers": 1,
    "pred_layers": 2, "temperature": 0.05, "key_gradient": True, "fgsm_epsilon": 0.0,
    "token_cutoff": 0.0, "feature_cutoff": 0.0, "position_shuffle": False, "max_length": 32}


@dataclass(frozen=True)
class Tolerance:
    """How far a replayed step may be from the log: absolute loss and EMA decay, relative norm."""

    loss: float = 1e-5
    ema_decay: float = 1e-9
    grad_norm: float = 1e-3


@dataclass(frozen=True)
class ReplayedStep:
    """One replayed step: the loss after its forward pass, the queue negatives in its loss, the
    gradient norm before clipping and the EMA decay it used."""

    step: int
    loss: float
    num_negatives: int
    grad_norm: float
    ema_decay: float


@dataclass
class AuthorsTrajectory:
    """The fixture's start, inputs and log, as arrays (see the module docstring)."""

    folder: Path
    heads: dict[str, np.ndarray]
    queue0: np.ndarray                 # dim x K, column 0 the newest (the authors' layout)
    ids: np.ndarray
    mask: np.ndarray
    token_type: np.ndarray
    log: dict[str, dict[str, Any]]
    config: Config = field(default_factory=lambda: trajectory_config())

    @classmethod
    def load(cls, data_dir: str | Path | None = None, encoder: str = "all-MiniLM-L6-v2") -> "AuthorsTrajectory":
        """Read the fixture from ``data_dir`` (else $MOCOSE_DATA); a missing file is an error."""
        folder = resolve_data_dir(data_dir) / FIXTURE
        missing = [name for name in FILES if not (folder / name).is_file()]
        if missing:
            raise FileNotFoundError(f"the authors' trajectory fixture {folder} lacks {', '.join(missing)}")
        with np.load(folder / "heads.npz") as z:
            heads = {k: z[k] for k in z.files}
        with np.load(folder / "queue0.npz") as z:
            queue0 = z["queue0"]
        with np.load(folder / "batches.npz") as z:
            ids, mask, token_type = z["ids"], z["mask"], z["token_type"]
        log = json.loads((folder / "authors_log.json").read_text())
        return cls(folder, heads, queue0, ids, mask, token_type, log, trajectory_config(encoder))

    @property
    def steps(self) -> int:
        return len(self.log["loss"])

    def batches(self, steps: int | None = None) -> Iterator[Batch]:
        """The first ``steps`` (all logged) batches in order: rows 64b .. 64b+63, no shuffling."""
        if np.any(self.token_type):
            raise ValueError("the fixture's token types are not all 0: the suite passes none")
        size = self.config.train.batch_size
        for b in range(self.steps if steps is None else steps):
            rows = slice(b * size, (b + 1) * size)
            yield Batch(torch.from_numpy(self.ids[rows].astype(np.int64)),
                        torch.from_numpy(self.mask[rows].astype(np.int64)))

    def build_model(self, device: str = "cpu") -> MoCoSE:
        """The suite's MoCoSE on the fixture's encoder, started from its heads and queue."""
        encoder, _ = encoders.load(self.config.model.encoder)
        torch.manual_seed(self.config.train.seed)
        model = build_model(encoder, self.config, torch.Generator().manual_seed(self.config.train.seed))
        model.load_heads(self.heads)
        model.queue.load(torch.from_numpy(self.queue0.T.copy()))
        return model.to(resolve_device(device))


def trajectory_config(encoder: str = "all-MiniLM-L6-v2") -> Config:
    """The ``cpu`` profile under ``--preset authors`` with the fixture's recipe on ``encoder``."""
    return apply_preset(load_profile("cpu"), "authors").override({**RECIPE, "encoder": encoder})


def replay(model: torch.nn.Module, config: Config, batches: Iterable[Batch], device: str | None = None,
           dropout: bool = False) -> Iterator[ReplayedStep]:
    """Train ``model`` on ``batches`` in order with the suite's step, yielding each step's figures.

    Dropout is off unless ``dropout`` (the fixture's model ran in eval mode); the optimizer is the
    suite's AdamW, the matmul precision the config's, and the encoder passes are compiled where the
    config's ``compile`` says (on CUDA by default). Steps count from 1.
    """
    device = resolve_device(device or str(next(model.parameters()).device))
    set_matmul_precision(config.train.matmul_precision)
    if compile_enabled(config, device):
        model.compile_encoder_passes()
    model.train(dropout)
    optimizer = build_optimizer(model, config)
    step_once = TrainStep(model, optimizer, config, total=0, device=device)
    for step, batch in enumerate(batches, start=1):
        out = step_once(step, batch.to(device))
        norm = float("nan") if out.grad_norm is None else float(out.grad_norm)
        yield ReplayedStep(step, float(out.loss), out.num_negatives, norm, out.ema_decay)


def mismatches(steps: Iterable[ReplayedStep], log: dict[str, dict[str, Any]],
               tolerance: Tolerance = Tolerance()) -> list[str]:
    """One line per step and quantity where ``steps`` and the log differ beyond ``tolerance``
    (and per logged step that was not replayed); empty when the trajectories agree."""
    problems: list[str] = []
    done = {s.step: s for s in steps}
    for key in sorted(log["loss"], key=int):
        s = done.get(int(key))
        if s is None:
            problems.append(f"step {key}: not replayed")
            continue
        want_loss, want_decay = float(log["loss"][key]), float(log["ema_decay"][key])
        want_norm, want_neg = float(log["grad_norm_total"][key]), int(log["n_neg"][key])
        if not abs(s.loss - want_loss) <= tolerance.loss:
            problems.append(f"step {key}: loss {s.loss:.7f}, the log's {want_loss:.7f}")
        if s.num_negatives != want_neg:
            problems.append(f"step {key}: {s.num_negatives} negatives, the log's {want_neg}")
        if not abs(s.ema_decay - want_decay) <= tolerance.ema_decay:
            problems.append(f"step {key}: EMA decay {s.ema_decay!r}, the log's {want_decay!r}")
        if not (math.isfinite(s.grad_norm) and abs(s.grad_norm - want_norm) <= tolerance.grad_norm * abs(want_norm)):
            problems.append(f"step {key}: gradient norm {s.grad_norm:.6g}, the log's {want_norm:.6g}")
    return problems


def largest_differences(steps: Iterable[ReplayedStep], log: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The largest |loss| and |EMA decay| differences, relative gradient-norm difference, and the
    steps whose number of negatives differs, over the replayed steps."""
    steps = list(steps)
    def rel(s: ReplayedStep) -> float:
        want = float(log["grad_norm_total"][str(s.step)])
        return abs(s.grad_norm - want) / abs(want)
    return {"loss": max(abs(s.loss - float(log["loss"][str(s.step)])) for s in steps),
            "ema_decay": max(abs(s.ema_decay - float(log["ema_decay"][str(s.step)])) for s in steps),
            "grad_norm_relative": max(rel(s) for s in steps),
            "negatives_differ_at": [s.step for s in steps if s.num_negatives != int(log["n_neg"][str(s.step)])]}


if __name__ == "__main__":  # python -m mocose.training.replay [--compile]: the figures of the check
    import sys

    fixture = AuthorsTrajectory.load()
    config = fixture.config.override({"compile": "on" if "--compile" in sys.argv else "off"})
    model = AuthorsTrajectory(**{**fixture.__dict__, "config": config}).build_model()
    replayed = list(replay(model, config, fixture.batches()))
    print(json.dumps({"steps": len(replayed), "last_loss": replayed[-1].loss,
                      **largest_differences(replayed, fixture.log),
                      "mismatches": mismatches(replayed, fixture.log)}, indent=1))
