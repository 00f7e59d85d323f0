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

from joulebench.reductions.early_exit.calibrate import calibrate_threshold, layer_entropies_and_predictions
from joulebench.reductions.early_exit.config import EXIT_POOLINGS, EarlyExitConfig
from joulebench.reductions.early_exit.heads import ExitHead, entropy, mean_weights, train_exit_heads
from joulebench.reductions.early_exit.model import EarlyExitBert
from joulebench.reductions.early_exit.reduction import EarlyExit

__all__ = ["EXIT_POOLINGS", "EarlyExit", "EarlyExitBert", "EarlyExitConfig", "ExitHead", "calibrate_threshold",
           "entropy", "layer_entropies_and_predictions", "mean_weights", "train_exit_heads"]
