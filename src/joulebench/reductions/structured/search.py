"""Iterative structured pruning with a stopping rule, and subnetworks of equal size.

Prasanna et al. (2020), following Michel et al. (2019): score, remove the least important 10 % of
heads and one FFN block, re-score the smaller model, and repeat while the score on held-out data
stays at or above ``stop_fraction`` (0.9) times the full model's; keep the last mask that did.
Their code then refines with heads-only steps of half the size and FFN-only steps, each again
until the rule fails; ``refine=True`` does the same. Without a stopping rule the search removes
until the size targets (``max_heads_removed``, ``max_ffn_removed``) are reached.

The search is a pure function of a *scorer* ``mask -> Scored`` (importance of the model with
``mask`` applied, plus its accuracy), so it is tested on constructed cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from joulebench.reductions.structured.importance import Importance, Scored
from joulebench.reductions.structured.mask import StructureMask

Scorer = Callable[[StructureMask], Scored]

GRANULARITIES = ("neuron", "block")
VARIANTS = ("good", "bad", "random")


@dataclass(frozen=True)
class SearchPlan:
    """How much to remove per step, and when to stop.

    Attributes:
        heads_per_step: heads removed per step (Prasanna: 10 % of all heads).
        ffn_per_step: FFN blocks (``granularity="block"``) or units (``"neuron"``) per step.
        max_heads_removed: heads to remove in all (target, or cap under a stopping rule).
        max_ffn_removed: FFN blocks or units to remove in all, in the granularity's unit.
        granularity: "block" removes whole FFN blocks, "neuron" single FFN units.
        stop_fraction: stop when accuracy < stop_fraction * full accuracy (None: size targets only).
        refine: under a stopping rule, follow the joint phase with heads-only (half steps) and
            FFN-only phases, as Prasanna et al.'s code does.
    """

    heads_per_step: int
    ffn_per_step: int
    max_heads_removed: int
    max_ffn_removed: int
    granularity: str = "block"
    stop_fraction: float | None = 0.9
    refine: bool = True

    def __post_init__(self) -> None:
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"granularity must be one of {GRANULARITIES}, got {self.granularity!r}")
        if min(self.heads_per_step, self.ffn_per_step, self.max_heads_removed, self.max_ffn_removed) < 0:
            raise ValueError("steps and targets must be >= 0")


@dataclass(frozen=True)
class SearchResult:
    """The mask found and how it was found.

    Attributes:
        mask: the last mask accepted.
        full_accuracy: accuracy of the unpruned model on the scoring data.
        accuracy: accuracy of ``mask``'s model on the scoring data.
        threshold: ``stop_fraction * full_accuracy`` (None without a stopping rule).
        initial: importance of the unpruned model (used to build the bad and random variants).
        trace: one entry per scored candidate (phase, sizes, accuracy, accepted).
    """

    mask: StructureMask
    full_accuracy: float | None
    accuracy: float | None
    threshold: float | None
    initial: Importance
    trace: list[dict] = field(default_factory=list)


def _ffn_removed(mask: StructureMask, granularity: str) -> int:
    if granularity == "block":
        return mask.num_layers - mask.n_ffn_blocks_kept
    return int(mask.ffn.numel()) - mask.n_ffn_kept


def _lowest(scores: torch.Tensor, kept: torch.Tensor, n: int) -> torch.Tensor:
    """Flat indices of the ``n`` lowest-scoring kept entries (ties: lowest index first)."""
    flat_scores, flat_kept = scores.flatten(), kept.flatten()
    candidates = flat_kept.nonzero().flatten()
    order = torch.sort(flat_scores[candidates], stable=True).indices
    return candidates[order[:n]]


def prune_step(mask: StructureMask, importance: Importance, n_heads: int, n_ffn: int,
               granularity: str) -> StructureMask:
    """Remove the ``n_heads`` least important kept heads and ``n_ffn`` least important kept FFN
    blocks or units (global ranking over layers)."""
    heads, ffn = mask.heads.clone(), mask.ffn.clone()
    if n_heads:
        heads.view(-1)[_lowest(importance.heads, mask.heads, n_heads)] = False
    if n_ffn:
        if granularity == "block":
            for layer in _lowest(importance.ffn_blocks, mask.ffn.any(dim=1), n_ffn).tolist():
                ffn[layer] = False
        else:
            ffn.view(-1)[_lowest(importance.ffn, mask.ffn, n_ffn)] = False
    return StructureMask(heads, ffn, dict(mask.meta))


def _entry(phase: str, mask: StructureMask, scored: Scored, accepted: bool) -> dict:
    return {"phase": phase, "heads_kept": mask.n_heads_kept, "ffn_units_kept": mask.n_ffn_kept,
            "ffn_blocks_kept": mask.n_ffn_blocks_kept,
            "accuracy": None if scored.accuracy is None else round(scored.accuracy, 6), "accepted": accepted}


def iterative_prune(scorer: Scorer, start: StructureMask, plan: SearchPlan) -> SearchResult:
    """Remove structures step by step, re-scoring after each step, until the plan says stop.

    Args:
        scorer: importance and accuracy of the model with a given mask applied.
        start: the starting mask (usually everything kept).
        plan: step sizes, targets and stopping rule.

    Returns:
        The last accepted mask (a candidate that breaks the stopping rule is never returned).
    """
    scored = scorer(start)
    initial, full = scored.importance, scored.accuracy
    threshold = None
    if plan.stop_fraction is not None:
        if full is None:
            raise ValueError("a stopping rule needs a scorer that reports accuracy")
        threshold = plan.stop_fraction * full
    mask, trace = start, [_entry("start", start, scored, True)]
    phases = [("joint", plan.heads_per_step, plan.ffn_per_step)]
    if plan.stop_fraction is not None and plan.refine:
        phases += [("heads", max(1, plan.heads_per_step // 2) if plan.heads_per_step else 0, 0),
                   ("ffn", 0, plan.ffn_per_step)]
    base_heads = start.heads.numel() - start.n_heads_kept
    base_ffn = _ffn_removed(start, plan.granularity)
    for phase, head_step, ffn_step in phases:
        while True:
            heads_left = plan.max_heads_removed - (mask.heads.numel() - mask.n_heads_kept - base_heads)
            ffn_left = plan.max_ffn_removed - (_ffn_removed(mask, plan.granularity) - base_ffn)
            n_heads = max(0, min(head_step, heads_left, mask.n_heads_kept))
            n_ffn = max(0, min(ffn_step, ffn_left))
            if n_heads == 0 and n_ffn == 0:
                break
            candidate = prune_step(mask, scored.importance, n_heads, n_ffn, plan.granularity)
            if candidate.equals(mask):
                break
            cand_scored = scorer(candidate)
            ok = threshold is None or (cand_scored.accuracy is not None and cand_scored.accuracy >= threshold)
            trace.append(_entry(phase, candidate, cand_scored, ok))
            if not ok:
                break
            mask, scored = candidate, cand_scored
    return SearchResult(mask, full, scored.accuracy, threshold, initial, trace)


def _keep_extreme(scores: torch.Tensor, n: int, most: bool) -> torch.Tensor:
    """Bool mask keeping the ``n`` highest (``most``) or lowest scores; ties by lowest index."""
    flat = scores.flatten()
    order = torch.sort(-flat if most else flat, stable=True).indices
    keep = torch.zeros_like(flat, dtype=torch.bool)
    keep[order[:n]] = True
    return keep.view_as(scores)


def _random_keep(shape: tuple[int, ...], n: int, generator: torch.Generator) -> torch.Tensor:
    numel = 1
    for size in shape:
        numel *= size
    keep = torch.zeros(numel, dtype=torch.bool)
    keep[torch.randperm(numel, generator=generator)[:n]] = True
    return keep.view(shape)


def is_block_mask(mask: StructureMask) -> bool:
    """Every layer's FFN is either whole or gone."""
    return bool(((mask.ffn.all(dim=1)) | (~mask.ffn.any(dim=1))).all())


def variant_mask(variant: str, good: StructureMask, importance: Importance | None, granularity: str,
                 seed: int) -> StructureMask:
    """A subnetwork of the same size as ``good``.

    Args:
        variant: "good" returns ``good``; "bad" keeps the *least* important heads and FFN blocks or
            units by ``importance`` (global ranking); "random" keeps a seeded uniformly random set.
        good: the mask whose size (heads kept, FFN blocks or units kept) is matched.
        importance: usually the unpruned model's scores (``SearchResult.initial``); needed by "bad".
        granularity: "block" picks whole FFN blocks (``good`` must be a block mask), "neuron" units.
        seed: for "random".

    Raises:
        ValueError: unknown variant, or a block variant of a mask with partial FFN blocks.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    meta = {**good.meta, "variant": variant}
    if variant == "good":
        return good.with_meta(variant="good")
    if granularity == "block" and not is_block_mask(good):
        raise ValueError("ffn granularity 'block' needs a mask whose FFN blocks are whole or gone; use 'neuron'")
    if variant == "bad" and importance is None:
        raise ValueError("the bad variant ranks by importance scores, and none were computed")
    n_heads = good.n_heads_kept
    generator = torch.Generator().manual_seed(int(seed))
    layers, intermediate = good.ffn.shape
    if variant == "bad":
        assert importance is not None
        heads = _keep_extreme(importance.heads, n_heads, most=False)
    else:
        heads = _random_keep(tuple(good.heads.shape), n_heads, generator)
    if granularity == "block":
        n_blocks = good.n_ffn_blocks_kept
        if variant == "bad":
            assert importance is not None
            rows = _keep_extreme(importance.ffn_blocks, n_blocks, most=False)
        else:
            rows = _random_keep((layers,), n_blocks, generator)
        ffn = rows[:, None].expand(layers, intermediate).clone()
    elif variant == "bad":
        assert importance is not None
        ffn = _keep_extreme(importance.ffn, good.n_ffn_kept, most=False)
    else:
        ffn = _random_keep((layers, intermediate), good.n_ffn_kept, generator)
    return StructureMask(heads, ffn, meta)
