"""Importance of every head, FFN unit and FFN block.

Gradient importance (Michel et al. 2019, as used by Prasanna et al. 2020): put a gate ``g = 1``
on each head's context and each FFN unit's activation (:mod:`.gates`), and average
``|dL/dg|`` over examples. Gates are per example, so one backward pass over a batch whose loss is
*summed* yields each example's own gradient, the quantity in Michel et al.'s definition
(their code takes ``|.|`` of the batch sum instead). A layer's FFN *block* gate multiplies the
whole block's output apart from its bias; its gradient is the sum of that layer's unit-gate
gradients, so blocks are scored from the same pass. Head scores (and unit scores) are then
normalised within each layer by their L2 norm, as Michel et al. do, so that one global ranking
across layers is meaningful.

Magnitude importance is the cheap alternative: the L2 norm of the weights a head or unit owns.

Removed heads and units score 0. Scoring runs the model in eval mode (no dropout), so for fixed
data it is deterministic. The loss is the head's own (:func:`joulebench.tasks.kinds.supervised_loss`):
cross-entropy of the class, or of a QA window's answer start and end tokens; "accuracy" is then the
share of windows whose start and end are both right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from joulebench.models.families import family_of
from joulebench.reductions.structured.gates import GateSet, gated
from joulebench.reductions.structured.layers import encoder_layers, geometry
from joulebench.reductions.structured.mask import StructureMask
from joulebench.tasks.kinds import batch_inputs, batch_size_of, supervised_loss

METHODS = ("gradient", "magnitude")


@dataclass(frozen=True)
class Importance:
    """Scores of a model's structures (higher = more important).

    Attributes:
        heads: (layers, heads).
        ffn: (layers, intermediate_size), one per FFN unit.
        ffn_blocks: (layers,), one per layer's whole FFN block.
        method: "gradient" or "magnitude".
        n_examples: examples the scores were averaged over (0 for magnitude).
        normalized: whether heads/units were normalised per layer.
    """

    heads: torch.Tensor
    ffn: torch.Tensor
    ffn_blocks: torch.Tensor
    method: str
    n_examples: int = 0
    normalized: bool = True

    def to_json(self) -> dict:
        """Scores as nested lists (rounded), for files and printing."""
        return {
            "method": self.method, "n_examples": self.n_examples, "normalized": self.normalized,
            "heads": [[round(float(v), 6) for v in row] for row in self.heads],
            "ffn_blocks": [round(float(v), 6) for v in self.ffn_blocks],
            "ffn": [[round(float(v), 6) for v in row] for row in self.ffn],
        }


@dataclass(frozen=True)
class Scored:
    """Importance of a (gated) model plus its accuracy on the scoring examples."""

    importance: Importance
    accuracy: float | None
    n_examples: int


def normalize_per_layer(scores: torch.Tensor) -> torch.Tensor:
    """Divide each row by its L2 norm (rows of zeros stay zero)."""
    return scores / (scores.norm(dim=-1, keepdim=True) + 1e-20)


def _finish(heads: torch.Tensor, ffn: torch.Tensor, blocks: torch.Tensor, mask: StructureMask, method: str,
            n: int, normalize: bool) -> Importance:
    heads = heads.masked_fill(~mask.heads, 0.0)
    ffn = ffn.masked_fill(~mask.ffn, 0.0)
    blocks = blocks.masked_fill(~mask.ffn.any(dim=1), 0.0)
    if normalize:
        heads, ffn = normalize_per_layer(heads), normalize_per_layer(ffn)
    return Importance(heads, ffn, blocks, method, n, normalize)


def gradient_importance(
    model: nn.Module,
    batches: Sequence[dict[str, torch.Tensor]],
    mask: StructureMask | None = None,
    normalize: bool = True,
    device: str = "cpu",
) -> Scored:
    """Gate-gradient importance of ``model`` with ``mask`` applied, and its accuracy.

    Args:
        model: a dense (not compacted) BERT-layout classifier or span model; its weights are not changed.
        batches: padded batches with targets (see :func:`.data.labelled_batches`).
        mask: structures already removed (gated to 0); None = the dense model.
        normalize: normalise head and unit scores per layer (L2).
        device: where to run.

    Returns:
        Scores averaged over the examples, and the gated model's accuracy on them.
    """
    geo = geometry(model)
    mask = mask or StructureMask.full(geo)
    mask.check_fits(geo)
    layers = len(encoder_layers(model))
    heads = torch.zeros(layers, geo.num_heads, dtype=torch.float64)
    units = torch.zeros(layers, geo.intermediate_size, dtype=torch.float64)
    blocks = torch.zeros(layers, dtype=torch.float64)
    correct = n = 0
    was_training = model.training
    flags = [p.requires_grad for p in model.parameters()]
    model.to(device).eval()
    for p in model.parameters():  # gradients flow to the gates only: no weight gradients computed
        p.requires_grad_(False)
    head_mask = mask.heads.to(device=device, dtype=torch.float32)
    ffn_mask = mask.ffn.to(device=device, dtype=torch.float32)
    gates = GateSet(layers)
    try:
        with gated(model, gates), torch.enable_grad():
            for batch in batches:
                inputs, size = batch_inputs(batch, device), batch_size_of(batch)
                head_gate = head_mask.expand(size, -1, -1).clone().requires_grad_(True)
                ffn_gate = ffn_mask.expand(size, -1, -1).clone().requires_grad_(True)
                for layer in range(layers):
                    gates.heads[layer] = head_gate[:, layer]
                    gates.ffn[layer] = ffn_gate[:, layer]
                loss, right = supervised_loss(model(**inputs), batch)
                loss.backward()
                head_grad, ffn_grad = head_gate.grad, ffn_gate.grad
                assert head_grad is not None and ffn_grad is not None  # both gates require grad
                heads += head_grad.abs().sum(0).double().cpu()
                units += ffn_grad.abs().sum(0).double().cpu()
                blocks += (ffn_grad * ffn_mask).sum(-1).abs().sum(0).double().cpu()
                correct += right
                n += size
    finally:
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)
        model.train(was_training)
    if n == 0:
        raise ValueError("gradient importance needs at least one example")
    importance = _finish((heads / n).float(), (units / n).float(), (blocks / n).float(), mask, "gradient", n,
                         normalize)
    return Scored(importance, correct / n, n)


@torch.no_grad()
def masked_accuracy(model: nn.Module, batches: Sequence[dict[str, torch.Tensor]], mask: StructureMask,
                    device: str = "cpu") -> float:
    """Accuracy of ``model`` with ``mask``'s structures gated to 0."""
    from joulebench.reductions.structured.gates import masked

    was_training = model.training
    model.to(device).eval()
    correct = n = 0
    try:
        with masked(model, mask):
            for batch in batches:
                correct += supervised_loss(model(**batch_inputs(batch, device)), batch)[1]
                n += batch_size_of(batch)
    finally:
        model.train(was_training)
    return correct / max(n, 1)


@torch.no_grad()
def magnitude_importance(model: nn.Module, mask: StructureMask | None = None, normalize: bool = True) -> Importance:
    """L2 norm of the weights each head and FFN unit owns (Q/K/V rows and output-projection
    columns; first-dense row and second-dense column); a block's score is the norm over its
    remaining units."""
    geo = geometry(model)
    mask = mask or StructureMask.full(geo)
    mask.check_fits(geo)
    head_rows, unit_rows = [], []
    family = family_of(model)
    d = geo.head_size
    for layer in encoder_layers(model):
        parts = family.attention_parts(layer, model.config)
        assert parts is not None  # scored on the dense model
        qkv = sum(linear.weight.view(blocks, geo.num_heads, d, -1).pow(2).sum((0, 2, 3))
                  for linear, blocks in parts.projections)
        out = parts.out.weight.view(-1, geo.num_heads, d).pow(2).sum((0, 2))
        head_rows.append((qkv + out).sqrt())
        ffn = family.ffn_parts(layer)
        w1 = ffn.inp.weight.view(ffn.blocks, geo.intermediate_size, -1).pow(2).sum((0, 2))
        w2 = ffn.out.weight.pow(2).sum(0)
        unit_rows.append((w1 + w2).sqrt())
    heads = torch.stack(head_rows).float()
    units = torch.stack(unit_rows).float()
    blocks = (units.pow(2) * mask.ffn).sum(1).sqrt()
    return _finish(heads, units, blocks, mask, "magnitude", 0, normalize)
