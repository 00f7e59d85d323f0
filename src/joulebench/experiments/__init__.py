"""Experiments: planners above the runner. Each turns a spec into configurations, has them run
(through the Runner, directly or by an executor) and reads their records back.

    sweep/       a grid (``grid:``/``zip:``) expanded, planned by checkpoint, run by an executor
    search/      a search space explored by an Optuna sampler, trials told back from the store
    lottery/     the lottery-ticket study (search / evaluate / transfer / mlm) behind ``joulebench ticket``
    structured/  the good/bad/random structured-pruning study behind ``joulebench prune``

Layering: experiments import the runner, reductions, analysis and everything below; nothing
below imports an experiment (tests/unit/core/test_import_circles.py). A new kind of experiment
is a new package here, and the CLI gets one thin command (or ``commands/`` module) for it.
"""
