"""token_prune: PoWER-BERT-style removal of the tokens that receive the least attention.

After each chosen layer, every token is scored by the attention it received (attention
probabilities summed over heads and over the real, non-padding queries; Goyal et al. 2020,
"PoWER-BERT"). The lowest-scoring tokens are removed from the hidden states and the mask with a
gather, so every later layer computes on a shorter sequence. [CLS] is always kept (the
classifier reads it) and padding never displaces a real token.

``keep_ratio`` is the fraction of each example's real tokens left after the last pruning layer;
with several layers it is reached geometrically (each keeps ``keep_ratio ** (1/n)`` of what
reaches it), the "progressively fewer" retention schedule of PoWER-BERT with one knob.

Trained to its target (PoWER-BERT's recipe, Goyal et al. 2020, section 3): with ``retrain: true``
the model is re-fine-tuned *with its token elimination in place* (hard extraction in every
forward pass, the run's training settings and regime, cached like every training), so the layers
learn to work on the tokens they keep. PoWER-BERT learns the retention configuration with
soft-extraction layers and a length penalty; here it is *searched*: with ``max_drop`` instead of
``keep_ratio``, each ratio of ``search_ratios`` (most aggressive first) is trained that way and
scored on ``calibration_examples`` held-out training sentences (never the evaluation split), and
the smallest ratio whose accuracy there is within ``max_drop`` of the unpruned model's is kept.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from joulebench.errors import UserError
from joulebench.reductions.base import ReductionContext, param, register_reduction
from joulebench.reductions.calibration import CALIBRATIONS, Routing, check_size, crossfit, fingerprint, resolve
from joulebench.reductions.encoder import EncoderState, LayerwiseEncoder, as_layerwise


@dataclass(frozen=True)
class TokenPruneConfig:
    """Parameters of ``token_prune``."""

    keep_ratio: float | None = param(
        "Fraction of each example's real tokens kept after the last pruning layer, in (0, 1] (or give max_drop).",
        None)
    after_layers: tuple[int, ...] = param(
        "Encoder layers (1-based) after which tokens are pruned; several layers prune progressively.", (1, 2, 3)
    )
    retrain: bool = param("Re-fine-tune the model with the pruning in place (PoWER-BERT), cached.", False)
    retrain_epochs: float = param("Epochs of that re-fine-tuning (fractions allowed).", 1.0)
    max_drop: float | None = param(
        "Instead of keep_ratio: the smallest of search_ratios certified within this drop of the unpruned model "
        "(Learn-then-Test) where `calibration` says (each candidate trained as retrain says).", None)
    search_ratios: tuple[float, ...] = param("Candidate keep ratios for max_drop.", (0.2, 0.3, 0.4, 0.5, 0.7))
    calibration: str = param(
        "Where max_drop's ratio is chosen: auto (the task's calibration file; else dev where figures are on test; "
        "else dev cross-fitted on two halves, each half pruned with the ratio chosen on the other; with retrain, "
        "which trains one model per ratio, held-out training data), crossfit, validation, file or heldout_train.",
        "auto")
    calibration_examples: int = param("With calibration heldout_train: how many held-out training sentences.", 1000)
    delta: float = param("With max_drop: the allowed probability that the chosen ratio loses more than max_drop "
                         "(Learn-then-Test over the calibration split).", 0.1)

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        if (self.keep_ratio is None) == (self.max_drop is None):
            raise ValueError("give exactly one of keep_ratio (fixed) or max_drop (searched on held-out training data)")
        if self.keep_ratio is not None and not 0 < self.keep_ratio <= 1:
            raise ValueError(f"keep_ratio must be in (0, 1], got {self.keep_ratio}")
        if self.max_drop is not None and not 0 <= self.max_drop < 1:
            raise ValueError(f"max_drop must be in [0, 1), got {self.max_drop}")
        if not 0 < self.delta < 1:
            raise ValueError(f"delta must be in (0, 1), got {self.delta}")
        ratios = self.search_ratios
        if not isinstance(ratios, (list, tuple)) or not ratios or any(
                isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 < r <= 1 for r in ratios):
            raise ValueError(f"search_ratios must be a non-empty list of ratios in (0, 1], got {ratios!r}")
        if self.retrain_epochs <= 0:
            raise ValueError(f"retrain_epochs must be > 0, got {self.retrain_epochs}")
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {', '.join(CALIBRATIONS)}, got {self.calibration!r}")
        if self.calibration == "crossfit" and self.retrain:
            raise ValueError("calibration crossfit cannot apply with retrain (one re-trained model per ratio); "
                             "use heldout_train, validation or file")
        if self.calibration_examples < 1:
            raise ValueError(f"calibration_examples must be >= 1, got {self.calibration_examples}")
        layers = self.after_layers
        if (
            not isinstance(layers, (list, tuple)) or not layers
            or any(isinstance(x, bool) or not isinstance(x, int) for x in layers)
        ):
            raise ValueError(f"after_layers must be a non-empty list of layer numbers, got {layers!r}")
        if min(layers) < 1 or list(layers) != sorted(set(layers)):
            raise ValueError(f"after_layers must be increasing layer numbers >= 1, got {list(layers)}")


def attention_received(probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(batch, keys) attention each token receives, summed over heads and real queries.

    Args:
        probs: (batch, heads, queries, keys) attention probabilities.
        mask: (batch, tokens) True for real tokens; padding queries do not vote.
    """
    return (probs * mask[:, None, :, None].to(probs.dtype)).sum(dim=(1, 2))


def keep_counts(mask: torch.Tensor, ratio: float | torch.Tensor) -> torch.Tensor:
    """(batch,) tokens to keep per example: ``ceil(ratio * real tokens)``, at least 1 ([CLS]); ``ratio`` may
    be one per example."""
    if isinstance(ratio, torch.Tensor):
        ratio = ratio.to(device=mask.device, dtype=torch.float64)
    return torch.ceil(mask.sum(dim=1).to(torch.float64) * ratio).long().clamp(min=1)


def select_tokens(
    hidden: torch.Tensor, mask: torch.Tensor, scores: torch.Tensor, counts: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep the top ``counts[b]`` tokens of each example by score, in their original order.

    [CLS] (position 0) always ranks first and padding last, so padding is never kept over a real
    token. The batch is cut to the largest count; an example keeping fewer tokens fills the rest
    with masked slots.

    Returns:
        hidden (batch, kept, width), mask (batch, kept) and the kept positions (batch, kept).
    """
    scores = scores.masked_fill(~mask, float("-inf"))
    scores[:, 0] = float("inf")
    width = int(counts.max())
    top = scores.topk(width, dim=1).indices
    kept = torch.arange(width, device=mask.device)[None, :] < counts[:, None]
    positions, order = top.sort(dim=1)
    kept = kept.gather(1, order) & mask.gather(1, positions)
    hidden = hidden.gather(1, positions[:, :, None].expand(-1, -1, hidden.shape[-1]))
    return hidden, kept, positions


class TokenPrunedBert(nn.Module):
    """An encoder classifier (any supported family) that drops low-attention tokens after some layers.

    Runs layer by layer (``embed``/``layer``/``head``), so early exit can be stacked on top.

    Args:
        backbone: the model, run layer by layer.
        keep_ratio: fraction of real tokens left after the last pruning layer.
        after_layers: 1-based layers after which tokens are pruned.
    """

    is_layerwise: ClassVar[bool] = True
    realised_family: ClassVar[str] = "token_prune"

    def __init__(self, backbone: LayerwiseEncoder, keep_ratio: float, after_layers: Sequence[int],
                 routing: Routing | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.config = backbone.config
        self.keep_ratio = keep_ratio
        self.after_layers = tuple(after_layers)
        self.step_ratio = keep_ratio ** (1.0 / len(self.after_layers))
        self.routing = routing  # cross-fitted: each input's ratio was chosen on the other half
        self.reset_realised()

    @property
    def num_layers(self) -> int:
        return self.backbone.num_layers

    def reset_realised(self) -> None:
        """Forget the token counts seen so far."""
        self._kept_sum = 0.0
        self._kept_examples = 0
        self._token_layers = 0
        self._token_layers_dense = 0

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
              token_type_ids: torch.Tensor | None = None) -> EncoderState:
        state = self.backbone.embed(input_ids, attention_mask, token_type_ids)
        if self.routing is not None:
            state.keep = self.routing.values(input_ids, attention_mask) ** (1.0 / len(self.after_layers))
        return state

    def layer(self, index: int, state: EncoderState) -> EncoderState:
        self._token_layers += int(state.real_tokens.sum())
        self._token_layers_dense += int(state.input_tokens.sum())
        if index + 1 not in self.after_layers:
            return self.backbone.layer(index, state)
        hidden, probs = self.backbone.layer_with_attention(index, state)
        counts = keep_counts(state.mask, self.step_ratio if state.keep is None else state.keep)
        if index + 1 == self.after_layers[-1]:
            self._kept_sum += float((counts / state.input_tokens.clamp(min=1)).sum())
            self._kept_examples += int(counts.shape[0])
        if int(counts.max()) == state.mask.shape[1]:
            # nothing to remove
            return EncoderState(hidden, state.mask, state.input_tokens, state.positions, state.keep)
        hidden, mask, kept = select_tokens(hidden, state.mask, attention_received(probs, state.mask), counts)
        return EncoderState(hidden, mask, state.input_tokens, state.positions.gather(1, kept), state.keep)

    def head(self, state: EncoderState) -> torch.Tensor:
        return self.backbone.head(state)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        state = self.embed(input_ids, attention_mask, token_type_ids)
        for index in range(self.num_layers):
            state = self.layer(index, state)
        return self.head(state)

    def realised_details(self) -> dict:
        """What pruning realised over the examples seen since the last reset.

        ``tokens_kept_ratio``: real tokens left after the last pruning layer / real tokens in,
        averaged over examples. ``token_layers_ratio``: real tokens the layers processed / what
        they would have processed unpruned (the share of per-token layer compute that remains).
        """
        return {
            "tokens_kept_ratio": round(self._kept_sum / self._kept_examples, 4) if self._kept_examples else None,
            "token_layers_ratio": (
                round(self._token_layers / self._token_layers_dense, 4) if self._token_layers_dense else None
            ),
        }


@register_reduction("token_prune", help="PoWER-BERT: drop the least-attended tokens after chosen layers")
class TokenPrune:
    """Shorten the sequence between layers by attention received."""

    config_cls: ClassVar[type] = TokenPruneConfig

    @staticmethod
    def check_chain(cfg: TokenPruneConfig, before: Sequence[str], device: str | None) -> None:
        """Pruning wraps the plain model: it must come before early exit and only once."""
        if "early_exit" in before:
            raise ValueError("token_prune must come before early_exit (early exit runs on the pruned layers)")
        if "exported_graph" in before:
            raise ValueError("token_prune must come before an exported onnxruntime graph "
                             "(quantize with backend onnxruntime, runtime)")
        if "token_prune" in before:
            raise ValueError("token_prune is listed twice; give one after_layers list instead")

    def apply(self, model: nn.Module, cfg: TokenPruneConfig, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Wrap ``model`` so that it prunes tokens while it runs."""
        backbone = as_layerwise(model)
        if not isinstance(backbone, LayerwiseEncoder):
            raise UserError("token_prune must wrap the plain model; list it before early_exit")
        last = max(cfg.after_layers)
        if last >= backbone.num_layers:
            raise UserError(
                f"token_prune: after_layers has {last} but the model has {backbone.num_layers} encoder layers; "
                f"pruning after layer {backbone.num_layers} or later saves nothing"
            )
        search = None
        if cfg.max_drop is not None:
            pruned, search = self._search(backbone, cfg, ctx)
        else:
            if cfg.keep_ratio is None:
                raise ValueError("give keep_ratio or max_drop")  # validate() guarantees one of them
            pruned = TokenPrunedBert(backbone, cfg.keep_ratio, cfg.after_layers)
            if cfg.retrain:
                _retrain(pruned, cfg, ctx)
        step = pruned.step_ratio
        return pruned.eval(), {
            "keep_ratio": pruned.keep_ratio,
            "keep_ratio_source": "given" if search is None else "searched",
            "after_layers": list(cfg.after_layers),
            "retrained": cfg.retrain,
            "search": search,
            "keep_ratio_per_step": round(step, 4),
            "nominal_token_layers_ratio": round(_nominal_token_layers(backbone.num_layers, cfg.after_layers, step), 4),
        }

    @staticmethod
    def _search(backbone: LayerwiseEncoder, cfg: TokenPruneConfig,
                ctx: ReductionContext) -> tuple[TokenPrunedBert, dict]:
        """The most aggressive candidate ratio certified within ``max_drop`` by Learn-then-Test where
        ``cfg.calibration`` says (:mod:`joulebench.reductions.calibration`): ratios from the most conservative
        down, each tested by the exact binomial test of "the rate of sentences the unpruned model gets right and
        the pruned one wrong exceeds max_drop", stopping at the first not rejected; cross-fitted, once per half."""
        from joulebench.models.batching import encode
        from joulebench.reductions.risk_control import p_value, upper_bound

        if cfg.max_drop is None:
            raise ValueError("the keep-ratio search runs only with max_drop")
        max_drop = cfg.max_drop
        found = resolve(cfg.calibration, ctx, cfg.calibration_examples, can_crossfit=not cfg.retrain)
        check_size(found, max_drop, cfg.delta)
        encoded = encode(ctx.tokenizer, found.examples, ctx.max_seq_len)
        reference_right = held_out_right(backbone, encoded, ctx)
        candidates: dict[float, TokenPrunedBert] = {}
        rights: dict[float, np.ndarray] = {}

        def right_of(ratio: float) -> np.ndarray:  # built (and re-trained) only when the walk reaches it
            if ratio not in rights:
                candidate = TokenPrunedBert(copy.deepcopy(backbone) if cfg.retrain else backbone, ratio,
                                            cfg.after_layers)
                if cfg.retrain:
                    _retrain(candidate, cfg, ctx, what=f"token_prune retrain keep_ratio={ratio}")
                candidates[ratio], rights[ratio] = candidate, held_out_right(candidate, encoded, ctx)
            return rights[ratio]

        def choose(positions: np.ndarray, delta: float) -> dict:
            n, reference = len(positions), reference_right[positions]
            tried, value, bound = [], 1.0, None
            for ratio in sorted(set(cfg.search_ratios), reverse=True):  # conservative first: fixed-sequence
                right = right_of(ratio)
                harms = int((reference & ~right[positions]).sum())
                p = p_value(harms, n, max_drop)
                tried.append({"keep_ratio": ratio, "accuracy": round(float(right[positions].mean()), 5),
                              "accuracy_drop": round(float(reference.mean() - right[positions].mean()), 5),
                              "p_value": round(p, 5)})
                if p > delta:
                    break
                value, bound = ratio, upper_bound(harms, n, delta)
            return {"value": value, "examples": n, "unpruned_accuracy": round(float(reference.mean()), 5),
                    "tried": tried, "within_budget": bound is not None,
                    "harm_bound": None if bound is None else round(bound, 5)}

        halves = None
        if found.how == "crossfit":
            routing, halves = crossfit(choose, [fingerprint(e.input_ids) for e in encoded], ctx.seed, cfg.delta,
                                       conservative=max)  # a larger ratio keeps more tokens
            chosen = TokenPrunedBert(backbone, routing.default, cfg.after_layers, routing)
            summary: dict = {}
        else:
            summary = choose(np.arange(len(encoded)), cfg.delta)
            ratio = summary.pop("value")
            chosen = candidates[ratio] if ratio in candidates else TokenPrunedBert(backbone, 1.0, cfg.after_layers)
        chosen.reset_realised()
        return chosen, {"max_drop": max_drop, "calibration": found.how, "split": found.where,
                        "examples": len(encoded), "reported_split": found.reported_split,
                        "carries_over": found.carries_over, "exchangeability": found.check, **summary,
                        "crossfit": halves, "method": "learn-then-test (fixed sequence, binomial)", "delta": cfg.delta,
                        "guarantee": f"P(accuracy drop > {max_drop}) <= {cfg.delta} over the calibration draw"
                        + ("" if found.carries_over else "; it does not carry over to the reported split")}


def _pruned_loss(model: nn.Module, batch: dict) -> torch.Tensor:
    """Cross-entropy of a layer-wise model's logits (it returns logits, not an output with a loss)."""
    logits = model(batch["input_ids"], batch.get("attention_mask"), batch.get("token_type_ids"))
    return F.cross_entropy(logits, batch["labels"])


def _retrain(pruned: TokenPrunedBert, cfg: TokenPruneConfig, ctx: ReductionContext,
             what: str = "token_prune retrain") -> None:
    """Re-fine-tune ``pruned`` with its token elimination active in every forward pass."""
    if ctx.fine_tune is None:
        raise UserError("token_prune: retrain=true needs a fine-tuning context (run it through the Runner)")
    ctx.fine_tune(pruned, epochs=cfg.retrain_epochs, what=what, loss_fn=_pruned_loss)
    pruned.eval()
    pruned.reset_realised()


@torch.no_grad()
@torch.inference_mode()
def held_out_right(model: nn.Module, encoded: list, ctx: ReductionContext) -> np.ndarray:
    """Whether a layer-wise model (logits out) gets each encoded example right, in the examples' order."""
    from joulebench.models.batching import eval_batches

    model.eval()
    right = np.zeros(len(encoded), dtype=bool)
    for batch in eval_batches(encoded, 64, ctx.tokenizer.pad_token_id):
        inputs = {k: v.to(ctx.device) for k, v in batch.inputs.items()}
        logits = model(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
        labels = torch.tensor([encoded[i].label for i in batch.indices], device=logits.device)
        right[batch.indices] = (logits.argmax(-1) == labels).cpu().numpy()
    return right


def held_out_accuracy(model: nn.Module, encoded: list, ctx: ReductionContext) -> float:
    """Accuracy of a layer-wise model (logits out) on encoded examples."""
    return float(held_out_right(model, encoded, ctx).mean()) if encoded else 0.0


def _nominal_token_layers(n_layers: int, after: Sequence[int], step: float) -> float:
    """Share of per-token layer compute left if every example kept exactly ``step`` per pruning."""
    fraction, total = 1.0, 0.0
    for index in range(n_layers):
        total += fraction
        if index + 1 in after:
            fraction *= step
    return total / n_layers
