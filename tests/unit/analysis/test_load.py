"""load_records: reads JSONL and refuses malformed input with file and line."""

from __future__ import annotations

import json

import pytest

from joulebench.analysis.load import load_records
from joulebench.errors import UserError


def test_loads_records_in_order_and_passes_blank_lines(tmp_path, record, write_jsonl):
    path = tmp_path / "results.jsonl"
    write_jsonl(path, [record(seed=0), record(seed=1)])
    path.write_text(path.read_text() + "\n   \n")
    records = load_records(path)
    assert [r["config"]["train"]["seed"] for r in records] == [0, 1]


def test_malformed_line_names_file_and_line(tmp_path, record):
    path = tmp_path / "results.jsonl"
    good = json.dumps(record())
    path.write_text(f"{good}\n{good}\n{{\"task\": \"sst2\", \n{good}\n")
    with pytest.raises(UserError, match=r"results\.jsonl:3: malformed JSON"):
        load_records(path)


@pytest.mark.parametrize(
    ("line", "message"),
    [("[1, 2]", "expected a JSON object"), ('{"task": "sst2"}', "record lacks required key")],
)
def test_wrong_shapes_are_refused(tmp_path, line, message):
    path = tmp_path / "r.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(UserError, match=rf"r\.jsonl:1: {message}"):
        load_records(path)


def test_newer_schema_version_is_refused(tmp_path, record, write_jsonl):
    path = tmp_path / "r.jsonl"
    write_jsonl(path, [record() | {"schema_version": 99}])
    with pytest.raises(UserError, match="schema_version 99"):
        load_records(path)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_records(tmp_path / "nope.jsonl")


def test_interrupted_last_write_is_skipped_with_a_warning(tmp_path, record, caplog):
    # Same rule as ResultStore: an unterminated, unparsable tail is a write cut short.
    path = tmp_path / "results.jsonl"
    good = json.dumps(record())
    path.write_text(f"{good}\n{good[:40]}")
    with caplog.at_level("WARNING", logger="joulebench.analysis"):
        assert len(load_records(path)) == 1
    assert "results.jsonl:2: ignoring an incomplete last record" in caplog.text


def test_complete_last_record_without_newline_is_kept(tmp_path, record):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(record(seed=0)) + "\n" + json.dumps(record(seed=1)))
    assert len(load_records(path)) == 2
