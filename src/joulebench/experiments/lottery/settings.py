"""Ticket study files (``configs/ticket_*.yaml``): a base run config plus what to search and compare.

A study file holds its base run config (task, model, max_seq_len, train, measure; no
reductions) as a one-item ``configs:`` list, so ``joulebench validate`` and ``joulebench run``
read the file as that config (the dense baseline) and ignore the ticket sections beside it:
``search``, ``baselines``, ``mlm`` and ``transfer``. Every record a study writes has the base
config with one ``ticket`` reduction, so it is the record ``joulebench run`` would write for it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joulebench.config.schema import RunConfig
from joulebench.configuration import parse_config, read_yaml, resolve_task_value
from joulebench.errors import UserError
from joulebench.reductions.lottery.pruning import check_sparsities, sparsity_schedule
from joulebench.reductions.lottery.targets import check_targets


def _help(text: str, default: Any = dataclasses.MISSING, **kw: Any) -> Any:
    return field(default=default, metadata={"help": text}, **kw)


@dataclass(frozen=True)
class SearchSettings:
    """How masks are found."""

    method: str = _help("imp (iterative magnitude pruning with rewinding) or one_shot (magnitude of the "
                        "pre-trained weights).", "imp")
    sparsity_step: float = _help("Sparsity added per round, as a fraction of the ORIGINAL weights (Chen et al.).", 0.1)
    final_sparsity: float = _help("Last sparsity level.", 0.9)
    sparsities: tuple[float, ...] | None = _help("Explicit increasing levels; overrides step and final.", None)
    rewind_step: int | None = _help("null: rewind to the pre-trained weights; k: to the weights after k steps of "
                                    "the dense fine-tuning.", None)
    seeds: tuple[int, ...] = _help("Seeds of the search (train.seed is replaced by each).", (0,))
    targets: str = _help("encoder+pooler (Chen et al.) or encoder (pooler kept dense: for checkpoints whose "
                         "pooler was never trained, e.g. the packaged all-MiniLM-L6-v2).", "encoder+pooler")

    def levels(self) -> tuple[float, ...]:
        """The sparsity after each round."""
        return tuple(self.sparsities) if self.sparsities else sparsity_schedule(self.sparsity_step, self.final_sparsity)

    def validate(self) -> None:
        """Raise ValueError for impossible settings."""
        if self.method not in ("imp", "one_shot"):
            raise ValueError(f"search.method must be imp or one_shot, got {self.method!r}")
        check_sparsities(self.levels())
        if self.rewind_step is not None and (self.rewind_step < 1 or self.method != "imp"):
            raise ValueError("search.rewind_step must be >= 1 and needs method imp")
        if not self.seeds:
            raise ValueError("search.seeds: at least one seed")
        check_targets(self.targets)


@dataclass(frozen=True)
class BaselineSettings:
    """What every ticket is compared with."""

    dense_seeds: tuple[int, ...] = _help("Seeds of the dense model (matching is judged against all of them).",
                                         (0, 1, 2))
    matching_tolerance: float = _help("A ticket matches when the paired 95% interval of its difference to the dense "
                                      "model (seeds averaged per example) excludes a loss of this much: the "
                                      "non-inferiority rule of the budgets (0.01 = one point).", 0.01)
    random_pruning: bool = _help("Random mask with the ticket's per-layer sparsity, from the pre-trained weights.",
                                 True)
    random_reinit: bool = _help("The ticket's mask on randomly initialised weights.", True)
    sparsities: tuple[float, ...] | None = _help("Levels that get baselines; null = every searched level.", None)
    sparse_execution: tuple[float, ...] | None = _help("IMP levels also recorded with CSR kernels (execution "
                                                       "sparse_csr); CSR is slow at low sparsity.", None)

    def validate(self) -> None:
        """Raise ValueError for impossible settings."""
        if not self.dense_seeds:
            raise ValueError("baselines.dense_seeds: at least one seed (the matching rule needs the dense score)")
        if not 0 <= self.matching_tolerance < 1:
            raise ValueError(f"baselines.matching_tolerance must be in [0, 1), got {self.matching_tolerance}")


@dataclass(frozen=True)
class MlmSettings:
    """Task-agnostic tickets found with the masked-language-modelling objective."""

    text_file: str | None = _help("Unlabelled text, one example per line; null = the base task's training inputs.",
                                  None)
    max_texts: int | None = _help("Cap on texts per round (random subset); null = all.", 2000)
    mlm_probability: float = _help("Fraction of tokens predicted.", 0.15)
    epochs: float = _help("Passes over the texts per IMP round.", 1.0)
    lr: float | None = _help("MLM learning rate; null = base train.lr.", None)
    downstream: tuple[str, ...] | None = _help("Tasks the MLM masks are fine-tuned on; null = the base task.", None)
    downstream_sparsities: tuple[float, ...] | None = _help("Levels fine-tuned downstream; null = all.", None)

    def validate(self) -> None:
        """Raise ValueError for impossible settings."""
        if not 0 < self.mlm_probability < 1:
            raise ValueError(f"mlm.mlm_probability must be in (0, 1), got {self.mlm_probability}")
        if self.epochs <= 0:
            raise ValueError(f"mlm.epochs must be > 0, got {self.epochs}")
        if self.max_texts is not None and self.max_texts < 1:
            raise ValueError("mlm.max_texts must be >= 1 or null")


@dataclass(frozen=True)
class TransferSettings:
    """Masks found on one task, fine-tuned on another (Chen et al. sec. 5)."""

    tasks: tuple[str, ...] = _help("Tasks that are both sources and targets.", ("sst2", "mrpc"))
    sparsity: float = _help("Sparsity of the transferred masks.", 0.5)
    masks: dict[str, str] | None = _help("Source task -> mask path; a task without one is searched with "
                                         "search_sparsities.", None)
    search_sparsities: tuple[float, ...] | None = _help("IMP levels used to find a missing source mask (must end at "
                                                        "sparsity); null = the search schedule up to sparsity.", None)
    include_mlm: bool = _help("Add a row for the MLM mask (from `ticket mlm` in the same --out) at this sparsity.",
                              False)

    def validate(self) -> None:
        """Raise ValueError for impossible settings."""
        if len(self.tasks) < 1:
            raise ValueError("transfer.tasks: at least one task")
        if not 0 < self.sparsity < 1:
            raise ValueError(f"transfer.sparsity must be in (0, 1), got {self.sparsity}")
        for task, path in (self.masks or {}).items():
            if not isinstance(task, str) or not isinstance(path, str) or not path.endswith(".safetensors"):
                raise ValueError(f"transfer.masks: expected task -> .safetensors path, got {task!r}: {path!r}")
        if self.search_sparsities:
            check_sparsities(self.search_sparsities)
            if abs(self.search_sparsities[-1] - self.sparsity) > 1e-9:
                raise ValueError("transfer.search_sparsities must end at transfer.sparsity")


@dataclass(frozen=True)
class StudySettings:
    """A whole ticket study file."""

    base: RunConfig
    search: SearchSettings = field(default_factory=SearchSettings)
    baselines: BaselineSettings = field(default_factory=BaselineSettings)
    mlm: MlmSettings = field(default_factory=MlmSettings)
    transfer: TransferSettings = field(default_factory=TransferSettings)
    source: str = ""
    #: declared (YAML) tasks the study names, by name: the base task, transfer and downstream tasks, --task.
    declared: dict[str, Any] = field(default_factory=dict, compare=False)

    def with_task(self, value: str, base_dir: Path | None = None) -> StudySettings:
        """The study on another task (``--task``): a built-in name, a task file, or a name in ``tasks/``."""
        name, spec = resolve_task_value(value, base_dir or Path.cwd(), "--task")
        declared = {**self.declared, **({name: spec} if spec is not None else {})}
        base = dataclasses.replace(self.base, task=name, task_spec=spec, task_data=None)
        return dataclasses.replace(self, base=base, declared=declared)


_SECTIONS: dict[str, type] = {
    "search": SearchSettings, "baselines": BaselineSettings, "mlm": MlmSettings, "transfer": TransferSettings,
}


def _section(cls: type, data: Any, where: str) -> Any:
    from joulebench.config.build import build_dataclass

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping, got {data!r}")
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    for name, f in ((f.name, f) for f in dataclasses.fields(cls)):
        value = data.get(name)
        if value is None:
            continue
        if "tuple[float" in str(f.type) and not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                    for x in value):
            raise UserError(f"{where}.{name}: expected a list of numbers, got {list(value)!r}")
        if "tuple[int" in str(f.type) and not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
            raise UserError(f"{where}.{name}: expected a list of integers, got {list(value)!r}")
        if "tuple[str" in str(f.type) and not all(isinstance(x, str) for x in value):
            raise UserError(f"{where}.{name}: expected a list of names, got {list(value)!r}")
        if "tuple[float" in str(f.type):
            data[name] = tuple(float(x) for x in value)
    cfg = build_dataclass(cls, data, where)
    try:
        cfg.validate()
    except ValueError as exc:
        raise UserError(f"{where}: {exc}") from None
    return cfg


def parse_study(data: Any, where: str, base_dir: Path | None = None) -> StudySettings:
    """Validate a study mapping into :class:`StudySettings` (UserError naming the bad key); ``base_dir`` is the
    study file's folder, where declared tasks are looked up."""
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping with 'configs' (a list of one run config) and optional "
                        f"{', '.join(_SECTIONS)}")
    known = {"configs", *_SECTIONS}
    unknown = sorted(set(data) - known)
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(known))}"
        raise UserError(f"{where}: unknown section {unknown[0]!r}{hint}")
    items = data.get("configs")
    if not isinstance(items, list) or len(items) != 1:
        raise UserError(f"{where}: 'configs' must be a list of exactly one run config (the base every ticket is "
                        "trained and measured with)")
    configs = parse_config(items[0], f"{where}.configs[0]", base_dir)
    if len(configs) != 1:
        raise UserError(f"{where}.configs[0]: one measure.scenario only (a study measures every ticket once)")
    base = configs[0]
    if base.reductions:
        raise UserError(f"{where}.configs[0]: no reductions (the study adds the ticket reduction itself)")
    if base.regime != "full":
        raise UserError(f"{where}.configs[0]: tickets are fine-tuned in full; regime must be 'full', "
                        f"got {base.regime!r}")
    sections = {name: _section(cls, data.get(name), f"{where}.{name}") for name, cls in _SECTIONS.items()}
    declared = {base.task: base.task_spec} if base.task_spec is not None else {}
    for task in [*sections["transfer"].tasks, *(sections["mlm"].downstream or ())]:
        if task not in declared:
            name, spec = resolve_task_value(task, base_dir or Path.cwd(), f"{where}: task {task!r}")
            if spec is not None:
                declared[name] = spec
    return StudySettings(base=base, source=where, declared=declared, **sections)


def load_study(path: str | Path) -> StudySettings:
    """Read a study file (``yaml.safe_load``); declared tasks are found beside it (``tasks/``)."""
    return parse_study(read_yaml(path, "study file"), str(path), Path(path).parent)
