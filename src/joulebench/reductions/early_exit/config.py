"""The parameters of ``early_exit``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from joulebench.reductions.base import param
from joulebench.reductions.calibration import CALIBRATIONS

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
        "layer stays within this (0.01 = one point), chosen as `calibration` says (never on the examples it is "
        "reported on).", None)
    calibration: str = param(
        "Where max_drop's threshold is chosen: auto (the task's calibration file; else dev where figures are on "
        "test; else dev cross-fitted on two halves, each half scored with the threshold chosen on the other), "
        "crossfit, validation, file, or heldout_train (training examples the fine-tuning did not see; the record "
        "says where their distribution differs from the reported split's).", "auto")
    calibration_examples: int = param("With calibration heldout_train: how many held-out training examples.", 1000)
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
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {', '.join(CALIBRATIONS)}, got {self.calibration!r}")
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
