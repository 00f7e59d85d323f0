"""The lottery-ticket study (Chen et al. 2020): find masks by IMP, evaluate them against random
pruning, random re-initialisation and the dense model, transfer them, price them.

Modules: ``settings`` (study files), ``study`` (the runs and their records), ``tables`` (the
Markdown tables read back from the records). The masks, IMP and the ``ticket`` reduction live in
``joulebench.reductions.lottery``.
"""
