"""The backend probe: measured once per machine fingerprint, cached, and read back."""

from __future__ import annotations

import json

import pytest

from joulebench.errors import UserError
from joulebench.reductions import backend_probe
from joulebench.reductions.backend_probe import ProbeResult, choose_half, choose_int8


@pytest.mark.real_probe
def test_the_probe_measures_every_available_candidate_and_caches_it(tmp_path, monkeypatch):
    monkeypatch.setenv("JOULEBENCH_CACHE", str(tmp_path))
    measured = []
    real = backend_probe.measure_probe
    monkeypatch.setattr(backend_probe, "measure_probe", lambda *a: measured.append(1) or real(*a))
    first = backend_probe.probe_backends(1, "cpu")
    assert first.median_ms["fp32"] > 0 and first.median_ms["torch_ao"] > 0
    assert set(first.median_ms) | set(first.unavailable) == {"fp32", "torch_ao", "torchao", "onnxruntime",
                                                             "bf16", "fp16"}
    assert all(first.calls[name] >= 1 for name in first.median_ms)
    stored = list((tmp_path / "backend_probe").glob("*.json"))
    assert [p.stem for p in stored] == [first.key]
    again = backend_probe.probe_backends(1, "cpu")
    assert again.median_ms == first.median_ms and len(measured) == 1  # read back, not measured again
    other_threads = backend_probe.probe_backends(2, "cpu")
    assert other_threads.key != first.key and len(measured) == 2  # another fingerprint: measured anew


@pytest.mark.real_probe
def test_a_cache_entry_from_another_machine_is_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setenv("JOULEBENCH_CACHE", str(tmp_path))
    fingerprint = backend_probe.machine_fingerprint(1, "cpu")
    key = backend_probe.fingerprint_key(fingerprint)
    (tmp_path / "backend_probe").mkdir()
    forged = {"fingerprint": {**fingerprint, "cpu": "another CPU"}, "key": key, "measured_utc": "x",
              "median_ms": {"fp32": 1.0, "torch_ao": 100.0}, "unavailable": {}, "calls": {}, "shape": {}}
    (tmp_path / "backend_probe" / f"{key}.json").write_text(json.dumps(forged))
    monkeypatch.setattr(backend_probe, "measure_probe",
                        lambda *a: ProbeResult(fingerprint, key, "now", {"fp32": 2.0, "torch_ao": 1.0}))
    assert backend_probe.probe_backends(1, "cpu").median_ms["torch_ao"] == 1.0


def _probe(**ms):
    return ProbeResult({}, "k", "t", {"fp32": 10.0, **ms}, {"torchao": "not installed"})


def test_choose_int8_takes_the_fastest_eligible_and_names_the_candidates():
    choice = choose_int8(("torch_ao", "onnxruntime"), _probe(torch_ao=4.0, onnxruntime=5.0))
    assert choice.picked == "torch_ao"
    assert "torch_ao 0.40x, torchao unavailable (not installed), onnxruntime 0.50x" in choice.reason
    assert choose_int8(("torch_ao",), _probe(torch_ao=6.0, onnxruntime=5.0)).picked == "torch_ao"


def test_choose_int8_without_a_measured_backend_is_a_clear_error():
    with pytest.raises(UserError, match="no int8 backend ran on this machine"):
        choose_int8(("torchao",), _probe(torch_ao=4.0))


def test_choose_half_refuses_a_dtype_slower_than_fp32():
    assert choose_half(("bf16", "fp16"), _probe(bf16=6.0, fp16=7.0)).picked == "bf16"
    with pytest.raises(UserError, match="faster than fp32"):
        choose_half(("bf16",), _probe(bf16=10.5))


def _probe_rounds(**samples):
    """A probe with per-round call times (ms) for each candidate."""
    import statistics

    samples = {"fp32": [10.0] * len(next(iter(samples.values()))), **samples}
    return ProbeResult({}, "k", "t", {n: statistics.median(s) for n, s in samples.items()}, {},
                       {n: len(s) for n, s in samples.items()}, samples_ms=samples)


def test_a_margin_within_the_probe_noise_keeps_the_preferred_backend_and_says_so():
    # onnxruntime's median is lower, but round by round the two trade places: a tie.
    tied = _probe_rounds(torch_ao=[5.0, 4.6, 5.3, 4.7, 5.2, 4.8], onnxruntime=[4.7, 5.1, 4.6, 5.0, 4.5, 4.9])
    choice = choose_int8(("torch_ao", "onnxruntime"), tied)
    assert choice.picked == "torch_ao"
    assert "within the probe's noise" in choice.reason and "tie goes to torch_ao" in choice.reason
    low, high = choice.probe["margins"]["torch_ao"]["ci95"]
    assert low < 1.0 < high


def test_a_margin_outside_the_noise_takes_the_faster_backend():
    clear = _probe_rounds(torch_ao=[5.0, 5.1, 5.2, 4.9, 5.0, 5.1], onnxruntime=[3.0, 3.1, 2.9, 3.0, 3.2, 3.0])
    choice = choose_int8(("torch_ao", "onnxruntime"), clear)
    assert choice.picked == "onnxruntime" and "outside the probe's noise" in choice.reason
    ratio = choice.probe["margins"]["torch_ao"]["ratio"]
    assert ratio == pytest.approx(3.0 / 5.05, rel=0.05)


def test_probe_shape_follows_the_scenario_and_the_model_width():
    from transformers import BertConfig

    online = backend_probe.probe_shape(1, 23, BertConfig(hidden_size=768, num_attention_heads=12,
                                                         intermediate_size=3072))
    assert (online["batch"], online["tokens"], online["hidden"], online["ffn"]) == (1, 23, 768, 3072)
    assert backend_probe.probe_shape()["batch"] == backend_probe.PROBE_SHAPE["batch"]


def test_call_shape_is_the_scenarios_batch_and_median_padded_width():
    from types import SimpleNamespace

    from joulebench.measure.cost import call_shape
    from joulebench.models.batching import Encoded

    encoded = [Encoded(list(range(n)), [0] * n, 0) for n in [5, 7, 9, 11, 30, 40]]
    offline = SimpleNamespace(scenario="offline", batch_size=2)
    assert call_shape(encoded, offline) == (2, 11)  # batches padded to 7, 11, 40
    online = SimpleNamespace(scenario="online", online_examples=6, sample_seed=0)
    assert call_shape(encoded, online) == (1, 10)  # the median example of the requests
