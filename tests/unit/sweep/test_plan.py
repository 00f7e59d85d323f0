"""Planning: configurations sharing a checkpoint run consecutively; counts of what is left."""

from __future__ import annotations

from joulebench.config import config_hash
from joulebench.experiments.sweep import load_sweep, make_plan
from joulebench.runner import Runner

train_key = Runner().train_key


def test_configurations_sharing_a_checkpoint_are_consecutive(tiny_sweep):
    configs = load_sweep(tiny_sweep)
    assert [c.train.seed for c in configs] == [0, 1, 0, 1, 0, 1]  # as expanded: interleaved
    plan = make_plan(configs, set(), train_key, lambda key: False)
    assert [item.config.train.seed for item in plan.items] == [0, 0, 0, 1, 1, 1]
    assert [[r.name for r in item.config.reductions] for item in plan.items[:3]] == [[], ["layer_drop"], ["seq_len"]]
    assert [len(group) for group in plan.groups()] == [3, 3]
    assert plan.fine_tunings == 2 and len(plan.pending) == 6 and plan.done == 0
    assert plan.summary() == ("6 configurations (2 fine-tuned checkpoints); already done: 0; "
                              "to run: 6 measurements and 2 fine-tunings")


def test_done_and_cached_work_is_counted(tiny_sweep):
    configs = load_sweep(tiny_sweep)
    seed0 = [c for c in configs if c.train.seed == 0]
    done = {config_hash(c) for c in seed0}  # the whole seed-0 group is stored
    cached = {train_key(configs[1])}  # and the seed-1 checkpoint survived an interruption
    plan = make_plan(configs, done, train_key, lambda key: key in cached)
    assert plan.done == 3 and len(plan.pending) == 3 and plan.fine_tunings == 0 and plan.reused_checkpoints == 1
    assert [len(g) for g in plan.groups()] == [3]
    assert "already done: 3; to run: 3 measurements and 0 fine-tunings (1 checkpoint already cached)" in plan.summary()
