"""CPU thread count of torch, pinned so runs are comparable."""

from __future__ import annotations

import os

import torch

from joulebench.errors import UserError


def usable_cores() -> int:
    """Cores this process may run on (CPU affinity, e.g. under taskset or a container cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux (macOS, Windows)
        return os.cpu_count() or 1


def pin_threads(n: int | None = None) -> int:
    """Set torch's intra-op thread count.

    Args:
        n: number of threads; None uses the number of usable cores, because
            torch's own default counts all host cores and oversubscribes a
            restricted cpuset.

    Returns:
        The thread count torch now uses.

    Raises:
        UserError: if ``n`` is below 1.
    """
    if n is not None and n < 1:
        raise UserError(f"threads must be >= 1 (or unset for all usable cores), got {n}")
    torch.set_num_threads(usable_cores() if n is None else int(n))
    return torch.get_num_threads()
