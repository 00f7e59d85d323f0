"""Measuring tools: energy meters, timing, latency statistics, peak memory, FLOPs, threads."""

from __future__ import annotations

from joulebench.measure.energy import (
    ENERGY_METERS,
    EnergyMeter,
    EnergyWindow,
    EstimateMeter,
    NvmlMeter,
    RaplMeter,
    make_energy_meter,
)
from joulebench.measure.flops import counted_forward, flops_per_example, forward_flops
from joulebench.measure.memory import PeakMemory
from joulebench.measure.stats import binomial_stderr, bootstrap_stderr, percentile, summarize_latency
from joulebench.measure.threads import pin_threads
from joulebench.measure.timing import TimingResult, time_passes

__all__ = [
    "ENERGY_METERS",
    "EnergyMeter",
    "EnergyWindow",
    "EstimateMeter",
    "NvmlMeter",
    "PeakMemory",
    "RaplMeter",
    "TimingResult",
    "binomial_stderr",
    "bootstrap_stderr",
    "counted_forward",
    "flops_per_example",
    "forward_flops",
    "make_energy_meter",
    "percentile",
    "pin_threads",
    "summarize_latency",
    "time_passes",
]
