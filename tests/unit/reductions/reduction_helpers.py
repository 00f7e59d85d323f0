"""Tiny random BERTs, hand-made batches and a fake tokenizer for the reduction tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification

VOCAB, CLS, SEP, PAD = 100, 2, 3, 0
LAYERS = 4


def tiny_bert(seed: int = 0, layers: int = LAYERS) -> BertForSequenceClassification:
    """A 4-layer, 32-wide random BERT classifier with two labels, in eval mode."""
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=layers, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=64, num_labels=2, pad_token_id=PAD,
    )
    return BertForSequenceClassification(config).eval()


def make_batch(lengths: Sequence[int], width: int | None = None, seed: int = 0) -> dict[str, torch.Tensor]:
    """Right-padded inputs: [CLS] random tokens [SEP], then padding up to the longest."""
    gen = torch.Generator().manual_seed(seed)
    width = width or max(lengths)
    ids = torch.full((len(lengths), width), PAD, dtype=torch.long)
    mask = torch.zeros((len(lengths), width), dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(5, VOCAB, (n,), generator=gen)
        ids[row, 0], ids[row, n - 1] = CLS, SEP
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def logits_of(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Logits of ``model(**batch)`` whether it returns a tensor or an output object."""
    with torch.inference_mode():
        out = model(**batch)
    return out if isinstance(out, torch.Tensor) else out.logits


class LayerCalls:
    """Forward hooks recording the input shape of every call of each encoder layer.

    Hooks sit on each layer's feed-forward block, which every way of running a layer goes
    through (the stock ``BertLayer.forward`` and token pruning's explicit attention alike).
    """

    def __init__(self, layers: Sequence[nn.Module]) -> None:
        self.shapes: list[list[tuple[int, ...]]] = [[] for _ in layers]
        self._handles = [
            layer.intermediate.register_forward_hook(self._hook(i)) for i, layer in enumerate(layers)
        ]

    def _hook(self, index: int) -> Callable:
        def hook(module: nn.Module, args: tuple, output: object) -> None:
            self.shapes[index].append(tuple(args[0].shape))
        return hook

    def calls(self) -> list[int]:
        return [len(s) for s in self.shapes]


@dataclass
class FakeExample:
    text_a: str
    text_b: str | None
    label: int


class FakeTokenizer:
    """Maps words to ids by hash: enough for ``encode`` (no vocabulary files needed)."""

    pad_token_id = PAD

    def __call__(self, texts_a: list[str], texts_b: list[str] | None = None, truncation: bool = True,
                 max_length: int = 128, **_: object) -> dict[str, list[list[int]]]:
        ids = [[CLS, *[5 + sum(map(ord, w)) % (VOCAB - 5) for w in t.split()], SEP][:max_length] for t in texts_a]
        return {"input_ids": ids, "token_type_ids": [[0] * len(i) for i in ids]}


def fake_examples(n: int = 64, seed: int = 0) -> list[FakeExample]:
    """A learnable toy task: label 1 iff the word 'good' appears."""
    gen = torch.Generator().manual_seed(seed)
    words = [f"w{i}" for i in range(30)]
    out = []
    for i in range(n):
        picked = [words[j] for j in torch.randint(0, len(words), (int(torch.randint(3, 10, (1,), generator=gen)),),
                                                  generator=gen).tolist()]
        label = i % 2
        if label:
            picked.insert(int(torch.randint(0, len(picked), (1,), generator=gen)), "good")
        out.append(FakeExample(" ".join(picked), None, label))
    return out
