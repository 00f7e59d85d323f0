"""Tokenisation and batching: dynamic padding, length buckets for speed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Encoded:
    """Token ids of one example (unpadded) and its label."""

    input_ids: list[int]
    token_type_ids: list[int]
    label: int | float


def encode(tokenizer: Any, examples: Sequence[Any], max_seq_len: int) -> list[Encoded]:
    """Tokenise examples (pairs when ``text_b`` is set), truncated to ``max_seq_len`` tokens."""
    if not examples:
        return []
    texts_a = [e.text_a for e in examples]
    texts_b = [e.text_b for e in examples] if examples[0].text_b is not None else None
    out = tokenizer(
        texts_a, texts_b, truncation=True, max_length=max_seq_len, padding=False,
        return_token_type_ids=True, return_attention_mask=False,
    )
    return [
        Encoded(ids, types, e.label if isinstance(e.label, float) else int(e.label))
        for ids, types, e in zip(out["input_ids"], out["token_type_ids"], examples, strict=True)
    ]


def collate(items: Sequence[Encoded], pad_id: int, with_labels: bool = False) -> dict[str, torch.Tensor]:
    """Pad a group of encoded examples to the longest one."""
    width = max(len(i.input_ids) for i in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    types = torch.zeros((len(items), width), dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, item in enumerate(items):
        n = len(item.input_ids)
        ids[row, :n] = torch.tensor(item.input_ids)
        types[row, :n] = torch.tensor(item.token_type_ids)
        mask[row, :n] = 1
    batch = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    if with_labels and isinstance(items[0].label, tuple):  # a QA window: answer start and end tokens
        batch["start_positions"] = torch.tensor([i.label[0] for i in items], dtype=torch.long)
        batch["end_positions"] = torch.tensor([i.label[1] for i in items], dtype=torch.long)
    elif with_labels and isinstance(items[0].label, float):  # a regression target
        batch["labels"] = torch.tensor([i.label for i in items], dtype=torch.float32)
    elif with_labels:
        batch["labels"] = torch.tensor([i.label for i in items], dtype=torch.long)
    return batch


@dataclass(frozen=True)
class EvalBatch:
    """A padded batch and the positions of its examples in the original order."""

    inputs: dict[str, torch.Tensor]
    indices: list[int]

    @property
    def size(self) -> int:
        return len(self.indices)


def eval_batches(encoded: Sequence[Encoded], batch_size: int, pad_id: int) -> list[EvalBatch]:
    """Length-bucketed batches (sorted by length) so padding, and wasted compute, stay small."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].input_ids))
    batches = []
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batches.append(EvalBatch(collate([encoded[i] for i in idx], pad_id), idx))
    return batches


def train_batches(
    encoded: Sequence[Encoded], batch_size: int, pad_id: int, seed: int, group: int = 50
) -> list[dict[str, torch.Tensor]]:
    """Shuffled batches grouped by length: shuffle, sort within mega-batches of ``group``
    batches, then shuffle the batch order (as transformers' group_by_length does)."""
    rng = random.Random(seed)
    order = list(range(len(encoded)))
    rng.shuffle(order)
    mega = batch_size * group
    batches = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start : start + mega], key=lambda i: len(encoded[i].input_ids))
        for b in range(0, len(chunk), batch_size):
            batches.append(collate([encoded[i] for i in chunk[b : b + batch_size]], pad_id, with_labels=True))
    rng.shuffle(batches)
    return batches
