"""seq_len: evaluate on at most ``max_seq_len`` tokens per example.

Attention is quadratic and everything else linear in the sequence length, so truncation is the
simplest cost knob. It only lowers the context (``min`` with what is already set), so a sweep
over 16/32/64/128 is one list and the order among reductions does not matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from joulebench.reductions.base import ReductionContext, param, register_reduction


@dataclass(frozen=True)
class SeqLenConfig:
    """Parameters of ``seq_len``."""

    max_seq_len: int = param("Tokens kept per example at evaluation ([CLS] and [SEP] included).")

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        if self.max_seq_len < 2:
            raise ValueError(f"max_seq_len must be >= 2 ([CLS] plus one token), got {self.max_seq_len}")


@register_reduction("seq_len", help="truncate evaluation inputs to max_seq_len tokens (min with the run's)")
class SeqLen:
    """Lower the evaluation context length."""

    task_kinds: ClassVar[tuple[str, ...]] = ("classification", "qa")

    config_cls: ClassVar[type] = SeqLenConfig

    def apply(self, model: nn.Module, cfg: SeqLenConfig, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Set ``ctx.max_seq_len`` to ``min(current, cfg.max_seq_len)``; the model is unchanged."""
        ctx.max_seq_len = min(ctx.max_seq_len, cfg.max_seq_len)
        return model, {"max_seq_len": ctx.max_seq_len}
