"""run_search against a synthetic runner: resuming from the store, repeats answered from it, goals."""

from __future__ import annotations

import json

import pytest

from joulebench.errors import UserError
from joulebench.experiments.search import pareto_trials, parse_goal, parse_search, run_search

from .conftest import SyntheticRunner


@pytest.fixture
def space(search_data):
    return parse_search(search_data, "search.yaml")


def stored_hashes(out) -> list[str]:
    return [json.loads(line)["config_hash"] for line in (out / "results.jsonl").read_text().splitlines()]


def test_the_grid_has_every_point_and_the_baseline_is_one_of_them(space):
    grid = space.grid()
    assert len(grid) == 3 * 3  # layer_drop off/1/2 x seq_len off/8/16
    assert space.baseline_params() in grid
    assert len({space.config_for(p).reductions for p in grid}) == 9


def test_a_stored_record_is_read_back_as_its_point(space, tmp_path):
    runner = SyntheticRunner(tmp_path)
    for params in space.grid():
        config = space.config_for(params)
        runner([config])
        record = json.loads((tmp_path / "results.jsonl").read_text().splitlines()[-1])
        assert space.params_of(record) == params
    other = dict(record, config_hash="0" * 16)
    assert space.params_of(other) is None  # a record of another configuration is not a trial


def test_search_measures_the_baseline_then_distinct_points_up_to_the_budget(space, tmp_path):
    runner = SyntheticRunner(tmp_path)
    outcome = run_search(space, tmp_path, trials=5, run_configs=runner)
    hashes = stored_hashes(tmp_path)
    assert len(hashes) == len(set(hashes)) == 5
    assert outcome.runs == 5 and len(outcome.trials) == 5
    assert outcome.trials[0].label.endswith("[dense]")
    front = pareto_trials(outcome.trials, space.objectives)
    assert front and all(t in outcome.trials for t in front)


def test_a_restarted_search_tells_stored_trials_and_runs_only_new_ones(space, tmp_path):
    first = SyntheticRunner(tmp_path)
    run_search(space, tmp_path, trials=4, run_configs=first)
    second = SyntheticRunner(tmp_path)
    second.baseline_hash = first.baseline_hash
    outcome = run_search(space, tmp_path, trials=7, run_configs=second)
    assert len(second.ran) == 3 and not set(second.ran) & set(first.ran)
    assert sum(t.source == "stored" for t in outcome.trials) == 4
    assert len(set(stored_hashes(tmp_path))) == 7
    again = SyntheticRunner(tmp_path)
    run_search(space, tmp_path, trials=7, run_configs=again)
    assert again.ran == []  # the budget is already met by the store


def test_the_space_exhausted_stops_the_search_without_repeating_a_measurement(space, tmp_path):
    runner = SyntheticRunner(tmp_path)
    outcome = run_search(space, tmp_path, trials=20, run_configs=runner)
    assert len(runner.ran) == len(set(runner.ran)) == 9
    assert "proposed only measured points" in outcome.stopped


def test_goal_mode_answers_the_cheapest_point_within_the_constraint(space, tmp_path):
    goal = parse_goal("min energy_j_per_example s.t. accuracy >= baseline - 0.05")
    outcome = run_search(space, tmp_path, trials=9, goal=goal, patience=50, run_configs=SyntheticRunner(tmp_path))
    measured = {t.config_hash: t for t in outcome.trials}
    feasible = [t for t in measured.values() if t.estimates["accuracy"].value >= 0.9 - 0.05 - 1e-9]
    cheapest = min(feasible, key=lambda t: t.estimates["energy_j_per_example"].value)
    assert outcome.answer is cheapest
    assert outcome.answer.estimates["energy_j_per_example"].low is not None  # with its interval
    assert all(t.feasible for t in outcome.ties)


def test_goal_mode_stops_when_trials_stop_improving_beyond_noise(space, tmp_path):
    goal = parse_goal("min energy_j_per_example s.t. accuracy >= baseline - 0.5")
    outcome = run_search(space, tmp_path, trials=9, goal=goal, patience=2, run_configs=SyntheticRunner(tmp_path))
    if "goal settled" in outcome.stopped:
        assert len(outcome.trials) < 9
    else:  # the budget ran out first: then every trial up to the last was needed
        assert len(outcome.trials) == 9


def test_a_failed_baseline_is_one_line(space, tmp_path):
    def failing(configs):
        return [("x", "out of memory")]

    with pytest.raises(UserError, match="baseline failed: out of memory"):
        run_search(space, tmp_path, trials=3, run_configs=failing)
