"""Energy meters (NVML, RAPL, CPU-time estimate) and the factory that picks one."""

from __future__ import annotations

import logging

from joulebench.errors import UserError
from joulebench.measure.energy import nvml, rapl
from joulebench.measure.energy.base import ENERGY_METERS, EnergyMeter, EnergyWindow
from joulebench.measure.energy.estimate import EstimateMeter
from joulebench.measure.energy.nvml import NvmlMeter
from joulebench.measure.energy.rapl import RaplMeter
from joulebench.notices import warn_once

__all__ = [
    "ENERGY_METERS",
    "EnergyMeter",
    "EnergyWindow",
    "EstimateMeter",
    "NvmlMeter",
    "RaplMeter",
    "make_energy_meter",
]

logger = logging.getLogger("joulebench.measure")


def _is_cuda(device: str) -> bool:
    return device.startswith("cuda")


@ENERGY_METERS.register("auto", help="nvml on a CUDA device if readable, else rapl if readable, else estimate")
def _auto(
    *, device: str = "cpu", cpu_watts_per_core: float | None = None, threads: int | None = None
) -> EnergyMeter:
    reasons = []
    if _is_cuda(device):
        ok, why = nvml.probe(device)
        if ok:
            logger.info("energy meter auto -> nvml (%s)", why)
            return NvmlMeter(device)
        reasons.append(why)
    ok, why = rapl.probe()
    if ok:
        if reasons:
            warn_once("energy meter auto -> rapl: %s; GPU energy not counted", reasons[0])
        else:
            logger.info("energy meter auto -> rapl (%s)", why)
        return RaplMeter(device=device)
    reasons.append(why)
    missing = "RAPL/NVML" if _is_cuda(device) else "RAPL"
    reason = f"auto fallback, no {missing} on this machine: " + "; ".join(reasons)
    meter = EstimateMeter(cpu_watts_per_core, device=device, reason=reason, threads=threads)
    warn_once("energy meter auto -> estimate (%s); %s", reason, meter.power_model.summary())
    return meter


@ENERGY_METERS.register("rapl", help="CPU package energy counters (Linux powercap RAPL); needs read access")
def _rapl(
    *, device: str = "cpu", cpu_watts_per_core: float | None = None, threads: int | None = None
) -> EnergyMeter:
    ok, why = rapl.probe()
    if not ok:
        raise UserError(f"energy meter 'rapl' is not available: {why}; use 'auto' or 'estimate'")
    return RaplMeter(device=device)


@ENERGY_METERS.register("nvml", help="NVIDIA GPU total-energy counter via nvidia-ml-py (Volta or newer)")
def _nvml(
    *, device: str = "cpu", cpu_watts_per_core: float | None = None, threads: int | None = None
) -> EnergyMeter:
    if not _is_cuda(device):
        raise UserError(f"energy meter 'nvml' measures a GPU but the device is {device!r}; use 'auto' or 'rapl'")
    ok, why = nvml.probe(device)
    if not ok:
        raise UserError(f"energy meter 'nvml' is not available: {why}; use 'auto' or 'estimate'")
    return NvmlMeter(device)


@ENERGY_METERS.register("sampled", help="power sampled at 50 Hz during the window (NVML on a CUDA device, else "
                        "RAPL) and integrated; idle power measured first, so records carry gross and net energy "
                        "and the power trace")
def _sampled(
    *, device: str = "cpu", cpu_watts_per_core: float | None = None, threads: int | None = None
) -> EnergyMeter:
    from joulebench.measure.energy.sampled import NvmlPower, RaplPower, SampledMeter

    if _is_cuda(device):
        ok, why = nvml.probe(device)
        if not ok:
            raise UserError(f"energy meter 'sampled' needs NVML power on {device}: {why}; use 'auto' or 'estimate'")
        return SampledMeter(NvmlPower(device))
    ok, why = rapl.probe()
    if not ok:
        raise UserError(f"energy meter 'sampled' needs RAPL on the CPU: {why}; use 'auto' or 'estimate'")
    return SampledMeter(RaplPower())


@ENERGY_METERS.register("estimate", help="CPU power model: wall time x idle watts + process CPU time x watts per "
                        "busy thread (TDP from codecarbon's CPU table); an estimate, not a measurement")
def _estimate(
    *, device: str = "cpu", cpu_watts_per_core: float | None = None, threads: int | None = None
) -> EnergyMeter:
    return EstimateMeter(cpu_watts_per_core, device=device, threads=threads)


def make_energy_meter(
    name: str = "auto",
    *,
    device: str = "cpu",
    cpu_watts_per_core: float | None = None,
    threads: int | None = None,
) -> EnergyMeter:
    """Build the energy meter registered as ``name``.

    Args:
        name: "auto", "rapl", "nvml" or "estimate" (see ``ENERGY_METERS.describe``).
        device: torch device of the run ("cpu", "cuda", "cuda:N").
        cpu_watts_per_core: full-load watts per thread for the estimate (None: the CPU power model's).
        threads: threads of the run (the estimate charges them idle power over wall time).

    Raises:
        UserError: unknown name (with a did-you-mean), a meter that is unavailable
            here, or a wattage below zero.
    """
    if cpu_watts_per_core is not None and not cpu_watts_per_core >= 0:
        raise UserError(f"energy wattages must be >= 0, got cpu_watts_per_core={cpu_watts_per_core}")
    factory = ENERGY_METERS.get(name)
    return factory(device=device, cpu_watts_per_core=cpu_watts_per_core, threads=threads)
