"""seq_len: evaluate on at most ``max_seq_len`` tokens per example.

Attention is quadratic and everything else linear in the sequence length, so truncation is the
simplest cost knob. It only lowers the context (``min`` with what is already set), so a sweep
over 16/32/64/128 is one list and the order among reductions does not matter. ``fraction`` keeps a
share of the run's own context instead (0.5: half of ``max_seq_len``): the same reduction across
tasks of different lengths (64 tokens for SST-2, 256 for SQuAD), as a cross-task sweep needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from joulebench.reductions.base import ReductionContext, param, register_reduction


@dataclass(frozen=True)
class SeqLenConfig:
    """Parameters of ``seq_len``."""

    max_seq_len: int | None = param("Tokens kept per example at evaluation ([CLS] and [SEP] included).", None)
    fraction: float | None = param("Instead of max_seq_len: this share of the run's max_seq_len (rounded down).",
                                   None)

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        if (self.max_seq_len is None) == (self.fraction is None):
            raise ValueError("give either max_seq_len or fraction")
        if self.max_seq_len is not None and self.max_seq_len < 2:
            raise ValueError(f"max_seq_len must be >= 2 ([CLS] plus one token), got {self.max_seq_len}")
        if self.fraction is not None and not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")


@register_reduction("seq_len", help="truncate evaluation inputs to max_seq_len tokens (min with the run's)")
class SeqLen:
    """Lower the evaluation context length."""


    config_cls: ClassVar[type] = SeqLenConfig

    def apply(self, model: nn.Module, cfg: SeqLenConfig, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Set ``ctx.max_seq_len`` to ``min(current, cfg.max_seq_len)`` (or the ``fraction`` of it); the
        model is unchanged."""
        if cfg.max_seq_len is not None:
            wanted = cfg.max_seq_len
        else:
            assert cfg.fraction is not None  # validate(): exactly one of the two
            wanted = max(2, int(ctx.max_seq_len * cfg.fraction))
        ctx.max_seq_len = min(ctx.max_seq_len, wanted)
        return model, {"max_seq_len": ctx.max_seq_len}
