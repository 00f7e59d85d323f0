"""Which record to export: one named by its config hash, or the answer to "the cheapest within N points",
and the run configuration that record was made from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from joulebench.config.schema import RunConfig
from joulebench.errors import UserError

_PICK = re.compile(r"^\s*within\s+(\d+(?:\.\d+)?)\s*(?:pt|pts|points?)\s*(?:\((point estimate|non-inferiority)\))?"
                   r"\s*(?:(offline|online|server))?\s*$")


def select_record(results: str | Path, pick: str | None = None, config_hash: str | None = None) -> dict:
    """The record of ``config_hash``, or the cheapest configuration (energy per example) within ``pick``
    (``"within 1 pt"``; non-inferiority unless ``"(point estimate)"`` is added; the offline scenario unless
    one is named) of its baseline.

    Raises:
        UserError: a missing results file, a hash not in it, a malformed pick, or a pick with no candidate.
    """
    from joulebench.analysis.load import load_records
    from joulebench.results.store import results_path

    path = results_path(results)
    if not path.is_file():
        raise UserError(f"{path}: results file not found; expected the results.jsonl of a run, sweep or search")
    records = load_records(path)
    if (pick is None) == (config_hash is None):
        raise UserError("export: give exactly one of --pick 'within 1 pt' and --config-hash HASH")
    if config_hash is not None:
        return _by_hash(records, config_hash.strip().lower(), path)
    return _picked(records, str(pick), path)


MIN_PREFIX = 6


def _by_hash(records: list[dict], prefix: str, path: Path) -> dict:
    """The record whose config hash is ``prefix`` or starts with it (at least MIN_PREFIX characters and
    unique, as git takes abbreviated commits); the last one written where a hash was stored twice."""
    if len(prefix) < MIN_PREFIX:
        raise UserError(f"--config-hash: {prefix!r} is too short; give at least {MIN_PREFIX} characters of the hash")
    found = [r for r in records if str(r.get("config_hash", "")).startswith(prefix)]
    hashes = dict.fromkeys(str(r["config_hash"]) for r in found)
    if not hashes:
        raise UserError(f"--config-hash: {prefix!r} is not in {path} ({len(records)} records)")
    if len(hashes) > 1:
        names = {str(r["config_hash"]): str(r.get("name") or "?") for r in found}
        listed = ", ".join(f"{h} ({names[h]})" for h in hashes)
        raise UserError(f"--config-hash: {prefix!r} is ambiguous in {path}: it matches {listed}; give more characters")
    return found[-1]


def _picked(records: list[dict], pick: str, path: Path) -> dict:
    from joulebench.analysis.aggregate import aggregate
    from joulebench.analysis.summary import build_sections

    match = _PICK.match(pick)
    if match is None:
        raise UserError(f"--pick: expected 'within N pt', optionally '(point estimate)' or a scenario, got {pick!r}")
    tolerance, rule, scenario = float(match.group(1)) / 100, match.group(2) or "non-inferiority", match.group(3)
    sections = [s for s in build_sections(aggregate(records), tolerances=(tolerance,))
                if s.scenario == (scenario or "offline")]
    answers = [p for s in sections for p in s.budget_picks if p.rule == rule and p.pick is not None]
    if len({s.task for s in sections}) > 1:
        raise UserError(f"--pick: {path} holds several tasks ({', '.join(sorted({s.task for s in sections}))}); "
                        "export one by --config-hash")
    if not answers:
        raise UserError(f"--pick {pick!r}: no configuration in {path} qualifies (no baseline with paired quality, "
                        f"or no {scenario or 'offline'} records)")
    chosen = answers[0].pick
    assert chosen is not None  # answers holds picks that found a configuration
    return dict(chosen.records[0])


def config_of_record(record: dict) -> RunConfig:
    """The run configuration a record stores, rebuilt and validated as ``joulebench run`` would."""
    from joulebench.configuration import parse_config
    from joulebench.tasks.declared import TaskDeclaration

    stored: dict[str, Any] = dict(record.get("config") or {})
    if not stored:
        raise UserError(f"record {record.get('config_hash')}: no configuration stored")
    spec = stored.pop("task_spec", None)
    stored.pop("task_data", None)
    stored["reductions"] = [{"name": r["name"], **r.get("params", {})} for r in stored.get("reductions", [])]
    configs = parse_config(stored, f"record {record.get('config_hash')}")
    if spec is not None:
        import dataclasses

        configs = [dataclasses.replace(c, task_spec=TaskDeclaration.from_dict(spec)) for c in configs]
    return configs[0]
