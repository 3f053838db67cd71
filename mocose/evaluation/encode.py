"""Sentence embeddings from a Hugging Face encoder, fast and with SentEval-identical vectors.

Speed comes from work avoided, not from changing the numbers: each distinct sentence is encoded
once per encoder (a cache keyed by sentence), all new sentences are tokenized in one call and
batched in order of token length (so padding is minimal), padding is per batch, and the forward
runs under ``torch.inference_mode()``. Poolers follow SimCSE's ``evaluation.py``.
"""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Iterable

import numpy as np
import torch

from ..config import POOLERS, ConfigError
from ..device import resolve_device

# Poolers that need every layer's hidden states.
_NEEDS_HIDDEN = {"avg_first_last", "avg_top2"}

# Token ids of the sentences tokenized in this process, per (tokenizer definition, length limit):
# a sweep's job process evaluates run after run on the same STS sentences with tokenizers that are
# copies of one another (each checkpoint saves its own), so tokenizing them once is enough.
_TOKEN_IDS: OrderedDict[tuple[str, int], dict[str, np.ndarray]] = OrderedDict()
TOKEN_CACHE_TOKENIZERS = 2  # definitions kept, least recently used dropped first


def tokenizer_fingerprint(tokenizer) -> str | None:
    """A hash of what a fast tokenizer does to text: its backend's definition (less the truncation
    and padding a call sets) and the settings the Python object adds (which side truncation cuts,
    whether special tokens written in the text are split); None for a tokenizer without a backend
    (nothing is cached for it)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    spec = json.loads(backend.to_str())
    spec.pop("truncation", None)
    spec.pop("padding", None)
    spec["python side"] = {"truncation_side": getattr(tokenizer, "truncation_side", "right"),
                           "split_special_tokens": bool(getattr(tokenizer, "split_special_tokens", False))}
    return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _frozen(ids: list[int]) -> np.ndarray:
    array = np.asarray(ids, dtype=np.int32)  # vocabularies are far below 2**31; half of int64's memory
    array.setflags(write=False)  # shared by every later caller: nobody may edit it
    return array


def token_ids(tokenizer, sentences: list[str], max_length: int, fingerprint: str | None) -> list:
    """Each sentence's token ids (special tokens added, truncated to ``max_length``), tokenizing
    only the sentences this process has not tokenized with an identical tokenizer before."""
    def tokenize(texts: list[str]) -> list:
        return tokenizer(texts, add_special_tokens=True, truncation=True, max_length=max_length,
                         return_attention_mask=False, return_token_type_ids=False)["input_ids"]

    if fingerprint is None:
        return tokenize(sentences)
    key = (fingerprint, max_length)
    known = _TOKEN_IDS.setdefault(key, {})
    _TOKEN_IDS.move_to_end(key)
    while len(_TOKEN_IDS) > TOKEN_CACHE_TOKENIZERS:
        _TOKEN_IDS.popitem(last=False)
    new = [s for s in sentences if s not in known]
    if new:
        known.update(zip(new, map(_frozen, tokenize(new))))
    return [known[s] for s in sentences]


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the non-padding tokens: SimCSE's ``(h * m).sum(1) / m.sum(-1)``."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / mask.sum(-1, keepdim=True).to(hidden.dtype)


def pool(outputs, attention_mask: torch.Tensor, pooler: str) -> torch.Tensor:
    """Sentence vectors from a BertModel-like output, as SimCSE's evaluation defines each pooler.

    cls_before_pooler: last layer's [CLS]; cls: the BERT pooler output (Linear + tanh over [CLS]);
    avg: mean of the last layer; avg_first_last: mean of (first transformer layer + last layer)/2,
    i.e. ``hidden_states[1]`` and ``hidden_states[-1]`` as SimCSE's current evaluation.py;
    avg_top2: mean of (last two layers)/2.
    """
    if pooler == "cls_before_pooler":
        return outputs.last_hidden_state[:, 0]
    if pooler == "cls":
        if getattr(outputs, "pooler_output", None) is None:
            raise ConfigError("pooler 'cls' needs an encoder with a pooler layer (BERT's); this one "
                              "has none: use cls_before_pooler or avg")
        return outputs.pooler_output
    if pooler == "avg":
        return masked_mean(outputs.last_hidden_state, attention_mask)
    if pooler == "avg_first_last":
        hs = outputs.hidden_states
        return masked_mean((hs[1] + hs[-1]) / 2.0, attention_mask)
    if pooler == "avg_top2":
        hs = outputs.hidden_states
        return masked_mean((hs[-1] + hs[-2]) / 2.0, attention_mask)
    raise ConfigError(f"pooler={pooler!r} is not allowed: pooler must be one of {', '.join(POOLERS)}")


def padded_batches(tokenizer, sentences: list[str], max_length: int, batch_size: int,
                   fingerprint: str | None = None) -> list[tuple[np.ndarray, dict[str, torch.Tensor]]]:
    """The sentences as the encoder feeds them: sorted longest first (stable), ``batch_size`` at a
    time, each batch padded to its own longest sentence on the tokenizer's padding side; per batch
    the sentences' indices and the CPU tensors (``input_ids``, ``attention_mask`` and, where the
    tokenizer has them, zero ``token_type_ids``)."""
    ids = token_ids(tokenizer, sentences, max_length, fingerprint)
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    order = np.argsort(-lengths, kind="stable")  # longest first: memory peaks show at once
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    left = getattr(tokenizer, "padding_side", "right") == "left"
    wants_types = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
    out = []
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        width = int(lengths[batch].max())
        input_ids = np.full((len(batch), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, j in enumerate(batch):
            n = lengths[j]
            sl = slice(width - n, width) if left else slice(0, n)
            input_ids[row, sl] = ids[j]
            mask[row, sl] = 1
        inputs = {"input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(mask)}
        if wants_types:
            inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
        out.append((batch, inputs))
    return out


def max_length_of(model, tokenizer) -> int:
    """The longest input both the tokenizer and the model's position table allow."""
    limits = [getattr(tokenizer, "model_max_length", None),
              getattr(getattr(model, "config", None), "max_position_embeddings", None)]
    return min(int(x) for x in limits if isinstance(x, (int, float)) and 0 < x < 1e9)


class SentenceEncoder:
    """Encode sentences with ``model`` (a transformers AutoModel) and ``tokenizer``.

    The cache is keyed by sentence; it is dropped automatically when the model's parameters change
    through ordinary in-place updates (optimizer steps, ``load_state_dict``), detected by their
    version counters, and by hand with :meth:`clear_cache` (needed only after ``p.data`` edits).
    A model on the CPU is moved to ``device``; a model on an accelerator must be given its own
    device (the encoder never moves a training model off its GPU).
    Sentences longer than the model's maximum length are truncated to it (SentEval's batcher would
    fail on them instead); nothing shorter is cut.
    """

    def __init__(self, model, tokenizer, pooler: str = "cls_before_pooler", batch_size: int = 128,
                 device: str | torch.device = "cpu", half: bool = False, progress: bool = False):
        if pooler not in POOLERS:
            raise ConfigError(f"pooler={pooler!r} is not allowed: pooler must be one of {', '.join(POOLERS)}")
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size!r} is not allowed: batch_size must be >= 1")
        self.device = torch.device(resolve_device(device))  # 'cuda' -> the current GPU, cuda:N
        if half and self.device.type != "cuda":
            raise ConfigError(f"half=True needs a CUDA device, not {self.device}: half precision is a GPU option")
        self.model = model
        self.tokenizer = tokenizer
        self.pooler = pooler
        self.batch_size = batch_size
        self.half = half
        self.progress = progress
        params = list(model.parameters())
        if params and params[0].device != self.device:
            if params[0].device.type != "cpu":  # never pull a (training) model off its accelerator
                raise ConfigError(f"the model lives on {params[0].device} but device={str(self.device)!r} was "
                                  f"asked: pass device={str(params[0].device)!r}")
            model.to(self.device)
        self.max_length = max_length_of(model, tokenizer)
        self._cache: dict[str, np.ndarray] = {}
        self._fingerprint = self._weights_fingerprint()
        self._tokenizer_seen: tuple = (None, None)  # (tokenizer, its fingerprint), taken at first use

    # -- cache -------------------------------------------------------------------------------
    def _weights_fingerprint(self) -> tuple:
        return tuple((id(p), p._version) for p in self.model.parameters())

    def clear_cache(self) -> None:
        """Forget every cached vector (call after changing the weights behind autograd's back)."""
        self._cache.clear()
        self._fingerprint = self._weights_fingerprint()

    @property
    def cache_size(self) -> int:
        return len(self._cache)

    # -- encoding ----------------------------------------------------------------------------
    def encode(self, sentences: Iterable[str], desc: str | None = None) -> np.ndarray:
        """float32 array [n, d], row i the embedding of ``sentences[i]``."""
        sentences = list(sentences)
        if self._weights_fingerprint() != self._fingerprint:
            self.clear_cache()
        new = [s for s in dict.fromkeys(sentences) if s not in self._cache]
        if new:
            self._encode_new(new, desc)
        if not sentences:
            dim = next(iter(self._cache.values())).shape[0] if self._cache else self.model.config.hidden_size
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack([self._cache[s] for s in sentences])

    def _encode_new(self, sentences: list[str], desc: str | None) -> None:
        tok = self.tokenizer
        if self._tokenizer_seen[0] is not tok:
            self._tokenizer_seen = (tok, tokenizer_fingerprint(tok))
        need_hidden = self.pooler in _NEEDS_HIDDEN
        batches = padded_batches(tok, sentences, self.max_length, self.batch_size, self._tokenizer_seen[1])
        bar = None
        if self.progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(sentences), desc=desc or "encode", unit="sent", leave=False)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for batch, cpu_inputs in batches:
                    inputs = {k: v.to(self.device) for k, v in cpu_inputs.items()}
                    with torch.autocast("cuda", dtype=torch.float16, enabled=self.half):
                        out = self.model(**inputs, output_hidden_states=need_hidden, return_dict=True)
                        vecs = pool(out, inputs["attention_mask"], self.pooler)
                    vecs = vecs.float().cpu().numpy()
                    for row, j in enumerate(batch):
                        self._cache[sentences[j]] = vecs[row]
                    if bar is not None:
                        bar.update(len(batch))
        finally:
            self.model.train(was_training)
            if bar is not None:
                bar.close()
