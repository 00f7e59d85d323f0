"""Fine-tuning: the training loop and the regimes (full, frozen, top_k)."""

from joulebench.training.regimes import REGIMES, trainable_names
from joulebench.training.trainer import TrainResult, fine_tune

__all__ = ["REGIMES", "TrainResult", "fine_tune", "trainable_names"]
