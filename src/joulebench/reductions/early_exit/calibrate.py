"""Choosing the exit threshold from data: every exit's entropy and prediction, and Learn-then-Test."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from joulebench.reductions.early_exit.heads import entropy
from joulebench.reductions.encoder import Layerwise


@torch.no_grad()
def layer_entropies_and_predictions(backbone: Layerwise, heads: nn.ModuleList, batches: Iterable[dict],
                                    device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every exit's entropy and prediction for every example (no example leaves early).

    Returns:
        ``(entropy, predicted, labels)``: entropy and predicted class of shape (examples, layers),
        the last column from the model's own classifier, and the gold labels.
    """
    entropies, predictions, labels = [], [], []
    for batch in batches:
        batch = {k: v.to(device) for k, v in batch.items()}
        state = backbone.embed(batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids"))
        per_layer = []
        for index in range(backbone.num_layers):
            state = backbone.layer(index, state)
            per_layer.append(backbone.head(state) if index == backbone.num_layers - 1 else heads[index](state))
        logits = torch.stack(per_layer, dim=1)  # (batch, layers, classes)
        entropies.append(entropy(logits))
        predictions.append(logits.argmax(-1))
        labels.append(batch["labels"])
    return torch.cat(entropies), torch.cat(predictions), torch.cat(labels)


def calibrate_threshold(entropies: torch.Tensor, predictions: torch.Tensor, labels: torch.Tensor,
                        max_drop: float, delta: float = 0.1) -> dict:
    """The largest entropy threshold certified by Learn-then-Test (:mod:`joulebench.reductions.risk_control`):
    its accuracy drop against the last layer exceeds ``max_drop`` with probability at most ``delta`` over the
    draw of these calibration examples.

    A larger threshold lets more examples leave earlier, so candidates go from conservative (small) to
    aggressive; they are the midpoints between the entropies seen (at most 400 quantiles). Threshold 0 (no
    exit) is always admissible: its drop is 0 by construction.

    Returns:
        ``threshold``, ``accuracy_drop`` and ``mean_layers`` on these examples, ``harm_bound`` (the
        (1 - delta) upper bound on the rate of examples the last layer gets right and the exit wrong, which
        bounds the drop) and ``tested`` (candidates tested before the walk stopped).
    """
    from joulebench.reductions.risk_control import learn_then_test

    n, layers = entropies.shape
    last_right = predictions[:, -1] == labels
    candidates = torch.unique(entropies[:, :-1].flatten())
    ordered = torch.sort(candidates).values
    if len(ordered) > 400:  # quantiles of the entropies: enough resolution, bounded work
        ordered = torch.unique(torch.quantile(ordered, torch.linspace(0, 1, 400, dtype=ordered.dtype)))
    upper = torch.cat([ordered[1:], ordered[-1:] + 2e-6])
    thresholds = (ordered + upper) / 2  # entropy < t: a candidate admits the exits below the midpoint above it
    leaves = entropies[:, None, :-1] < thresholds[None, :, None]  # (examples, candidates, early layers)
    first = torch.where(leaves.any(2), leaves.float().argmax(2), torch.full(leaves.shape[:2], layers - 1))
    exit_right = predictions.gather(1, first) == labels[:, None]  # (examples, candidates)
    harm_counts = (last_right[:, None] & ~exit_right).sum(0).numpy()
    found = learn_then_test(harm_counts, n, max_drop, delta)
    if found.index < 0:
        return {"threshold": 0.0, "accuracy_drop": 0.0, "mean_layers": float(layers), "harm_bound": 0.0,
                "tested": len(found.p_values)}
    i = found.index
    return {"threshold": float(thresholds[i]),
            "accuracy_drop": float(last_right.float().mean() - exit_right[:, i].float().mean()),
            "mean_layers": float((first[:, i] + 1).float().mean()), "harm_bound": found.bound,
            "tested": len(found.p_values)}
