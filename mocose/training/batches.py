"""Training batches: the sentences tokenised once, shuffled per epoch, padded per batch.

The order of batch ``s`` depends only on (seed, epoch), so a resumed run sees the batches the
killed one would have seen.
"""
from __future__ import annotations

import math

import torch

from ..config import Config
from ..model.batch import Batch


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


def batches_per_epoch(config: Config, num_sentences: int) -> int:
    """Batches in one pass over the data; ``drop_last`` (the authors' DataLoader) drops a partial one."""
    if config.train.drop_last:
        return num_sentences // config.train.batch_size
    return math.ceil(num_sentences / config.train.batch_size)


def total_steps(config: Config, num_sentences: int) -> int:
    steps = config.train.epochs * batches_per_epoch(config, num_sentences)
    return min(steps, config.train.max_steps) if config.train.max_steps else steps
