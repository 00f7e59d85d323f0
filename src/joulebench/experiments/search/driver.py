"""run_search: an Optuna study over a search space, each trial an ordinary configuration.

Trials are run through the sweep machinery (``run_sweep``: the plan, the checkpoint cache, the
chosen executor, ABBA pairing with the baseline) and stored in ``OUT/results.jsonl`` like any
other record. The study itself lives in memory and is rebuilt from the store at every start: each
stored record that is a point of the space is told to the study as a finished trial, so a killed
search resumes without re-running anything, and a point the sampler proposes again is answered
from the store, not measured twice.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from joulebench import promises
from joulebench.analysis.aggregate import Point, aggregate
from joulebench.config.schema import RunConfig, config_hash
from joulebench.errors import UserError
from joulebench.experiments.search.objectives import Constraint, Estimate, Goal, Objective, estimate
from joulebench.experiments.search.space import SearchSpace
from joulebench.experiments.sweep.expand import expand_sweep
from joulebench.experiments.sweep.progress import print_line
from joulebench.results.store import RESULTS_FILE

#: Proposals in a row that hit already-measured points before the space counts as exhausted.
MAX_REPEATS = 25


@dataclass(frozen=True)
class Trial:
    """One measured point of the space, as the search saw it.

    Attributes:
        params: the sampler's parameters.
        config_hash: the configuration's identity in the store.
        label: the configuration's name.
        estimates: objective and constraint metric -> value with interval.
        violations: one per constraint, in the metric's unit (<= 0: satisfied).
        source: "stored" (told from the store at start) or "measured" (run by this call).
    """

    params: dict[str, Any]
    config_hash: str
    label: str
    estimates: dict[str, Estimate]
    violations: tuple[float, ...]
    source: str

    @property
    def feasible(self) -> bool:
        return all(v <= 1e-12 for v in self.violations)


@dataclass
class SearchOutcome:
    """What a search call did and found.

    Attributes:
        trials: every distinct point of the space measured in OUT (stored and new), in order.
        runs: configurations this call measured (the baseline included when it ran).
        seconds: wall-clock seconds of this call.
        stopped: why the search stopped.
        answer: in goal mode, the best feasible trial; else None.
        ties: in goal mode, other feasible trials whose interval overlaps the answer's value.
        failures: configurations that failed (told to the study as failed trials).
    """

    trials: list[Trial] = field(default_factory=list)
    runs: int = 0
    seconds: float = 0.0
    stopped: str = ""
    answer: Trial | None = None
    ties: list[Trial] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


def make_sampler(name: str, seed: int, trials: int) -> Any:
    """The Optuna sampler for ``name``, sized to the trial budget.

    Constraints reach the samplers through each trial's constraint values (``set_constraint``;
    TPE and NSGA-II then use their constrained variants).
    """
    import optuna

    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(4, trials // 3))
    startup = min(10, max(3, trials // 3))  # a third of a small budget explores, the rest exploits
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True)


def run_search(
    space: SearchSpace,
    out: str | Path,
    trials: int,
    *,
    goal: Goal | None = None,
    patience: int = 6,
    executor: str = "local",
    parallel: int = 1,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    console: Console | None = None,
    run_configs: Callable[[list[RunConfig]], list[tuple[str, str]]] | None = None,
) -> SearchOutcome:
    """Search ``space`` until OUT holds ``trials`` distinct points of it (or the goal settles).

    Args:
        space: the parsed search file.
        out: output directory (``OUT/results.jsonl``, shared with sweeps and the report).
        trials: how many distinct points of the space to measure in all, counting those already
            stored (so re-running the same command after a kill continues where it stopped).
        goal: one objective plus constraints; replaces the file's objectives and adds its
            constraints, and the search stops once ``patience`` trials in a row have not improved
            the answer beyond its interval.
        patience: goal mode: trials without an improvement beyond noise before stopping.
        executor: ``local`` or ``ray``; with ``ray``, ``parallel`` trials are in flight at once.
        parallel: trials asked of the sampler per round (each round runs as one sweep).
        data_dir, cache_dir: as for ``run_sweep``.
        console: where progress goes (default stderr).
        run_configs: replaces the sweep call (tests); returns (config hash, message) failures.

    Returns:
        The trials, runs, time, the reason for stopping and, in goal mode, the answer.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if trials < 1:
        raise UserError(f"--trials: expected a positive number, got {trials}")
    if parallel < 1:
        raise UserError(f"--parallel: expected a positive number, got {parallel}")
    console = console or Console(stderr=True)
    objectives: tuple[Objective, ...] = (goal.objective,) if goal else space.objectives
    constraints: tuple[Constraint, ...] = space.constraints + (goal.constraints if goal else ())
    started = time.monotonic()
    outcome = SearchOutcome()
    store_path = Path(out) / RESULTS_FILE
    runner = run_configs or _sweep_runner(out, executor, data_dir, cache_dir, console)
    from joulebench.tasks import resolve_data_dir

    space = dataclasses.replace(space, data_dir=resolve_data_dir(data_dir))

    baseline_config = _baseline_config(space)
    baseline_hash = config_hash(baseline_config)
    stored_before = _stored_hashes(store_path)
    if baseline_hash not in stored_before:
        print_line(console, f"search: measuring the baseline first ({baseline_config.name})")
        baseline_failures = runner([baseline_config])
        outcome.runs += 1
        if baseline_failures:
            raise UserError(f"search: the baseline failed: {baseline_failures[0][1]}")

    directions: list[Any] = [o.direction for o in objectives]
    study = optuna.create_study(directions=directions,
                                sampler=make_sampler(space.sampler, space.seed, trials))
    known = {t.config_hash: t for t in stored_trials(space, out, objectives, constraints)}
    for stored in known.values():
        study.add_trial(_frozen(space, stored, objectives))
    resumed = sum(h in stored_before for h in known)
    if resumed:
        print_line(console, f"search: {resumed} trial{'s' * (resumed != 1)} already in {store_path}: "
                            "told to the study, not re-run")
    baseline_params = space.baseline_params()
    if baseline_params is not None and baseline_hash not in known:
        study.enqueue_trial(baseline_params)

    best: Trial | None = _best(list(known.values()), objectives[0]) if goal else None
    stale, repeats = 0, 0
    outcome.stopped = f"{trials} trials measured"
    while len(known) < trials:
        asked: list[tuple[Any, dict[str, Any], RunConfig, str]] = []
        while len(asked) < min(parallel, trials - len(known)):
            optuna_trial = study.ask()
            params = space.suggest(optuna_trial)
            config = space.config_for(params)
            chash = config_hash(config)
            if chash in known or any(h == chash for *_, h in asked):
                if chash in known and known[chash].source != "failed":  # again: its stored values, no measurement
                    _tell(study, optuna_trial, known[chash], objectives)
                elif chash in known:
                    study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(optuna_trial, state=optuna.trial.TrialState.PRUNED)
                repeats += 1
                if repeats >= MAX_REPEATS:
                    break
                continue
            repeats = 0
            asked.append((optuna_trial, params, config, chash))
        if not asked:
            outcome.stopped = f"the sampler proposed only measured points {MAX_REPEATS} times in a row"
            break
        failures = dict(runner([c for _, _, c, _ in asked]))
        outcome.runs += len(asked)
        points, baseline = _points(_records(store_path), baseline_hash, store_path)
        for optuna_trial, params, config, chash in asked:
            trial = None if chash in failures else (
                _trial(params, chash, points[chash], baseline, objectives, constraints, "measured")
                if chash in points else None)
            if trial is None:
                outcome.failures.append((chash, failures.get(chash, "no record or an objective not measured")))
                study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)
                known[chash] = Trial(params, chash, config.name or chash, {}, (float("inf"),), "failed")
                continue
            known[chash] = trial
            _tell(study, optuna_trial, trial, objectives)
            print_line(console, f"trial {len(known)}/{trials}: {_trial_text(trial)}")
            if goal:
                if best is None or _improves(trial, best, objectives[0]):
                    best, stale = (trial, 0) if trial.feasible else (best, stale + 1)
                else:
                    stale += 1
        if goal and stale >= patience:
            outcome.stopped = (f"goal settled: {stale} trials in a row without an improvement beyond the "
                               "answer's interval")
            break
    outcome.trials = [t for t in known.values() if t.source != "failed"]
    if goal:
        outcome.answer = _best(outcome.trials, objectives[0])
        outcome.ties = _ties(outcome.trials, outcome.answer, objectives[0])
    outcome.seconds = time.monotonic() - started
    return outcome


# -- the store --------------------------------------------------------------------------------------
def stored_trials(space: SearchSpace, out: str | Path, objectives: tuple[Objective, ...] | None = None,
                  constraints: tuple[Constraint, ...] | None = None) -> list[Trial]:
    """Every point of ``space`` stored in ``OUT/results.jsonl``, in store order, as a Trial.

    Records of other configurations (another search, a sweep) are passed over; a point whose
    objectives were not measured is left out. Empty when the baseline is not stored yet.
    """
    objectives = space.objectives if objectives is None else objectives
    constraints = space.constraints if constraints is None else constraints
    store_path = Path(out) / RESULTS_FILE
    baseline_hash = config_hash(_baseline_config(space))
    records = _records(store_path)
    if baseline_hash not in {r.get("config_hash") for r in records}:
        return []
    points, baseline = _points(records, baseline_hash, store_path)
    found: dict[str, Trial] = {}
    for record in records:
        chash = str(record.get("config_hash"))
        params = None if chash in found or chash not in points else space.params_of(record)
        if params is None:
            continue
        trial = _trial(params, chash, points[chash], baseline, objectives, constraints, "stored")
        if trial is not None:
            found[chash] = trial
    return list(found.values())


def _records(path: Path) -> list[dict]:
    from joulebench.analysis.load import load_records

    return load_records(path) if path.is_file() else []


def _stored_hashes(path: Path) -> set[str]:
    return {str(r["config_hash"]) for r in _records(path) if r.get("config_hash")}


def _points(records: list[dict], baseline_hash: str, path: Path) -> tuple[dict[str, Point], Point]:
    """Every stored configuration's point by config hash, and the baseline's point (``path``: for the error)."""
    points = aggregate(records)
    by_hash = {h: p for p in points for h in p.config_hashes}
    if baseline_hash not in by_hash:
        raise UserError(f"search: the baseline {baseline_hash} is not in {path}")
    return by_hash, by_hash[baseline_hash]


def _baseline_config(space: SearchSpace) -> RunConfig:
    """The base configuration without reductions: what every trial is paired with."""
    data = {**space.base, "reductions": [], "name": f"{space.base.get('name') or 'search'} [dense]"}
    return space.bound(expand_sweep(data, space.where, space.base_dir)[0])


def _sweep_runner(out: str | Path, executor: str, data_dir: Any, cache_dir: Any,
                  console: Console) -> Callable[[list[RunConfig]], list[tuple[str, str]]]:
    from joulebench.experiments.sweep import run_sweep

    def run(configs: list[RunConfig]) -> list[tuple[str, str]]:
        result = run_sweep(configs, out, data_dir=data_dir, cache_dir=cache_dir, executor=executor,
                           keep_going=True, pair=True, console=console)
        return [(config_hash(c), message) for c, message in result.failures]

    return run


# -- trials -----------------------------------------------------------------------------------------
def _trial(params: dict[str, Any], chash: str, point: Point, baseline: Point, objectives: tuple[Objective, ...],
           constraints: tuple[Constraint, ...], source: str) -> Trial | None:
    estimates: dict[str, Estimate] = {}
    for metric in {o.metric for o in objectives} | {c.metric for c in constraints}:
        value = estimate(point, baseline, metric)
        if value is not None:
            estimates[metric] = value
    if any(o.metric not in estimates for o in objectives):
        return None
    violations = []
    for constraint in constraints:
        v = constraint.violation(point, baseline)
        violations.append(1e9 if v is None else v)  # not measured: infeasible
    # a calibrated promise that broke, or a reduction that saved nothing, is dominated: never the answer
    violations.append(1.0 if promises.problem(point.records) is not None else 0.0)
    return Trial(params, chash, point.name or point.label, estimates, tuple(violations), source)


def _frozen(space: SearchSpace, trial: Trial, objectives: tuple[Objective, ...]) -> Any:
    import optuna

    return optuna.trial.create_trial(
        params=trial.params, distributions=space.distributions(trial.params),
        values=[trial.estimates[o.metric].value for o in objectives],
        user_attrs={"config_hash": trial.config_hash},
        constraints={f"c{i}": v for i, v in enumerate(trial.violations)} or None)


def _tell(study: Any, optuna_trial: Any, trial: Trial, objectives: tuple[Objective, ...]) -> None:
    optuna_trial.set_user_attr("config_hash", trial.config_hash)
    for i, violation in enumerate(trial.violations):
        optuna_trial.set_constraint(f"c{i}", violation)
    study.tell(optuna_trial, [trial.estimates[o.metric].value for o in objectives])


def _trial_text(trial: Trial) -> str:
    parts = [e.text() for e in trial.estimates.values()]
    mark = "" if trial.feasible else "  (violates a constraint)"
    return f"{trial.label}: {'; '.join(parts)}{mark}"


# -- the goal answer, ranked with its noise -------------------------------------------------------
def _sign(objective: Objective) -> float:
    return 1.0 if objective.direction == "minimize" else -1.0


def _best(trials: list[Trial], objective: Objective) -> Trial | None:
    """The feasible trial with the best objective value (ties: the first measured)."""
    feasible = [t for t in trials if t.feasible and objective.metric in t.estimates]
    if not feasible:
        return None
    return min(feasible, key=lambda t: _sign(objective) * t.estimates[objective.metric].value)


def _improves(new: Trial, old: Trial, objective: Objective) -> bool:
    """``new`` beats ``old`` beyond noise: its whole interval lies on the better side of old's value.

    Without an interval (a trial with one round), the point estimate decides.
    """
    if not new.feasible:
        return False
    a, b = new.estimates[objective.metric], old.estimates[objective.metric]
    far = a.high if objective.direction == "minimize" else a.low
    edge = a.value if far is None else far
    return _sign(objective) * edge < _sign(objective) * b.value


def _ties(trials: list[Trial], answer: Trial | None, objective: Objective) -> list[Trial]:
    """Feasible trials whose interval contains the answer's value: not distinguishable from it."""
    if answer is None:
        return []
    value = answer.estimates[objective.metric].value
    out = []
    for t in trials:
        e = t.estimates.get(objective.metric)
        if t is answer or not t.feasible or e is None or e.low is None or e.high is None:
            continue
        if e.low <= value <= e.high:
            out.append(t)
    return out
