"""Pure mask makers: global magnitude pruning, random pruning, sparsity schedules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch


def sparsity_schedule(step: float = 0.1, final: float = 0.9) -> tuple[float, ...]:
    """Chen et al.'s IMP schedule: prune ``step`` of the ORIGINAL weights per round up to ``final``.

    ``sparsity_schedule(0.1, 0.9)`` is (0.1, 0.2, ..., 0.9): nine rounds.

    Raises:
        ValueError: step or final outside (0, 1), or step > final.
    """
    if not 0 < step < 1 or not 0 < final < 1:
        raise ValueError(f"sparsity step and final must be in (0, 1), got step={step}, final={final}")
    if step > final + 1e-12:
        raise ValueError(f"sparsity step {step} is larger than the final sparsity {final}")
    levels, i = [], 1
    while step * i <= final + 1e-9:
        levels.append(round(step * i, 6))
        i += 1
    if levels[-1] < final - 1e-9:
        levels.append(round(final, 6))
    return tuple(levels)


def check_sparsities(levels: Sequence[float]) -> None:
    """Raise ValueError unless ``levels`` strictly increase within (0, 1)."""
    if not levels:
        raise ValueError("need at least one sparsity level")
    for s in levels:
        if not 0 < s < 1:
            raise ValueError(f"sparsity levels must be in (0, 1), got {s}")
    if any(b <= a for a, b in zip(levels, levels[1:], strict=False)):
        raise ValueError(f"sparsity levels must strictly increase, got {list(levels)}")


def prune_count(total: int, sparsity: float) -> int:
    """Weights pruned at ``sparsity`` of ``total`` (rounded to the nearest whole weight)."""
    return int(round(sparsity * total))


@torch.no_grad()
def global_magnitude_mask(
    weights: Mapping[str, torch.Tensor],
    sparsity: float,
    current: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Keep the largest-|w| weights across ALL matrices so exactly ``sparsity`` of them are pruned.

    Weights already pruned by ``current`` stay pruned whatever their value (they rank below every
    survivor), so IMP masks are nested. Ties are broken by position, so the count is exact and the
    result deterministic.

    Args:
        weights: mask key -> weight tensor (trained or pre-trained values).
        sparsity: target fraction pruned, of the total count (not of the survivors).
        current: the previous round's mask (True = kept), or None for a dense start.

    Returns:
        mask key -> bool tensor (True = kept) with ``round(sparsity * total)`` False entries.

    Raises:
        ValueError: sparsity outside [0, 1), or below what ``current`` already prunes.
    """
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    keys = list(weights)
    scores = []
    for key in keys:
        score = weights[key].detach().abs().float().flatten().cpu()
        if current is not None:
            score = torch.where(current[key].flatten().cpu(), score, torch.full_like(score, -1.0))
        scores.append(score)
    flat = torch.cat(scores)
    n_prune = prune_count(flat.numel(), sparsity)
    already = int((flat < 0).sum())
    if n_prune < already:
        raise ValueError(f"sparsity {sparsity} prunes {n_prune} weights but the current mask already prunes {already}")
    keep = torch.ones(flat.numel(), dtype=torch.bool)
    if n_prune:
        keep[torch.argsort(flat, stable=True)[:n_prune]] = False
    out, offset = {}, 0
    for key in keys:
        n = weights[key].numel()
        out[key] = keep[offset : offset + n].view(weights[key].shape).clone()
        offset += n
    return out


@torch.no_grad()
def random_mask_like(mask: Mapping[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """A random mask with the same number of survivors in every matrix as ``mask``.

    The random-pruning baseline: same per-layer sparsity as the ticket, positions drawn uniformly
    (seeded, independent of the ticket's positions).
    """
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key, m in mask.items():
        n_keep = int(m.sum())
        keep = torch.zeros(m.numel(), dtype=torch.bool)
        keep[torch.randperm(m.numel(), generator=gen)[:n_keep]] = True
        out[key] = keep.view(m.shape)
    return out


def one_shot_masks(weights: Mapping[str, torch.Tensor], levels: Sequence[float]) -> list[dict[str, torch.Tensor]]:
    """Global magnitude masks of the same (e.g. pre-trained) weights at each sparsity level."""
    return [global_magnitude_mask(weights, s) for s in levels]
