"""Search: find the frontier (or a goal's answer) without running the grid.

    space = load_search("configs/search_sst2.yaml")
    outcome = run_search(space, "runs/search", trials=13)                     # a frontier
    outcome = run_search(space, "runs/search", trials=30, goal=parse_goal(
        "min energy_j_per_example s.t. accuracy >= baseline - 0.01"))         # one answer

Samplers are Optuna's (TPE, the default, multivariate; NSGA-II; random), with their constrained
variants when the search has constraints. Measurement noise is handled three ways: cost
objectives are paired ratios to the baseline (ABBA rounds, so drift between trials cancels),
every trial's values carry their 95% intervals, and the goal mode counts a trial as an
improvement only when its whole interval lies beyond the current answer (so the search neither
chases nor stops on noise), and lists the trials it cannot tell apart from its answer.
"""

from joulebench.experiments.search.driver import SearchOutcome, Trial, make_sampler, run_search, stored_trials
from joulebench.experiments.search.frontier import hypervolume, minimised, pareto_trials
from joulebench.experiments.search.objectives import (
    Constraint,
    Estimate,
    Goal,
    Objective,
    parse_constraint,
    parse_goal,
    parse_objective,
)
from joulebench.experiments.search.parsing import is_search, load_search, parse_search
from joulebench.experiments.search.space import Param, SearchSpace, Slot

__all__ = [
    "Constraint", "Estimate", "Goal", "Objective", "Param", "SearchOutcome", "SearchSpace", "Slot", "Trial",
    "hypervolume", "is_search", "load_search", "make_sampler", "minimised", "parse_constraint", "parse_goal",
    "parse_objective", "parse_search", "pareto_trials", "run_search", "stored_trials",
]
