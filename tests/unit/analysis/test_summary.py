"""build_sections: one section per (task, scenario) with frontiers, budgets and gains."""

from __future__ import annotations

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.summary import COST_AXES, build_sections


def test_sections_split_by_task_and_scenario(record):
    records = [record(), record(reductions=[("int8", {})], accuracy=0.89, energy=0.03),
               record(scenario="online", p50=9.0), record(task="mrpc", accuracy=0.84)]
    sections = build_sections(aggregate(records))
    assert [(s.task, s.scenario, len(s.points)) for s in sections] == [
        ("mrpc", "offline", 1), ("sst2", "offline", 2), ("sst2", "online", 1)]
    sst2 = sections[1]
    assert list(sst2.frontiers) == list(COST_AXES)
    assert [(p.tolerance_abs, p.rule) for p in sst2.budget_picks] == [
        (0.01, "point estimate"), (0.01, "non-inferiority"), (0.02, "point estimate"), (0.02, "non-inferiority")]
    assert sst2.budget_picks[2].pick.label == "minilm-l6 full + int8"
    # these records keep no per-example predictions: no paired interval, so only the baseline is
    # shown to be non-inferior
    assert sst2.budget_picks[3].pick.label == "minilm-l6 full"
    assert len(sst2.gains) == 1
    assert sst2.energy_methods == ["estimate"]


def test_energy_notes_differing_only_in_seconds_are_one_note(record):
    note = "estimate: process CPU time {} s x 15.0 W/core (assumed, not measured); no RAPL"
    records = [record(), record(reductions=[("int8", {})])]
    for rec, seconds in zip(records, ("12.6", "3.41"), strict=True):
        rec["cost"]["energy_note"] = note.format(seconds)
    [section] = build_sections(aggregate(records))
    assert section.energy_notes == ["estimate: process CPU time x 15.0 W/core (assumed, not measured); no RAPL"]
