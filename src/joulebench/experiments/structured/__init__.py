"""The structured-pruning study (Prasanna et al. 2020): good / bad / random masks x pruned /
retrained x seeds, behind ``joulebench prune search``. Importance, search and compaction live in
``joulebench.reductions.structured``.
"""
