import json

import pytest

from joulebench.errors import UserError
from joulebench.results.store import ResultStore


def test_append_and_read_back(tmp_path):
    store = ResultStore.in_dir(tmp_path / "out")
    store.append({"config_hash": "a", "x": 1})
    store.append({"config_hash": "b", "x": 2})
    assert [r["x"] for r in store.records()] == [1, 2]
    assert store.hashes() == {"a", "b"}


def test_partial_last_line_is_ignored_then_cut_before_next_append(tmp_path):
    store = ResultStore(tmp_path / "results.jsonl")
    store.append({"config_hash": "a"})
    with open(store.path, "ab") as f:  # a write killed halfway
        f.write(b'{"config_hash": "b", "cost": {"ene')
    assert store.hashes() == {"a"}
    store.append({"config_hash": "c"})
    lines = store.path.read_text().splitlines()
    assert [json.loads(line)["config_hash"] for line in lines] == ["a", "c"]


def test_corrupt_complete_line_names_file_and_line(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"config_hash": "a"}\nnot json\n')
    with pytest.raises(UserError, match=r"results.jsonl:2: malformed JSON"):
        ResultStore(path).records()


def test_out_must_be_a_directory(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="--out .*file: is a file; expected a folder"):
        ResultStore.in_dir(tmp_path / "file")
    with pytest.raises(UserError, match="is below .*file, which is a file"):
        ResultStore.in_dir(tmp_path / "file" / "out")
