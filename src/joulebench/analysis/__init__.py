"""Pure analysis over result records: aggregation, Pareto frontiers, energy budgets.

Everything here takes lists of record dicts (see ``joulebench.results.schema``) or the
aggregated :class:`~joulebench.analysis.aggregate.Point` objects built from them, and returns
new values; the only I/O is :func:`~joulebench.analysis.load.load_records`.
"""
