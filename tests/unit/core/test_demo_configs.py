"""The demo adds its bf16 row only where the CPU runs bf16 natively, and says which."""

from __future__ import annotations

from joulebench import demo
from joulebench.experiments.sweep import load_sweep


def _bf16_rows(configs) -> list:
    return [c for c in configs if any(dict(r.params).get("dtype") == "bf16" for r in c.reductions)]


def test_bf16_row_is_added_where_the_cpu_runs_bf16(monkeypatch):
    from joulebench.reductions import quantize

    real = quantize.device_problem
    monkeypatch.setattr(quantize, "device_problem",
                        lambda dtype, device: None if dtype == "bf16" else real(dtype, device))
    configs, line = demo.demo_configs()
    base = load_sweep(demo.demo_config_path())
    assert len(configs) == len(base) + 1 and line.startswith("bf16: included offline")
    (row,) = _bf16_rows(configs)
    assert row.measure.scenario == "offline"


def test_bf16_row_is_skipped_with_the_reason_elsewhere(monkeypatch):
    from joulebench.reductions import quantize

    real = quantize.device_problem
    monkeypatch.setattr(quantize, "device_problem", lambda dtype, device: (
        "bf16 needs native bf16 instructions" if dtype == "bf16" else real(dtype, device)))
    configs, line = demo.demo_configs()
    assert not _bf16_rows(configs) and line == "bf16: skipped (bf16 needs native bf16 instructions)"
