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
