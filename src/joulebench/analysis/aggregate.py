"""Collapse records that differ only in seed (or are measurement repeats) into points.

A configuration's identity is its run config with ``train.seed`` removed: ``config_hash`` is
not usable because it covers the seed. Each resulting :class:`Point` carries mean, std, n and a
95% CI for every metric in :data:`joulebench.results.schema.METRICS`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from joulebench.analysis.labels import config_label, distinguishing_suffixes
from joulebench.analysis.stats import Z95, MetricStat, summarize
from joulebench.results.schema import METRICS, metric_value, metric_where

#: Per-record standard-error field for metrics that have one (quality on a finite split).
STDERR_FIELDS: dict[str, tuple[str, str]] = {
    "accuracy": ("quality", "accuracy_stderr"),
    "f1": ("quality", "f1_stderr"),
    "exact_match": ("quality", "exact_match_stderr"),
    "span_f1": ("quality", "f1_stderr"),
    "macro_f1": ("quality", "macro_f1_stderr"),
    "mcc": ("quality", "mcc_stderr"),
    "pearson": ("quality", "pearson_stderr"),
    "spearman": ("quality", "spearman_stderr"),
}


@dataclass(frozen=True, eq=False)
class Point:
    """One configuration, aggregated over its seeds and measurement repeats.

    Attributes:
        key: 16-hex identity of the configuration (config without seed).
        label: short human label, unique within its (task, scenario).
        task: task key.
        model: model reference as written.
        regime: training regime key.
        scenario: "offline" or "online".
        reductions: the first record's reductions (name, params, details).
        stats: metric name -> summary; metrics no record measured are absent.
        config: the config without ``train.seed``.
        config_hashes: the records' ``config_hash`` values, distinct, in file order.
        seeds: distinct seeds seen, in file order (None when the config had none).
        energy_methods: distinct ``cost.energy_method`` values, in file order.
        energy_notes: distinct ``cost.energy_note`` values, in file order.
        name: the config's optional human name (first record's).
        records: the records aggregated, in file order.
    """

    key: str
    label: str
    task: str
    model: str
    regime: str
    scenario: str
    reductions: tuple[dict, ...] = ()
    stats: dict[str, MetricStat] = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    config_hashes: tuple[str, ...] = ()
    seeds: tuple[object, ...] = ()
    energy_methods: tuple[str, ...] = ()
    energy_notes: tuple[str, ...] = ()
    name: str | None = None
    records: tuple[Mapping, ...] = ()

    @property
    def n(self) -> int:
        """Number of records aggregated into this point."""
        return len(self.records)

    @property
    def is_baseline(self) -> bool:
        """True for the full fine-tuned model with no reductions."""
        return self.regime == "full" and not self.reductions

    @property
    def energy_method(self) -> str | None:
        """The single energy method, ``"mixed(a,b)"`` when records disagree, or None."""
        methods = [m for m in self.energy_methods if m]
        if not methods:
            return None
        return methods[0] if len(methods) == 1 else f"mixed({','.join(methods)})"

    def stat(self, metric: str) -> MetricStat | None:
        """Summary of ``metric``, or None when no record measured it."""
        return self.stats.get(metric)

    def mean(self, metric: str) -> float | None:
        """Mean of ``metric``, or None when no record measured it."""
        stat = self.stats.get(metric)
        return None if stat is None else stat.mean

    def value(self, metric: str) -> float:
        """Mean of ``metric`` for a point already known to have it (a frontier's, a budget's candidates).

        Raises:
            ValueError: no record measured it.
        """
        mean = self.mean(metric)
        if mean is None:
            raise ValueError(f"{self.label}: no value for {metric}")
        return mean

    def ci95(self, metric: str) -> float | None:
        """95% CI half-width of ``metric``, or None when unknown."""
        stat = self.stats.get(metric)
        return None if stat is None else stat.ci95

    @classmethod
    def from_values(
        cls,
        label: str,
        means: Mapping[str, float | None],
        ci95: Mapping[str, float | None] | None = None,
        *,
        task: str = "sst2",
        model: str = "model",
        regime: str = "full",
        scenario: str = "offline",
        reductions: Sequence[dict] = (),
    ) -> Point:
        """Build a point directly from values, for hand-made inputs and what-if analysis.

        Args:
            label: the label (also used to derive the key).
            means: metric -> mean; None values are left out.
            ci95: metric -> CI half-width.
            task: task key.
            model: model reference.
            regime: training regime.
            scenario: scenario key.
            reductions: reductions list.

        Returns:
            A point with n == 1 stats and no records.
        """
        ci95 = ci95 or {}
        stats = {
            m: MetricStat(mean=float(v), std=None, n=1, ci95=ci95.get(m),
                          ci_source="none" if ci95.get(m) is None else "given")
            for m, v in means.items() if v is not None
        }
        key = hashlib.sha256(label.encode()).hexdigest()[:16]
        return cls(key=key, label=label, task=task, model=model, regime=regime,
                   scenario=scenario, reductions=tuple(reductions), stats=stats)


def seed_of(record: Mapping) -> object:
    """The record's ``config.train.seed``, or None when absent."""
    train = (record.get("config") or {}).get("train")
    return train.get("seed") if isinstance(train, Mapping) else None


def config_without_seed(record: Mapping) -> dict:
    """A deep copy of the record's config with ``train.seed`` and the ``name`` label removed
    (the label does not count in ``config_hash`` either)."""
    config = copy.deepcopy(dict(record.get("config") or {}))
    config.pop("name", None)
    if config.get("classifier_pooling") == "cls":  # records made before the key existed were all cls
        config.pop("classifier_pooling")
    train = config.get("train")
    if isinstance(train, dict):
        train.pop("seed", None)
    return config


def _seedless_reductions(record: Mapping) -> list[dict]:
    """The reductions' names and params; a mask file (whose path names its seed) is replaced by the
    recipe that made it (``details.mask_recipe``), so the seeds of one recipe aggregate."""
    out = []
    for r in record.get("reductions") or []:
        params = dict(r.get("params") or {})
        recipe = (r.get("details") or {}).get("mask_recipe")
        if recipe is not None and "mask" in params:
            params["mask"] = {"recipe": recipe}
        out.append({"name": r.get("name"), "params": params})
    return out


def identity_key(record: Mapping) -> str:
    """16-hex hash of what makes a configuration: the seedless config plus the top-level
    task/model/regime/scenario/reductions (name and params; details are outcomes, not inputs,
    except a mask's recipe, which stands in for the seed-specific mask file).
    """
    reductions = _seedless_reductions(record)
    config = config_without_seed(record)
    config["reductions"] = reductions
    identity = {
        "config": config,
        "task": record.get("task"),
        "model": record.get("model"),
        "regime": record.get("regime"),
        "scenario": record.get("scenario"),
        "reductions": reductions,
    }
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def aggregate(records: Iterable[Mapping]) -> list[Point]:
    """Group records by configuration identity and summarise each metric.

    Args:
        records: result records (see ``joulebench.results.schema``).

    Returns:
        One point per configuration, in order of first appearance. Labels are made unique
        within a (task, scenario) by appending the config keys that differ.
    """
    groups: dict[str, list[Mapping]] = {}
    for record in records:
        groups.setdefault(identity_key(record), []).append(record)
    points = [_make_point(key, recs) for key, recs in groups.items()]
    return _disambiguate(points)


def _distinct(values: Iterable[object]) -> tuple:
    """Distinct values in first-seen order; a list scan so unhashable values are fine."""
    seen: list = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return tuple(seen)


def _record_stderr(record: Mapping, metric: str) -> float | None:
    """The record's own uncertainty of ``metric`` as a standard error: the quality metric's
    stderr, or a cost metric's 95% interval over its measurement windows (``cost.ci95``) / 2z."""
    where = metric_where(record, metric)
    if metric in STDERR_FIELDS:
        section, key = STDERR_FIELDS[metric]
        err = (record.get(section) or {}).get(key)
        return None if err is None or where is None else float(err) * where[1]
    cost = record.get("cost") or {}
    interval = (cost.get("ci95") or {}).get(metric)
    if isinstance(interval, (list, tuple)) and len(interval) == 2 and None not in interval:
        # a cost metric read per question (QA): its per-window interval scales the same way
        per_unit = where[0][1] if where is not None and len(where[0]) == 3 else None
        factor = (cost.get(per_unit) or {}).get("windows_per_question", 1.0) if per_unit else 1.0
        return factor * (float(interval[1]) - float(interval[0])) / (2 * Z95)
    return None


def _metric_stats(records: Sequence[Mapping]) -> dict[str, MetricStat]:
    """Summaries of every METRICS entry over the records, skipping unmeasured ones."""
    stats: dict[str, MetricStat] = {}
    for metric in METRICS:
        values, stderrs = [], []
        for record in records:
            value = metric_value(record, metric)
            if value is None or not math.isfinite(value):
                # NaN/inf (json allows them) mean "not measurable", like None.
                continue
            values.append(value)
            err = _record_stderr(record, metric)
            if err is not None:
                stderrs.append(err)
        stat = summarize(values, stderrs)
        if stat is not None:
            stats[metric] = stat
    return stats


def _make_point(key: str, records: Sequence[Mapping]) -> Point:
    """Build the point for one group of records sharing an identity."""
    first = records[0]
    reductions = tuple(dict(r) for r in first.get("reductions") or [])
    costs = [r.get("cost") or {} for r in records]
    engine = (first.get("config") or {}).get("engine") or "torch"
    return Point(
        key=key,
        label=config_label(first["model"], first["regime"], reductions) + ("" if engine == "torch" else
                                                                           f" on {engine}"),
        task=str(first["task"]),
        model=str(first["model"]),
        regime=str(first["regime"]),
        scenario=str(first["scenario"]),
        reductions=reductions,
        stats=_metric_stats(records),
        config=config_without_seed(first),
        config_hashes=_distinct(r.get("config_hash") for r in records if r.get("config_hash")),
        seeds=_distinct(seed_of(r) for r in records),
        energy_methods=_distinct(c.get("energy_method") for c in costs if c.get("energy_method")),
        energy_notes=_distinct(c.get("energy_note") for c in costs if c.get("energy_note")),
        name=first.get("name"),
        records=tuple(records),
    )


def _disambiguate(points: list[Point]) -> list[Point]:
    """Append distinguishing config keys (or the key hash) to labels that collide."""
    by_label: dict[tuple[str, str, str], list[int]] = {}
    for i, point in enumerate(points):
        by_label.setdefault((point.task, point.scenario, point.label), []).append(i)
    result = list(points)
    for indices in by_label.values():
        if len(indices) < 2:
            continue
        suffixes = distinguishing_suffixes([points[i].config for i in indices])
        for i, suffix in zip(indices, suffixes, strict=True):
            extra = suffix or f"#{points[i].key[:6]}"
            result[i] = replace(points[i], label=f"{points[i].label} ({extra})")
    return result

