"""Sweeps: expand a base configuration over grid/zip axes, plan, and run resumably.

    configs = load_sweep("configs/sweep_sst2_reductions.yaml")   # validated, nothing run
    outcome = run_sweep("configs/sweep_sst2_reductions.yaml", "out/", executor="local")
"""

from joulebench.experiments.sweep.driver import print_plan, run_sweep
from joulebench.experiments.sweep.executors import EXECUTORS, ExecutorOptions, SweepOutcome
from joulebench.experiments.sweep.expand import expand_sweep, is_sweep, load_any, load_sweep, read_yaml, sweep_keys
from joulebench.experiments.sweep.plan import PlanItem, SweepPlan, make_plan

__all__ = [
    "EXECUTORS", "ExecutorOptions", "PlanItem", "SweepOutcome", "SweepPlan", "expand_sweep", "is_sweep",
    "load_any", "load_sweep", "make_plan", "print_plan", "read_yaml", "run_sweep", "sweep_keys",
]
