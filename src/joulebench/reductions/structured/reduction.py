"""The ``structured_prune`` reduction: remove heads and FFN units so the model is physically smaller.

Either sizes (``heads_frac``, ``ffn_frac``, optionally a ``stop_fraction`` rule) or a saved mask
(``mask``, from ``joulebench prune search``) say what goes. ``variant`` picks the subnetwork of
that size: the important structures (good), the least important (bad), or a random set.
``retrain`` applies the mask to the *pre-trained* weights and fine-tunes the smaller model with
the run's training settings (Prasanna et al.'s "retrained" subnetworks); otherwise the fine-tuned
model is pruned as it is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from joulebench.config.schema import _help
from joulebench.errors import UserError
from joulebench.reductions.base import ReductionContext, must_come_before, param, register_reduction
from joulebench.reductions.structured.compact import compact
from joulebench.reductions.structured.data import SCORE_SPLITS, encode_batches, scoring_examples
from joulebench.reductions.structured.importance import METHODS
from joulebench.reductions.structured.layers import geometry, param_count
from joulebench.reductions.structured.mask import StructureMask, load_mask
from joulebench.reductions.structured.pipeline import Targets, make_scorer
from joulebench.reductions.structured.search import GRANULARITIES, VARIANTS, iterative_prune, variant_mask
from joulebench.tasks.kinds import batch_size_of


@dataclass(frozen=True)
class StructuredPruneConfig:
    """Parameters of ``structured_prune``."""

    heads_frac: float | None = _help("Fraction of all attention heads to remove (a cap under stop_fraction).", None)
    ffn_frac: float | None = _help(
        "Fraction of FFN units (ffn_unit: neuron) or FFN blocks (ffn_unit: block) to remove (a cap under "
        "stop_fraction).", None)
    mask: str | None = param("Saved mask JSON (joulebench prune search); instead of the fractions; identified by "
                             "its content.", None, file=True)
    importance: str = _help("gradient (gate gradients on held-out training data) or magnitude (weight norms).",
                            "gradient")
    variant: str = _help("good (keep the most important), bad (keep the least important) or random; same size.",
                         "good")
    ffn_unit: str = _help("neuron (single FFN units) or block (a layer's whole FFN).", "neuron")
    iterative: bool = _help("Re-score after each step (false: one shot from the dense model's scores).", True)
    heads_step_frac: float = _help("Heads removed per step, as a fraction of all heads.", 0.1)
    ffn_step_frac: float = _help("FFN units removed per step, as a fraction of all units (neuron only).", 0.1)
    stop_fraction: float | None = _help(
        "Stop when held-out accuracy falls below this times the dense model's (Prasanna et al.: 0.9).", None)
    score_examples: int = _help("Examples importance and the stopping rule are computed on.", 512)
    score_split: str = _help("train (a slice held out from fine-tuning) or validation (explicit opt-in).", "train")
    score_batch_size: int = _help("Batch size while scoring.", 32)
    seed: int | None = _help("Seed for the scoring slice and the random variant; null = the run's seed.", None)
    retrain: bool = _help("Apply the mask to the pre-trained weights and fine-tune with the run's settings.", False)
    retrain_epochs: float | None = _help("Epochs of that fine-tuning; null = the run's train.epochs.", None)

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        sized = self.heads_frac is not None or self.ffn_frac is not None or self.stop_fraction is not None
        if self.mask is not None and sized:
            raise ValueError("give either mask or heads_frac/ffn_frac/stop_fraction, not both")
        if self.mask is None and not sized:
            raise ValueError("give heads_frac and/or ffn_frac, a stop_fraction, or a mask")
        for name in ("heads_frac", "ffn_frac"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.stop_fraction is not None and not 0.0 < self.stop_fraction <= 1.0:
            raise ValueError(f"stop_fraction must be in (0, 1], got {self.stop_fraction}")
        for name in ("heads_step_frac", "ffn_step_frac"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        choices = {"importance": METHODS, "variant": VARIANTS, "ffn_unit": GRANULARITIES, "score_split": SCORE_SPLITS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.score_examples < 1 or self.score_batch_size < 1:
            raise ValueError("score_examples and score_batch_size must be >= 1")
        if self.retrain_epochs is not None and self.retrain_epochs <= 0:
            raise ValueError(f"retrain_epochs must be > 0, got {self.retrain_epochs}")

    def targets(self) -> Targets:
        return Targets(self.heads_frac, self.ffn_frac, self.ffn_unit, self.heads_step_frac, self.ffn_step_frac,
                       self.stop_fraction, self.iterative)

    def needs_data(self) -> bool:
        """Whether scoring examples are needed (gradient scores, a stopping rule, or a bad variant of
        a gradient-scored mask)."""
        if self.importance == "gradient":
            return self.mask is None or self.variant == "bad"
        return self.stop_fraction is not None


def _data_dir(ctx: ReductionContext) -> Any:
    if "data_dir" in ctx.extra:
        return ctx.extra["data_dir"]
    from joulebench.tasks import resolve_data_dir

    return resolve_data_dir(None)


def _scoring_batches(cfg: StructuredPruneConfig, ctx: ReductionContext, seed: int) -> tuple[list[dict], str]:
    if ctx.train_examples is None:
        raise UserError("structured_prune: the run gives no training examples to score importance on")
    examples, source = scoring_examples(ctx.task, _data_dir(ctx), cfg.score_split, cfg.score_examples, seed,
                                        ctx.train_examples())
    return encode_batches(ctx.tokenizer, examples, ctx.max_seq_len, cfg.score_batch_size, ctx.encode), source


def _pretrained(model: nn.Module, ctx: ReductionContext) -> nn.Module:
    """The pre-trained model the run started from, with the run's seed for the new head."""
    loader = ctx.extra.get("load_pretrained")
    if loader is not None:
        return loader()
    ref = getattr(model.config, "_name_or_path", "") or ""
    if not ref:
        raise UserError("structured_prune retrain: cannot tell which pre-trained weights this model came from")
    from joulebench.models.pooling import pooling_of
    from joulebench.tasks.kinds import kind_of

    return kind_of(ctx.task).load_pretrained(ref, ctx.task, ctx.seed, pooling_of(model)).model


def find_mask(model: nn.Module, cfg: StructuredPruneConfig, ctx: ReductionContext) -> tuple[StructureMask, dict]:
    """The mask ``cfg`` asks for on the fine-tuned ``model``, and how it was found."""
    geo = geometry(model)
    seed = ctx.seed if cfg.seed is None else cfg.seed
    batches, source = _scoring_batches(cfg, ctx, seed) if cfg.needs_data() else ([], None)
    info: dict[str, Any] = {"scoring_data": source, "n_score_examples": sum(batch_size_of(b) for b in batches)}
    scorer = make_scorer(model, batches, cfg.importance, ctx.device) if (batches or cfg.importance == "magnitude") \
        else None
    if cfg.mask is not None:
        good = load_mask(cfg.mask)
        good.check_fits(geo)
        info["mask_file"] = cfg.mask
        if cfg.variant == "good":
            return good, info
        initial = scorer(StructureMask.full(geo)).importance if scorer is not None else None
        granularity = cfg.ffn_unit
    else:
        if scorer is None:
            raise UserError("structured_prune: the search needs importance scores, and no scoring data was found")
        result = iterative_prune(scorer, StructureMask.full(geo), cfg.targets().plan(geo))
        good, initial, granularity = result.mask, result.initial, cfg.ffn_unit
        info.update(full_score_accuracy=result.full_accuracy, pruned_score_accuracy=result.accuracy,
                    stop_threshold=result.threshold, search=result.trace)
    try:
        mask = variant_mask(cfg.variant, good, initial, granularity, seed)
    except ValueError as exc:
        raise UserError(f"structured_prune: {exc}") from None
    return mask, info


@register_reduction("structured_prune", help="remove attention heads and FFN units (physically smaller model)")
class StructuredPrune:
    """Structured pruning of heads and FFN units (Michel et al. 2019; Prasanna et al. 2020)."""


    config_cls = StructuredPruneConfig

    @staticmethod
    def check_chain(cfg: StructuredPruneConfig, before: Sequence[str], device: str | None) -> None:
        """Heads and FFN units are scored and removed in the float layers of a plain model."""
        must_come_before("structured_prune", before, ("quantize", "runtime", "exported_graph", "early_exit",
                                                      "token_prune", "structured_prune"),
                         "it scores and removes heads and FFN units of the plain float model")

    @staticmethod
    def file_digest(path: str) -> str:
        """A mask file's identity: the digest of what it keeps and the study arm it stands for (a bad or
        random variant that happens to equal the good mask is still its own arm), not the rest of the
        metadata saved beside it."""
        mask = load_mask(path)
        return f"{mask.digest()}-{mask.meta.get('variant', 'good')}"

    def apply(self, model: nn.Module, cfg: StructuredPruneConfig, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        before = param_count(model)
        mask, info = find_mask(model, cfg, ctx)
        if cfg.retrain:
            if ctx.fine_tune is None:
                raise UserError("structured_prune retrain: the run gives no fine-tuning function")
            model = compact(_pretrained(model, ctx), mask)
            start = time.perf_counter()
            ctx.fine_tune(model, epochs=cfg.retrain_epochs, what="structured_prune retrain")
            info["retrain_time_s"] = round(time.perf_counter() - start, 3)
        else:
            model = compact(model, mask)
        model.eval()
        details = {
            "variant": mask.meta.get("variant", cfg.variant),
            "importance": mask.meta.get("importance", cfg.importance),
            "ffn_unit": mask.meta.get("ffn_unit", cfg.ffn_unit),
            "retrained": cfg.retrain,
            "heads_kept_per_layer": mask.heads_kept(),
            "ffn_units_kept_per_layer": mask.ffn_kept(),
            "param_count_before": before,
            "param_count_after": param_count(model),
            **mask.summary(),
            "mask_digest": mask.digest(),
            # how the mask was made, without its seed: seeds of one recipe aggregate in reports
            "mask_recipe": {**{str(k): mask.meta[k] for k in ("task", "model", "importance", "ffn_unit",
                                                              "stop_fraction") if k in mask.meta},
                            "variant": mask.meta.get("variant", cfg.variant),
                            "heads_kept": mask.n_heads_kept, "ffn_units_kept": mask.n_ffn_kept},
            **info,
        }
        return model, details
