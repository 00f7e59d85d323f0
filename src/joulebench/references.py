"""The models a configuration is measured against, built once and held while consecutive configurations share them:
the paired baseline (dense, torch eager fp32), the dense model on the configuration's engine, and the quality a
calibrated promise is checked against."""

from __future__ import annotations

from typing import Any

from joulebench.config.schema import RunConfig, config_hash
from joulebench.measure.cost import MeasuredModel
from joulebench.tasks.kinds import kind_of
from joulebench.tasks.resolve import report_split


class References:
    """What :class:`joulebench.runner.Runner` compares a configuration with (it builds them: ``built``, ``score``).

    One model is held per slot (``baseline``, ``engine``) and replaced when the next configuration needs another,
    so a sweep of reductions over one dense model loads it once; qualities are kept by configuration hash.
    """

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self._held: dict[str, tuple[str, MeasuredModel]] = {}
        self._qualities: dict[str, dict] = {}

    def quality(self, config: RunConfig, device: str) -> dict:
        """The quality of ``config`` on the reported split (what a calibrated reduction is compared with),
        evaluated once per configuration."""
        key = config_hash(self.runner.bind(config))
        if key not in self._qualities:
            model, tokenizer, task, max_seq_len = self.runner.built(config, device)
            self._qualities[key] = self.runner.score(model, task, tokenizer, max_seq_len, config, device)[2]
        return self._qualities[key]

    def baseline(self, baseline: RunConfig, device: str, threads: int) -> MeasuredModel:
        """The paired baseline's model and evaluation data."""
        if baseline.reductions:
            raise ValueError("a paired baseline has no reductions")
        return self.measured(baseline, device, threads, "baseline")

    def measured(self, config: RunConfig, device: str, threads: int, slot: str) -> MeasuredModel:
        """``config``'s model ready to time on its reported split, held in ``slot`` until another replaces it."""
        config = self.runner.bind(config)
        key = config_hash(config)
        held = self._held.get(slot)
        if held is not None and held[0] == key:
            return held[1]
        self._held.pop(slot, None)  # free the previous one before loading the next
        model, tokenizer, task, max_seq_len = self.runner.built(config, device)
        examples = task.load(report_split(task), self.runner.options.data_dir, config.measure.eval_max_examples, 0)
        encoded = kind_of(task).encode(tokenizer, examples, max_seq_len, config)
        measured = MeasuredModel(model, encoded, config, tokenizer.pad_token_id, device, threads)
        self._held[slot] = (key, measured)
        return measured
