"""Embedding-level augmentations (docs/model.md, Augmentations), where the authors' code applies them.

They act on the word-embedding output (``inputs_embeds``, before the Hugging Face embedding layer
adds position and token-type embeddings, LayerNorm and dropout) and on ``position_ids``. The model
calls :class:`EmbeddingAugmenter` once per branch, each call drawing its own randomness::

    aug = EmbeddingAugmenter(cfg.augment)
    embeds, pos = aug(word_embeddings(input_ids), None, attention_mask, branch="online")
    out = encoder(inputs_embeds=embeds, position_ids=pos, attention_mask=attention_mask)

Order, as in the authors' ``MoCoSEEmbeddings.forward``: FGSM, then token cutoff, then feature
cutoff; position shuffle acts on the ids. Every operation is a batched tensor op.

Where this module departs from the authors' code, on purpose (each is written down here so a
reader of a result knows what was run):

- cutoff counts are ``round(prob * n)`` (half up) as docs/model.md says; the authors use
  ``max(1, int(prob * n))``. The two agree for token cutoff at prob 0.1, L 32 (3 positions) but not
  for feature cutoff on bert-base (h 768): prob 0.01 cuts 8 dimensions here, 7 there; prob 0.1
  cuts 77 here, 76 there. :func:`cut_count` is the one place that decides.
- position shuffle draws one permutation per sentence (docs/model.md). The authors' code permutes the
  rows of the ``position_ids`` it is given, and their model is given none, so it falls back to the
  ``[1, L]`` buffer: one permutation shared by the whole batch. ``shuffle_per_batch`` (config)
  or ``shuffle_positions(..., shared=True)`` reproduces that.
- FGSM keeps one previous gradient per branch. The authors keep a single global that every hook
  overwrites, so both branches add the sign of whichever branch's gradient arrived last;
  ``fgsm_shared_sign`` (config) reproduces that.
- the authors' embedding layer is never told it is evaluating (``sent_emb`` is commented out at
  the call), so their token/feature cutoff and position shuffle also act on evaluation batches
  (FGSM does not: under ``no_grad`` its hook cannot be registered). Whether the model calls this
  augmenter at evaluation is the model's decision (``augment_at_eval``, see
  :func:`mocose.model.eval_augment.evaluation_augmentation`); this class applies what it is asked to.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from mocose.config import AugmentConfig

BRANCHES = ("online", "target")
SHARED = "shared"  # the one FGSM sign slot of fgsm_shared_sign


def cut_count(prob: float, n: int) -> int:
    """How many of ``n`` positions (or dimensions) a cutoff of probability ``prob`` zeroes.

    ``round(prob * n)``, halves rounded up (``floor(prob * n + 0.5)``), as docs/model.md (Augmentations) says.
    The authors' code uses ``max(1, int(prob * n))``; see the module docstring for where it differs.
    """
    if prob <= 0 or n <= 0:
        return 0
    return min(n, int(math.floor(prob * n + 0.5)))


def _uniform(shape: tuple[int, ...], device: torch.device, generator: torch.Generator | None) -> Tensor:
    """Uniform noise drawn from ``generator`` (on its own device), delivered on ``device``."""
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def random_drop_mask(rows: int, n: int, k: int, device: torch.device,
                     generator: torch.Generator | None = None) -> Tensor:
    """Bool ``[rows, n]``, True at exactly ``k`` distinct random columns of each row (its own draw)."""
    drop = torch.zeros(rows, n, dtype=torch.bool, device=device)
    if k > 0:
        idx = _uniform((rows, n), device, generator).topk(k, dim=1).indices
        drop.scatter_(1, idx, True)
    return drop


def token_cutoff(embeds: Tensor, prob: float, generator: torch.Generator | None = None) -> Tensor:
    """Zero the whole embedding at ``cut_count(prob, L)`` distinct positions of each sentence.

    ``L`` is the padded length: as in the authors' code, padding positions may be drawn too.
    """
    b, length, _ = embeds.shape
    drop = random_drop_mask(b, length, cut_count(prob, length), embeds.device, generator)
    return embeds.masked_fill(drop[:, :, None], 0.0)


def feature_cutoff(embeds: Tensor, prob: float, generator: torch.Generator | None = None) -> Tensor:
    """Zero ``cut_count(prob, h)`` dimensions of each sentence, the same ones at all its positions."""
    b, _, hidden = embeds.shape
    drop = random_drop_mask(b, hidden, cut_count(prob, hidden), embeds.device, generator)
    return embeds.masked_fill(drop[:, None, :], 0.0)


def shuffle_positions(position_ids: Tensor | None, batch: int, length: int, device: torch.device,
                      generator: torch.Generator | None = None, shared: bool = False) -> Tensor:
    """``[batch, length]`` position ids, each row a random permutation of its own ids.

    ``position_ids`` None means ``0..length-1`` (the Hugging Face default); a ``[length]`` or
    ``[1, length]`` tensor is broadcast to every row. The permutation covers all padded positions,
    as the authors' does. ``shared=True`` draws one permutation for the whole batch (what the
    authors' code ends up doing, see the module docstring).
    """
    if position_ids is None:
        position_ids = torch.arange(length, device=device)
    position_ids = position_ids.to(device)
    if position_ids.dim() == 1:
        position_ids = position_ids[None]
    position_ids = position_ids.expand(batch, length)
    rows = 1 if shared else batch
    perm = _uniform((rows, length), device, generator).argsort(dim=1).expand(batch, length)
    return position_ids.gather(1, perm)


class EmbeddingAugmenter:
    """Applies the configured embedding-level augmentations to one branch's input.

    A plain object, not an ``nn.Module``: it owns no weights, and its one piece of state (the sign
    of each branch's previous gradient, for FGSM) belongs in the trainer's resumable checkpoint
    (:meth:`state_dict`), not in a saved encoder.

    FGSM: each call registers a hook on its branch's ``inputs_embeds`` (through a view, so a tensor
    shared by both branches still yields each branch's own gradient); the following backward pass
    stores ``sign(dL/d inputs_embeds)``; the next call of that branch adds ``epsilon * sign``.
    Nothing is added on the first call, after a shape change, or when the last forward of that
    branch got no gradient (the target branch with stop-gradient keys). A forward that cannot
    deliver a gradient (run under ``no_grad``, or on frozen embeddings) gets no FGSM step and
    leaves the stored sign as it was, as in the authors' code. The sign is
    unchanged by a positive loss scale, so AMP's scaled gradients give the same step.
    """

    def __init__(self, cfg: AugmentConfig, shared_permutation: bool | None = None) -> None:
        self.cfg = cfg
        self.shared_permutation = cfg.shuffle_per_batch if shared_permutation is None else shared_permutation
        self._sign: dict[str, Tensor | None] = {b: None for b in BRANCHES + (SHARED,)}
        self.reset_stats()

    # -- what is on --------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Any embedding-level augmentation on (the trainer then pads to max_length, as the authors)."""
        c = self.cfg
        return c.fgsm_epsilon > 0 or c.position_shuffle or c.token_cutoff > 0 or c.feature_cutoff > 0

    def applies_to(self, branch: str) -> bool:
        if branch not in BRANCHES:
            raise ValueError(f"branch={branch!r} is not allowed: branch must be one of {', '.join(BRANCHES)}")
        return self.active and not (branch == "target" and self.cfg.augment_online_only)

    # -- the augmentation --------------------------------------------------------------------------
    def __call__(self, inputs_embeds: Tensor, position_ids: Tensor | None,
                 attention_mask: Tensor | None = None, branch: str = "online",
                 generator: torch.Generator | None = None) -> tuple[Tensor, Tensor | None]:
        """(augmented ``inputs_embeds [B, L, h]``, ``position_ids`` ([B, L] when shuffled, else as given)).

        ``attention_mask`` is accepted for the model's convenience and not used: the authors'
        augmentations ignore padding (cutoff and shuffle draw from all padded positions).
        """
        if not self.applies_to(branch):
            return inputs_embeds, position_ids
        if inputs_embeds.dim() != 3:
            raise ValueError(f"inputs_embeds must be [batch, length, hidden], got shape {tuple(inputs_embeds.shape)}")
        c = self.cfg
        x = inputs_embeds
        if c.fgsm_epsilon > 0:
            x = self._fgsm(x, branch)
        if c.token_cutoff > 0:
            x = token_cutoff(x, c.token_cutoff, generator)
        if c.feature_cutoff > 0:
            x = feature_cutoff(x, c.feature_cutoff, generator)
        if c.position_shuffle:
            b, length, _ = x.shape
            position_ids = shuffle_positions(position_ids, b, length, x.device, generator,
                                             shared=self.shared_permutation)
        return x, position_ids

    def _fgsm(self, x: Tensor, branch: str) -> Tensor:
        if not (torch.is_grad_enabled() and x.requires_grad):
            # as in the authors' code: a forward that cannot deliver a gradient (no_grad, frozen
            # embeddings) gets no FGSM step and leaves the stored sign for the next training call
            self._skipped[branch] += 1
            return x
        x = x.view_as(x)  # this branch's own autograd node: its hook sees only this branch's gradient
        shared = self.cfg.fgsm_shared_sign
        slot = SHARED if shared else branch
        sign = self._sign[slot]
        out = x
        if sign is not None and tuple(sign.shape) == tuple(x.shape):
            step = sign.to(device=x.device, dtype=x.dtype)
            out = x + self.cfg.fgsm_epsilon * step
            with torch.no_grad():
                changed = (out != x).float().mean()
                attempted = (step != 0).float().mean()
                # |x' - x| / |x| over entries x != 0, x' - x as the dtype rounds it (exact: Sterbenz)
                relative = ((out - x).abs() / x.abs()).masked_fill(x == 0, 0.0).max().float()
            self._record(branch, changed, attempted, relative)
        else:
            self._skipped[branch] += 1
        if not shared:  # only the coming backward's gradient may be used next call
            self._sign[slot] = None
        # shared (authors): both branches read one global that each hook overwrites, never cleared
        x.register_hook(self._hook(slot))
        return out

    def _hook(self, branch: str):
        def store(grad: Tensor) -> None:
            self._sign[branch] = grad.detach().sign().to(torch.int8)
        return store

    # -- FGSM diagnostics --------------------------------------------------------------------------
    def _record(self, branch: str, changed: Tensor, attempted: Tensor, relative: Tensor) -> None:
        # kept as tensors on the embeddings' device: no host sync per step
        self._changed[branch] = changed if self._changed[branch] is None else self._changed[branch] + changed
        self._attempted[branch] = (attempted if self._attempted[branch] is None
                                   else self._attempted[branch] + attempted)
        self._max_relative[branch] = (relative if self._max_relative[branch] is None
                                      else torch.maximum(self._max_relative[branch], relative))
        self._applied[branch] += 1

    def reset_stats(self) -> None:
        """Start the FGSM averages afresh (e.g. at each validation)."""
        self._changed: dict[str, Tensor | None] = {b: None for b in BRANCHES}
        self._attempted: dict[str, Tensor | None] = {b: None for b in BRANCHES}
        self._max_relative: dict[str, Tensor | None] = {b: None for b in BRANCHES}
        self._applied: dict[str, int] = {b: 0 for b in BRANCHES}
        self._skipped: dict[str, int] = {b: 0 for b in BRANCHES}

    def stats(self) -> dict[str, float]:
        """FGSM diagnostics since the last :meth:`reset_stats`, averaged over the calls that applied it.

        ``fgsm_changed_fraction``: mean fraction of embedding entries whose value actually changed
        (computed in the embeddings' dtype, fp32 in training: at epsilon 5e-9 most entries of size
        1e-2..1e-1 do not move). ``fgsm_attempted_fraction``: fraction with a non-zero gradient sign
        (padding and cut-off positions get none). ``fgsm_applied_steps`` / ``fgsm_skipped_steps``:
        branch-calls that added / could not add a step (first step, shape change, no gradient).
        ``fgsm_max_relative_change``: the largest ``|x' - x| / |x|`` over every entry with
        ``x != 0`` of every applied call, ``x' - x`` the change as the dtype rounds it (entries
        near 0 move by the whole epsilon, entries of 0.05 by 0 or one float32 step).
        The same figures per branch carry a ``_online`` / ``_target`` suffix.
        """
        if self.cfg.fgsm_epsilon <= 0:
            return {}
        out: dict[str, float] = {}
        tot_changed = tot_attempted = 0.0
        relatives = []
        for b in BRANCHES:
            n = self._applied[b]
            ch = float(self._changed[b]) if self._changed[b] is not None else 0.0
            at = float(self._attempted[b]) if self._attempted[b] is not None else 0.0
            rel = float(self._max_relative[b]) if self._max_relative[b] is not None else float("nan")
            tot_changed += ch
            tot_attempted += at
            relatives += [rel] if n else []
            out[f"fgsm_changed_fraction_{b}"] = ch / n if n else float("nan")
            out[f"fgsm_attempted_fraction_{b}"] = at / n if n else float("nan")
            out[f"fgsm_max_relative_change_{b}"] = rel
            out[f"fgsm_applied_steps_{b}"] = n
            out[f"fgsm_skipped_steps_{b}"] = self._skipped[b]
        n_all = sum(self._applied.values())
        out["fgsm_changed_fraction"] = tot_changed / n_all if n_all else float("nan")
        out["fgsm_attempted_fraction"] = tot_attempted / n_all if n_all else float("nan")
        out["fgsm_max_relative_change"] = max(relatives) if relatives else float("nan")
        out["fgsm_applied_steps"] = n_all
        out["fgsm_skipped_steps"] = sum(self._skipped.values())
        return out

    # -- checkpointing -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The previous-gradient signs (int8, on CPU), so FGSM continues across a resume."""
        return {"fgsm_sign": {b: (s.cpu() if s is not None else None) for b, s in self._sign.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        signs = state.get("fgsm_sign", {})
        slots = BRANCHES + (SHARED,)
        unknown = set(signs) - set(slots)
        if unknown:
            raise ValueError(f"unknown branch(es) {sorted(unknown)} in augmenter state; "
                             f"known: {', '.join(slots)}")
        self._sign = {b: (signs[b].to(torch.int8) if signs.get(b) is not None else None)
                      for b in slots}
