"""The order a sweep runs in, and what it will cost: fine-tunings, measurements, already done.

Configurations sharing a train key (``Runner.train_key``: task, model, regime, max_seq_len and
training settings) share one fine-tuned checkpoint. Running them consecutively means the
checkpoint cache trains once per key and every later configuration of the key reuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from joulebench.config.schema import RunConfig, config_hash


@dataclass(frozen=True)
class PlanItem:
    """One configuration of the sweep, its identities, and whether the store already has it."""

    config: RunConfig
    config_hash: str
    train_key: str
    done: bool


@dataclass(frozen=True)
class SweepPlan:
    """Configurations grouped by train key (groups in order of first appearance).

    Attributes:
        items: every configuration, those sharing a train key consecutive.
        cached: train keys whose checkpoint is already in the cache.
    """

    items: tuple[PlanItem, ...]
    cached: frozenset[str]

    @property
    def pending(self) -> list[PlanItem]:
        """Configurations not yet in the store, in run order."""
        return [item for item in self.items if not item.done]

    @property
    def done(self) -> int:
        """How many configurations the store already holds."""
        return sum(item.done for item in self.items)

    def groups(self) -> list[list[RunConfig]]:
        """Pending configurations, one list per train key, in run order."""
        groups: dict[str, list[RunConfig]] = {}
        for item in self.pending:
            groups.setdefault(item.train_key, []).append(item.config)
        return list(groups.values())

    @property
    def fine_tunings(self) -> int:
        """Fine-tunings still to run: train keys with pending work and no cached checkpoint."""
        return len({item.train_key for item in self.pending} - self.cached)

    @property
    def reused_checkpoints(self) -> int:
        """Train keys with pending work whose checkpoint is already cached."""
        return len({item.train_key for item in self.pending} & self.cached)

    def summary(self) -> str:
        """One line: configurations, already done, measurements and fine-tunings to run."""
        keys = len({item.train_key for item in self.items})
        text = (f"{len(self.items)} configurations ({keys} fine-tuned checkpoint{'s' * (keys != 1)}); "
                f"already done: {self.done}; to run: {len(self.pending)} measurement"
                f"{'s' * (len(self.pending) != 1)} and {self.fine_tunings} fine-tuning"
                f"{'s' * (self.fine_tunings != 1)}")
        if self.reused_checkpoints:
            text += f" ({self.reused_checkpoints} checkpoint{'s' * (self.reused_checkpoints != 1)} already cached)"
        return text


def make_plan(
    configs: Iterable[RunConfig],
    done: Collection[str],
    train_key: Callable[[RunConfig], str],
    has_checkpoint: Callable[[str], bool],
) -> SweepPlan:
    """Order ``configs`` so that those sharing a train key are consecutive.

    Args:
        configs: the expanded sweep, in expansion order (kept within each train key).
        done: config hashes already in the store.
        train_key: the checkpoint identity of a configuration (``Runner.train_key``).
        has_checkpoint: whether the cache holds the checkpoint of a train key.
    """
    groups: dict[str, list[PlanItem]] = {}
    for config in configs:
        key, chash = train_key(config), config_hash(config)
        groups.setdefault(key, []).append(PlanItem(config, chash, key, chash in done))
    items = tuple(item for group in groups.values() for item in group)
    return SweepPlan(items=items, cached=frozenset(k for k in groups if has_checkpoint(k)))
