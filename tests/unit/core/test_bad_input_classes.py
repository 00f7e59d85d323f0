"""Bad input found by trying, treated as classes: every numeric field, every path argument, the question-answering
window around its boundary, the model's position table, every invariant of a task's data. Each is one line."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
import yaml

from joulebench.config.schema import MeasureConfig, TrainConfig
from joulebench.configuration import parse_config
from joulebench.errors import UserError

FLOAT_FIELDS = [(section, f.name) for section, cls in (("train", TrainConfig), ("measure", MeasureConfig))
                for f in dataclasses.fields(cls) if f.type in ("float", "float | None")]
INT_FIELDS = [(section, f.name) for section, cls in (("train", TrainConfig), ("measure", MeasureConfig))
              for f in dataclasses.fields(cls) if f.type in ("int", "int | None")]


def test_the_classes_cover_fields():
    assert len(FLOAT_FIELDS) >= 8 and len(INT_FIELDS) >= 8


@pytest.mark.parametrize("section, name", FLOAT_FIELDS + INT_FIELDS)
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_numbers_are_refused_in_every_numeric_field(section, name, value):
    data = yaml.safe_load(f"task: sst2\nmodel: tiny-random-bert\n{section}: {{{name}: {value}}}\n")
    with pytest.raises(UserError) as err:
        parse_config(data, "c.yaml")
    assert f"c.yaml.{section}.{name}: expected a" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("reduction", [{"name": "early_exit", "threshold": float("nan")},
                                       {"name": "token_prune", "keep_ratio": float("inf")},
                                       {"name": "structured_prune", "heads_frac": float("nan"), "ffn_frac": 0.1}])
def test_non_finite_reduction_parameters_are_refused(reduction):
    with pytest.raises(UserError, match="expected a finite number"):
        parse_config({"task": "sst2", "model": "tiny-random-bert", "reductions": [reduction]})


@pytest.mark.parametrize("max_seq_len", [12, 16, 24, 32, 40, 47, 48, 49, 64, 96])
def test_question_answering_windows_hold_long_questions_at_every_length(max_seq_len):
    from transformers import AutoTokenizer

    from joulebench.models.loading import _packaged_minilm
    from joulebench.tasks.qa import encode_qa
    from joulebench.tasks.squad import QAExample

    tokenizer = AutoTokenizer.from_pretrained(_packaged_minilm())
    question = "which of the many long and winding roads that the travellers took " * 3 + "was the shortest?"
    context = "The shortest road was the one by the river, which the travellers took at dawn. " * 4
    example = QAExample("q", question, context, ("the one by the river",), (context.index("the one by"),))
    stride = min(128, max_seq_len // 2)
    windows = encode_qa(tokenizer, [example], max_seq_len, stride)
    assert windows and all(len(w.input_ids) <= max_seq_len for w in windows)
    assert any(o is not None for w in windows for o in w.offsets)  # context tokens in every case


def test_a_window_with_no_room_for_a_question_is_refused_at_validate():
    with pytest.raises(UserError, match="max_seq_len 10 with doc_stride 5 leaves no room for a question"):
        parse_config({"task": "squad", "model": "tiny-random-bert", "max_seq_len": 10})
    parse_config({"task": "squad", "model": "tiny-random-bert", "max_seq_len": 12})


@pytest.mark.parametrize("model, limit", [("minilm-l6", 512), ("tiny-random-roberta", 513),
                                          ("tiny-random-bert", None)])
def test_max_seq_len_beyond_the_position_table_is_refused(model, limit):
    from joulebench.models.loading import resolve_model

    if limit is None:
        target = resolve_model(model)
        limit = target["config"].get("max_position_embeddings", 512)
    parse_config({"task": "sst2", "model": model, "max_seq_len": limit})
    with pytest.raises(UserError, match=f"max_seq_len: {limit + 1} is beyond the {limit} positions"):
        parse_config({"task": "sst2", "model": model, "max_seq_len": limit + 1})


def test_duplicate_squad_ids_are_refused():
    from joulebench.tasks.squad import parse_squad

    qa = {"id": "a1", "question": "Who?", "answers": [{"text": "Ann", "answer_start": 0}]}
    data = {"data": [{"paragraphs": [{"context": "Ann did.", "qas": [qa, {**qa, "question": "Who did?"}]}]}]}
    with pytest.raises(UserError, match=r"qas\[1\]\.id: question id 'a1' is used twice \(first at .*qas\[0\]\)"):
        parse_squad(data, "dev.json", "validation")


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "joulebench", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})


@pytest.mark.parametrize("command", [["run", "cfg.yaml", "--out"], ["sweep", "cfg.yaml", "--out"],
                                     ["report", "results.jsonl", "--out"], ["predict", ".", "--input", "in.jsonl",
                                                                            "--out"]])
def test_out_below_a_regular_file_is_one_line(tmp_path, command):
    (tmp_path / "cfg.yaml").write_text("task: sst2\nmodel: tiny-random-bert\n")
    (tmp_path / "results.jsonl").write_text(json.dumps({"config_hash": "x", "quality": {}}) + "\n")
    (tmp_path / "a_file").write_text("x")
    if command[0] == "predict":
        (tmp_path / "joulebench.json").write_text("{}")
    result = _cli(*command, tmp_path / "a_file" / "out", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("joulebench: error")]
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-1500:]
    if command[0] != "predict":  # predict first reads the folder (not an export: also one line)
        assert "a_file" in lines[0] and "file" in lines[0]
