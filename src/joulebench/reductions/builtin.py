"""Imports the built-in reduction modules so they register themselves."""

import joulebench.reductions.distill  # noqa: F401
import joulebench.reductions.early_exit  # noqa: F401
import joulebench.reductions.layer_drop  # noqa: F401
import joulebench.reductions.lottery  # noqa: F401  (ticket)
import joulebench.reductions.quantize  # noqa: F401
import joulebench.reductions.seq_len  # noqa: F401
import joulebench.reductions.structured  # noqa: F401
import joulebench.reductions.token_prune  # noqa: F401
