"""`export --config-hash` takes any unique prefix of at least six characters, as git takes commits."""

from __future__ import annotations

import pytest

from joulebench.errors import UserError
from joulebench.export.select import select_record


@pytest.fixture
def store(tmp_path, record, write_jsonl):
    hashes = {"dense": "abcdef0123456789", "int8": "abcdef9876543210", "layer_drop": "0123456789abcdef"}
    records = [{**record(name=name), "config_hash": value} for name, value in hashes.items()]
    path = tmp_path / "results.jsonl"
    write_jsonl(path, records)
    return path


def test_a_unique_prefix_selects_its_record(store):
    assert select_record(store, config_hash="012345")["name"] == "layer_drop"
    assert select_record(store, config_hash="ABCDEF98")["name"] == "int8"
    assert select_record(store, config_hash="0123456789abcdef")["name"] == "layer_drop"


def test_an_ambiguous_prefix_lists_the_matches(store):
    with pytest.raises(UserError) as error:
        select_record(store, config_hash="abcdef")
    message = str(error.value)
    assert "ambiguous" in message and "abcdef0123456789 (dense)" in message and "abcdef9876543210 (int8)" in message
    assert "\n" not in message


def test_a_short_or_unknown_prefix_is_refused(store):
    with pytest.raises(UserError, match="too short; give at least 6"):
        select_record(store, config_hash="abcde")
    with pytest.raises(UserError, match="'fedcba' is not in"):
        select_record(store, config_hash="fedcba")
