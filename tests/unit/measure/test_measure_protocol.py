"""The protocol on a synthetic model whose cost is proportional to the tokens it sees.

Under the old stopping rule (time until enough calls and seconds) a model twice as fast was timed
on a different share of short inputs and measured 0.69x. With whole passes over the same examples
it must measure 0.50x, offline and online, paired or not.
"""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from joulebench.config.schema import MeasureConfig, RunConfig
from joulebench.measure.protocol import Measurement, median_interval, paired_ratios
from joulebench.models.batching import Encoded
from joulebench.runner import MeasuredModel, Runner, online_indices, workload

SLOW_S_PER_TOKEN = 100e-6


class BusyPerToken(nn.Module):
    """Spins the CPU for ``seconds_per_token`` x the padded tokens of the batch; returns logits."""

    def __init__(self, seconds_per_token: float) -> None:
        super().__init__()
        self.seconds_per_token = seconds_per_token

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        end = time.perf_counter() + self.seconds_per_token * input_ids.numel()
        while time.perf_counter() < end:
            pass
        return torch.zeros(input_ids.shape[0], 2)


def _encoded(n: int = 48) -> list[Encoded]:
    # lengths 3..50: long and short examples, as in a real split
    return [Encoded([1] * (3 + (7 * i) % 48), [0] * (3 + (7 * i) % 48), i % 2) for i in range(n)]


def _config(scenario: str) -> RunConfig:
    return RunConfig(task="sst2", model="synthetic", measure=MeasureConfig(
        scenario=scenario, batch_size=8, repeats=3, warmup_calls=1, online_examples=24, energy_meter="estimate",
        threads=1))


def _measured(model: nn.Module, config: RunConfig) -> MeasuredModel:
    return MeasuredModel(model, _encoded(), config, 0, "cpu", 1)


@pytest.mark.parametrize("scenario", ["offline", "online"])
def test_twice_as_fast_measures_half_paired(scenario) -> None:
    config = _config(scenario)
    slow, fast = BusyPerToken(SLOW_S_PER_TOKEN), BusyPerToken(SLOW_S_PER_TOKEN / 2)
    cost = Runner().measure_cost_paired(_measured(fast, config), _measured(slow, config))
    ratios = cost["vs_baseline"]
    assert ratios["time"]["ratio"] == pytest.approx(0.50, abs=0.015)
    assert ratios["energy"]["ratio"] == pytest.approx(0.50, abs=0.015)
    low, high = ratios["time"]["ci95"]
    assert low <= ratios["time"]["ratio"] <= high
    rounds = cost["vs_baseline"]["order"].split()
    assert set(rounds) <= {"TB", "BT"} and abs(rounds.count("TB") - rounds.count("BT")) <= 1  # balanced
    assert cost["protocol"]["repeats"] == 3
    expected = 48 if scenario == "offline" else 24
    assert cost["protocol"]["n_examples"] == expected
    assert cost["n_timed_examples"] == 3 * expected  # three whole passes, nothing more


@pytest.mark.parametrize("scenario", ["offline", "online"])
def test_twice_as_fast_measures_half_alone(scenario) -> None:
    config = _config(scenario)
    runner = Runner()
    slow = runner.measure_cost(BusyPerToken(SLOW_S_PER_TOKEN), _encoded(), config, 0, "cpu", 1)
    fast = runner.measure_cost(BusyPerToken(SLOW_S_PER_TOKEN / 2), _encoded(), config, 0, "cpu", 1)
    assert fast["latency_ms_mean"] / slow["latency_ms_mean"] == pytest.approx(0.50, abs=0.015)
    assert fast["energy_j_per_example"] / slow["energy_j_per_example"] == pytest.approx(0.50, abs=0.015)
    assert slow["throughput_eps"] / fast["throughput_eps"] == pytest.approx(0.50, abs=0.015)
    for metric, (low, high) in fast["ci95"].items():
        assert low <= fast[metric] <= high, metric


def test_online_sample_is_seeded_unsorted_and_the_same_for_every_model() -> None:
    drawn = online_indices(872, 200, seed=0)
    assert drawn == online_indices(872, 200, seed=0)
    assert len(set(drawn)) == 200 and drawn != sorted(drawn)
    assert drawn != online_indices(872, 200, seed=1)
    config = _config("online")
    a = workload(BusyPerToken(0), _encoded(), config.measure, 0, "cpu")
    b = workload(BusyPerToken(0), _encoded(), config.measure, 0, "cpu")
    assert a.description["indices_sha256"] == b.description["indices_sha256"]


def test_median_interval_contains_the_median_and_narrows_with_agreement() -> None:
    med, low, high = median_interval([1.0, 1.1, 0.9, 1.0])
    assert med == 1.0 and low < 1.0 < high
    _, tight_low, tight_high = median_interval([1.0, 1.01, 0.99, 1.0])
    assert tight_high - tight_low < high - low
    assert median_interval([2.0]) == (2.0, 2.0, 2.0)
    ratio, r_low, r_high = median_interval([0.5, 0.52, 0.48], log=True)
    assert r_low < ratio < r_high and r_low > 0


def test_paired_ratios_need_matching_windows() -> None:
    with pytest.raises(ValueError):
        paired_ratios(Measurement(), Measurement())


def test_engine_split_multiplies_back_to_the_whole_ratio() -> None:
    """A target on another engine, timed in the same rounds as the baseline and the dense model on that engine:
    target / baseline = (engine / baseline) x (target / engine), each part with its own interval."""
    config = _config("offline")
    baseline, on_engine, target = (BusyPerToken(SLOW_S_PER_TOKEN), BusyPerToken(SLOW_S_PER_TOKEN * 0.8),
                                   BusyPerToken(SLOW_S_PER_TOKEN * 0.4))
    cost = Runner().measure_cost_paired(_measured(target, config), _measured(baseline, config),
                                        _measured(on_engine, config), "onnxruntime")
    split = cost["vs_baseline"]["engine_split"]
    assert split["engine"] == "onnxruntime"
    engine, reduction = split["engine_part"]["time"], split["reduction_part"]["time"]
    assert engine["ratio"] == pytest.approx(0.8, abs=0.03)
    assert reduction["ratio"] == pytest.approx(0.5, abs=0.03)
    whole = cost["vs_baseline"]["time"]["ratio"]
    assert whole == pytest.approx(engine["ratio"] * reduction["ratio"], rel=0.05)
    assert engine["ci95"][0] <= engine["ratio"] <= engine["ci95"][1]
    assert all(len(r) == 3 and set(r) == set("TBE") for r in cost["vs_baseline"]["order"].split())


def test_round_orders_are_balanced_and_seeded() -> None:
    from joulebench.measure.protocol import round_orders

    assert round_orders("TB", 4) == "TB BT TB BT"
    drawn = round_orders("TB", 8, seed=3).split()
    assert drawn.count("TB") == drawn.count("BT") == 4
    assert round_orders("TB", 8, seed=3) == round_orders("TB", 8, seed=3)
    assert {round_orders("TB", 8, seed=s) for s in range(10)} != {round_orders("TB", 8, seed=3)}
    three = round_orders("TBE", 6, seed=1).split()
    assert sorted(three) == sorted(["TBE", "TEB", "BTE", "BET", "ETB", "EBT"])  # each side first twice
