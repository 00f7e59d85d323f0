"""early_exit: DeeBERT-style exits, so confident examples skip the upper layers.

An exit head sits after every layer but the last (Xin et al. 2020, "DeeBERT"). Each head has the
shape of the model's own classification head (its family's: BERT's pooler and classifier,
RoBERTa's dense head, DeBERTa's ContextPooler, ...), and starts as a copy of it: the copy is
already a sensible classifier of [CLS], so a short training with the backbone frozen suffices,
and the head costs one pooler (about 1/(12 x tokens) of a layer). The last layer uses the model's own classifier.

At inference an example leaves at the first layer whose prediction entropy (nats) is below
``threshold``; the examples that leave are removed from the batch, so the layers above are not
computed for them. threshold=0 never exits (entropy is never negative); a huge threshold exits
everything after layer 1.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.models.batching import Encoded, encode, train_batches
from joulebench.models.families import family_of
from joulebench.reductions.base import ReductionContext, param, register_reduction
from joulebench.reductions.encoder import EncoderState, Layerwise, as_layerwise

#: A transformers module tree navigated by attribute (torch types such attributes as ``Tensor | Module``).
HFModule = Any

#: Training examples per step of the exit-head training.
EXIT_BATCH_SIZE = 32
#: What an exit head reads from the layer's states.
EXIT_POOLINGS = ("cls", "mean")


@dataclass(frozen=True)
class EarlyExitConfig:
    """Parameters of ``early_exit``."""

    threshold: float | None = param(
        "Leave at the first layer whose prediction entropy (nats) is below this; 0 never exits. Leave it out "
        "and set max_drop to calibrate it.", None)
    max_drop: float | None = param(
        "Calibrate the threshold instead: the largest one whose accuracy drop against the model's own last "
        "layer stays within this (0.01 = one point) on a calibration split carved from the training data "
        "(never the evaluation split).", None)
    calibration_examples: int = param("Held-out training examples the threshold is calibrated on.", 1000)
    delta: float = param(
        "With max_drop: the allowed probability that the calibrated threshold loses more than max_drop "
        "(Learn-then-Test over the calibration split; a guarantee, not a point estimate).", 0.1)
    exit_epochs: float = param("Epochs training the exit heads, backbone frozen (fractions allowed).", 1.0)
    exit_lr: float = param("AdamW learning rate of the exit heads.", 1e-3)
    exit_pooling: str = param(
        "What an exit head reads: cls (DeeBERT: the pooler on [CLS]) or mean (the mean of the real tokens' "
        "states, for encoders trained with mean pooling such as all-MiniLM-L6-v2).", "cls")

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        if (self.threshold is None) == (self.max_drop is None):
            raise ValueError("set exactly one of threshold (entropy in nats) and max_drop (calibrated threshold)")
        if self.threshold is not None and (math.isnan(self.threshold) or self.threshold < 0):
            raise ValueError(f"threshold must be >= 0 (entropy in nats), got {self.threshold}")
        if self.max_drop is not None and not 0 <= self.max_drop < 1:
            raise ValueError(f"max_drop must be in [0, 1) (0.01 = one accuracy point), got {self.max_drop}")
        if self.calibration_examples < 1:
            raise ValueError(f"calibration_examples must be >= 1, got {self.calibration_examples}")
        if not 0 < self.delta < 1:
            raise ValueError(f"delta must be in (0, 1), got {self.delta}")
        if self.exit_epochs <= 0:
            raise ValueError(f"exit_epochs must be > 0, got {self.exit_epochs}")
        if self.exit_lr <= 0:
            raise ValueError(f"exit_lr must be > 0, got {self.exit_lr}")
        if self.exit_pooling not in EXIT_POOLINGS:
            raise ValueError(f"exit_pooling must be one of {', '.join(EXIT_POOLINGS)}, got {self.exit_pooling!r}")


def float_linear(source: Any) -> nn.Linear:
    """A trainable float ``nn.Linear`` with ``source``'s weights, also when ``source`` is int8.

    Exit heads copy the model's pooler and classifier; after an earlier int8 reduction those
    hold packed int8 weights (``weight()`` is a method there), which cannot be trained.
    """
    weight = source.weight() if callable(source.weight) else source.weight
    bias = source.bias() if callable(source.bias) else source.bias
    weight = weight.dequantize().float().detach()
    linear = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        linear.weight.copy_(weight)
        if bias is not None:
            linear.bias.copy_(bias.dequantize().float())
    return linear


class ExitHead(nn.Module):
    """A float copy of the model's own classification head (its family's: BERT's pooler and
    classifier, RoBERTa's dense head, DistilBERT's pre-classifier, DeBERTa's ContextPooler,
    ModernBERT's final norm and prediction head).

    It reads [CLS] (``pooling="cls"``, DeBERTa-style: token 0) or the mean of the real tokens' states
    (``pooling="mean"``).
    """

    def __init__(self, model: HFModule, pooling: str = "cls") -> None:
        super().__init__()
        family = family_of(model)
        self.pooling = pooling
        finish = family.finish_module(model)
        self.finish = float_copy(finish) if finish is not None else nn.Identity()
        self.head = float_copy(family.vector_head(model))

    @property
    def classifier(self) -> nn.Module:
        """The head's last layer with weights (its output projection to the labels)."""
        return [m for m in self.head.modules() if hasattr(m, "weight")][-1]

    def read(self, state: EncoderState, weights: torch.Tensor | None = None) -> torch.Tensor:
        """The (batch, hidden) vector this head classifies.

        ``weights`` may pass :func:`mean_weights` of ``state.mask`` when the caller already has them.
        """
        if self.pooling == "cls":
            return self.finish(state.hidden[:, 0])
        if weights is None:
            weights = mean_weights(state.mask, state.hidden.dtype)
        return torch.bmm(weights, self.finish(state.hidden)).squeeze(1)

    def classify(self, vector: torch.Tensor) -> torch.Tensor:
        return self.head(vector)

    def forward(self, state: EncoderState, weights: torch.Tensor | None = None) -> torch.Tensor:
        return self.classify(self.read(state, weights))


def float_copy(module: HFModule) -> nn.Module:
    """A trainable float deep copy of ``module``: int8 linear layers (an earlier quantize) become float ones."""
    copied = copy.deepcopy(module)
    for name, child in list(copied.named_modules()):
        if name and callable(getattr(child, "weight", None)):  # packed int8 linear: weight() is a method
            parent_name, _, attr = name.rpartition(".")
            parent = copied.get_submodule(parent_name) if parent_name else copied
            setattr(parent, attr, float_linear(child))
    if callable(getattr(copied, "weight", None)):
        return float_linear(copied)
    for p in copied.parameters():
        p.requires_grad_(True)
    return copied.float()


def mean_weights(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(batch, 1, tokens) weights averaging the real tokens: one ``bmm`` then pools a layer."""
    weights = mask.to(dtype)
    return (weights / weights.sum(dim=1, keepdim=True).clamp(min=1)).unsqueeze(1)


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Prediction entropy in nats, per row (never negative)."""
    return torch.special.entr(logits.float().softmax(dim=-1)).sum(dim=-1)


class EarlyExitBert(nn.Module):
    """Runs a layerwise backbone and lets each example leave at its first confident exit.

    Args:
        backbone: the model run layer by layer (plain or token-pruned).
        heads: one exit head per layer but the last.
        threshold: entropy (nats) below which an example leaves.
    """

    realised_family: ClassVar[str] = "early_exit"

    def __init__(self, backbone: Any, heads: nn.ModuleList, threshold: float) -> None:
        super().__init__()
        self.backbone = backbone
        self.config = backbone.config
        self.exits = heads
        self.threshold = threshold
        self.reset_realised()

    @property
    def num_layers(self) -> int:
        return self.backbone.num_layers

    def reset_realised(self) -> None:
        """Forget the exit counts seen so far."""
        self._exit_counts = [0] * self.num_layers

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        state = self.backbone.embed(input_ids, attention_mask, token_type_ids)
        active = torch.arange(input_ids.shape[0], device=input_ids.device)
        out: torch.Tensor | None = None
        weights, weights_of = None, None  # mean-pooling weights, recomputed only when the mask changes
        last = self.num_layers - 1
        for index in range(self.num_layers):
            state = self.backbone.layer(index, state)
            if index == last:
                logits = self.backbone.head(state)
                self._exit_counts[index] += logits.shape[0]
                if out is None:  # nobody left early: the rows are still in input order
                    return logits
                out[active] = logits
                return out
            if self.threshold <= 0:  # entropy is never negative: nobody can leave here
                continue
            head = self.exits[index]
            if getattr(head, "pooling", "cls") == "mean" and weights_of is not state.mask:
                weights, weights_of = mean_weights(state.mask, state.hidden.dtype), state.mask
            logits = head(state, weights)
            leave = entropy(logits) < self.threshold
            if not bool(leave.any()):
                continue
            n_leave = int(leave.sum())
            if out is None:
                out = logits.new_empty((input_ids.shape[0], logits.shape[-1]))
            out[active[leave]] = logits[leave]
            self._exit_counts[index] += n_leave
            if n_leave == logits.shape[0]:
                return out
            stay = (~leave).nonzero().squeeze(1)
            active = active.index_select(0, stay)
            state = state.rows(stay)
        raise AssertionError("unreachable: the last layer classifies whoever is left")

    def realised_details(self) -> dict:
        """Exits over the examples seen since the last reset.

        ``exit_layer_histogram`` maps the 1-based exit layer to the fraction of examples that left
        there (fractions, so a FLOP-counting pass over the same batches does not skew it).
        """
        seen = sum(self._exit_counts)
        if seen == 0:
            return {"exit_layer_histogram": {}, "mean_layers_computed": None, "layers_total": self.num_layers}
        return {
            "exit_layer_histogram": {str(i + 1): round(c / seen, 4) for i, c in enumerate(self._exit_counts) if c},
            "mean_layers_computed": round(sum((i + 1) * c for i, c in enumerate(self._exit_counts)) / seen, 4),
            "layers_total": self.num_layers,
        }


def _build_heads(model: HFModule, n_exits: int, pooling: str = "cls") -> nn.ModuleList:
    return nn.ModuleList(ExitHead(model, pooling) for _ in range(n_exits))


def train_exit_heads(
    backbone: Layerwise, heads: nn.ModuleList, batches: Iterable[dict[str, torch.Tensor]], steps: int,
    lr: float, device: str = "cpu",
) -> float | None:
    """Train all exit heads jointly (sum of their cross-entropies), the backbone frozen.

    Args:
        backbone: run under no_grad, so it cannot change.
        heads: head ``i`` reads the states after layer ``i``.
        batches: training batches with ``labels``; the first ``steps`` are used.
        steps: optimizer steps.

    Returns:
        The last step's loss, or None when no step ran.
    """
    optimizer = torch.optim.AdamW(heads.parameters(), lr=lr)
    heads.to(device).train()
    exit_heads: list[Any] = list(heads)  # ExitHead modules (read, classify)
    loss_value = None
    for batch in itertools.islice(batches, steps):
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.no_grad():
            state = backbone.embed(batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids"))
            read = []
            for index, head in enumerate(exit_heads):
                state = backbone.layer(index, state)
                read.append(head.read(state).clone())
        loss = torch.stack([
            nn.functional.cross_entropy(head.classify(vector), batch["labels"])
            for head, vector in zip(exit_heads, read, strict=True)
        ]).sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = float(loss.detach())
    heads.eval()
    return loss_value


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


def epochs_of_batches(encoded: Sequence[Encoded], pad_id: int, seed: int) -> Iterator[dict[str, torch.Tensor]]:
    """Endless training batches, reshuffled every epoch (as the fine-tuning loop does)."""
    for epoch in itertools.count():
        yield from train_batches(encoded, EXIT_BATCH_SIZE, pad_id, seed=seed + epoch)


def _plain_model(backbone: Any) -> nn.Module:
    while not hasattr(backbone, "model"):
        backbone = backbone.backbone
    return backbone.model


@register_reduction("early_exit", help="DeeBERT: an exit after every layer; leave when entropy < threshold")
class EarlyExit:
    """Let confident examples leave before the last layer."""

    span_refusal: ClassVar[str] = ("its exit heads predict classes; exit heads that predict spans are not "
                                  "built yet")

    config_cls: ClassVar[type] = EarlyExitConfig

    @staticmethod
    def check_chain(cfg: EarlyExitConfig, before: Sequence[str], device: str | None) -> None:
        """One set of exits per model."""
        if "early_exit" in before:
            raise ValueError("early_exit is listed twice")
        if "exported_graph" in before:
            raise ValueError("early_exit must come before an exported onnxruntime graph "
                             "(quantize with backend onnxruntime, runtime)")
        if "16bit" in before:
            raise ValueError("early_exit must come before a 16-bit quantize (its exit heads train in fp32 on the "
                             "backbone; quantize after them and they are cast too)")

    def apply(self, model: HFModule, cfg: EarlyExitConfig, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Attach exit heads, train them on the task's training examples, wrap the model."""
        if ctx.train_examples is None:
            raise UserError("early_exit needs training examples for its exit heads (run it through the Runner)")
        backbone = as_layerwise(model)
        if backbone.num_layers < 2:
            raise UserError(f"early_exit needs at least 2 encoder layers to exit before the last; this model has "
                            f"{backbone.num_layers} (after the reductions before it)")
        backbone.eval()
        plain = _plain_model(backbone)
        heads = _build_heads(plain, backbone.num_layers - 1, cfg.exit_pooling)
        encoded = encode(ctx.tokenizer, ctx.train_examples(), ctx.max_seq_len)
        if not encoded:
            raise UserError("early_exit: no training examples to train the exit heads on")
        steps = max(1, math.ceil(math.ceil(len(encoded) / EXIT_BATCH_SIZE) * cfg.exit_epochs))
        backbone.to(ctx.device)
        torch.manual_seed(ctx.seed)  # head dropout
        batches = epochs_of_batches(encoded, ctx.tokenizer.pad_token_id, ctx.seed)
        trained: dict = {}

        def train() -> dict:
            trained["loss"] = train_exit_heads(backbone, heads, batches, steps, cfg.exit_lr, ctx.device)
            return {"steps": steps, "final_loss": trained["loss"]}

        if ctx.cached_training is not None:  # train once: the same heads on the same backbone come from the cache
            reused = ctx.cached_training("early_exit heads", heads, train, examples=len(encoded),
                                         epochs=cfg.exit_epochs, lr=cfg.exit_lr, pooling=cfg.exit_pooling,
                                         head_layout="family-head/1")
        else:
            train()
            reused = False
        loss = trained.get("loss")
        heads.to(ctx.device).eval()
        threshold, calibration = cfg.threshold, None
        if cfg.max_drop is not None:
            threshold, calibration = self._calibrate(backbone, heads, cfg, ctx)
        if threshold is None:
            raise ValueError("give threshold or max_drop")  # validate() guarantees one of them
        for module in backbone.modules():  # training passes are not inference: forget their counts
            if hasattr(module, "reset_realised"):
                module.reset_realised()
        wrapped = EarlyExitBert(backbone, heads, threshold).eval()
        return wrapped, {
            "threshold": threshold,
            "threshold_source": "given" if calibration is None else "calibrated",
            "calibration": calibration,
            "exit_heads": len(heads),
            "exit_pooling": cfg.exit_pooling,
            "exit_train_steps": steps,
            "exit_train_examples": len(encoded),
            "exit_final_loss": None if loss is None else round(loss, 4),
            "exit_heads_reused": reused,
        }

    @staticmethod
    def _calibrate(backbone: Layerwise, heads: nn.ModuleList, cfg: EarlyExitConfig,
                   ctx: ReductionContext) -> tuple[float, dict]:
        """Choose the threshold on held-out training examples (never the evaluation split)."""
        if ctx.calibration_examples is None:
            raise UserError("early_exit max_drop needs a calibration split (run it through the Runner)")
        if cfg.max_drop is None:
            raise ValueError("calibration runs only with max_drop")
        examples = ctx.calibration_examples(cfg.calibration_examples)
        encoded = encode(ctx.tokenizer, examples, ctx.max_seq_len)
        batches = train_batches(encoded, 64, ctx.tokenizer.pad_token_id, seed=ctx.seed)
        heads.eval()
        found = calibrate_threshold(*layer_entropies_and_predictions(backbone, heads, batches, ctx.device),
                                    cfg.max_drop, cfg.delta)
        return found["threshold"], {
            "max_drop": cfg.max_drop, "split": "held-out training examples (not in the training subset)",
            "examples": len(encoded), "accuracy_drop": round(found["accuracy_drop"], 5),
            "mean_layers": round(found["mean_layers"], 4), "method": "learn-then-test (fixed sequence, binomial)",
            "delta": cfg.delta, "harm_bound": round(found["harm_bound"], 5), "candidates_tested": found["tested"],
            "guarantee": f"P(accuracy drop > {cfg.max_drop}) <= {cfg.delta} over the calibration draw",
        }
