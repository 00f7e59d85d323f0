"""The lines a search prints when it ends: the frontier it found or the goal's answer, with intervals."""

from __future__ import annotations

from joulebench.experiments.search.driver import SearchOutcome, Trial
from joulebench.experiments.search.frontier import pareto_trials
from joulebench.experiments.search.objectives import Goal
from joulebench.experiments.search.space import SearchSpace


def _values(trial: Trial) -> str:
    return "; ".join(e.text() for e in trial.estimates.values())


def summary_lines(outcome: SearchOutcome, space: SearchSpace, goal: Goal | None) -> list[str]:
    """Runs and time, then the goal's answer (and its ties) or the Pareto-optimal trials."""
    stored = sum(t.source == "stored" for t in outcome.trials)
    lines = [f"search: {len(outcome.trials)} trials ({stored} from the store, {outcome.runs} measured now, "
             f"{len(outcome.failures)} failed) in {outcome.seconds:.0f} s; stopped: {outcome.stopped}",
             "costs are ratios to the baseline (paired ABBA rounds), quality is the mean on the evaluation "
             "split; [95% intervals]"]
    if goal is not None:
        constraints = " and ".join(c.text for c in goal.constraints) or "no constraint"
        lines.append(f"goal: {goal.objective.text} s.t. {constraints}")
        if outcome.answer is None:
            lines.append("answer: no measured trial satisfies the constraints")
        else:
            lines.append(f"answer: {outcome.answer.label}: {_values(outcome.answer)}")
            for tie in outcome.ties:
                lines.append(f"  not distinguishable from it (interval contains its value): {tie.label}: "
                             f"{_values(tie)}")
        return lines
    objectives = space.objectives
    front = pareto_trials(outcome.trials, objectives)
    lines.append(f"frontier ({', '.join(o.text for o in objectives)}): {len(front)} trial"
                 f"{'s' * (len(front) != 1)}")
    first = objectives[0]
    for trial in sorted(front, key=lambda t: t.estimates[first.metric].value):
        lines.append(f"  {trial.label}: {_values(trial)}")
    return lines
