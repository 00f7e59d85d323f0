"""The demo adds its 16-bit row (dtype auto16) only where the backend probe measured a 16-bit
dtype faster than fp32 on a device that runs it, and says which."""

from __future__ import annotations

from joulebench import demo
from joulebench.experiments.sweep import load_sweep


def _half_rows(configs) -> list:
    return [c for c in configs if any(dict(r.params).get("dtype") == "auto16" for r in c.reductions)]


def _probe(monkeypatch, **median_ms):
    from joulebench.reductions import backend_probe

    probe = backend_probe.ProbeResult({}, "k", "t", {"fp32": 10.0, **median_ms}, {})
    monkeypatch.setattr(backend_probe, "probe_backends", lambda *a, **k: probe)


def _bf16_runs(monkeypatch, runs: bool):
    from joulebench.reductions import quantize

    real = quantize.device_problem
    monkeypatch.setattr(quantize, "device_problem", lambda dtype, device: (
        (None if runs else "bf16 needs native bf16 instructions") if dtype == "bf16" else real(dtype, device)))


def test_16_bit_row_is_added_where_the_probe_measured_it_faster(monkeypatch):
    _bf16_runs(monkeypatch, True)
    _probe(monkeypatch, bf16=5.5, fp16=40.0)
    configs, line = demo.demo_configs()
    base = load_sweep(demo.demo_config_path())
    assert len(configs) == len(base) + 1
    assert line.startswith("16-bit: included offline as dtype auto16 -> bf16") and "bf16 0.55x" in line
    (row,) = _half_rows(configs)
    assert row.measure.scenario == "offline"


def test_16_bit_row_is_skipped_where_bf16_is_no_faster_than_fp32(monkeypatch):
    _bf16_runs(monkeypatch, True)
    _probe(monkeypatch, bf16=10.3, fp16=40.0)
    configs, line = demo.demo_configs()
    assert not _half_rows(configs)
    assert line.startswith("16-bit: skipped (") and "no 16-bit dtype was faster than fp32" in line


def test_16_bit_row_is_skipped_with_the_reason_on_a_cpu_without_bf16(monkeypatch):
    _bf16_runs(monkeypatch, False)
    configs, line = demo.demo_configs()
    assert not _half_rows(configs) and "bf16 needs native bf16 instructions" in line
