"""Every kind of bad data gives a one-line UserError that names the file and the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from joulebench.errors import UserError
from joulebench.tasks import get_task


def _load_error(name: str, split: str, data_dir: Path) -> str:
    with pytest.raises(UserError) as info:
        get_task(name).load(split, data_dir)
    message = str(info.value)
    assert "\n" not in message
    return message


def _rewrite(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_missing_data_dir(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    message = _load_error("sst2", "train", missing)
    assert str(missing) in message
    assert "glue/SST-2" in message
    assert "train.tsv, dev.tsv" in message


def test_missing_file_names_path_and_layout(tmp_path: Path) -> None:
    message = _load_error("qqp", "validation", tmp_path)
    assert str(tmp_path / "glue" / "QQP" / "dev.tsv") in message
    assert "id, qid1, qid2, question1, question2, is_duplicate" in message


def test_missing_mrpc_file_names_the_msrp_layout(data_copy: Path) -> None:
    (data_copy / "glue/MRPC/test.tsv").unlink()
    message = _load_error("mrpc", "validation", data_copy)
    assert "glue/MRPC/test.tsv" in message
    assert "#1 String" in message


def test_missing_column_names_file_column_and_found_columns(data_copy: Path) -> None:
    path = data_copy / "glue/SST-2/dev.tsv"
    _rewrite(path, "text\tlabel\ngood film\t1\n")
    message = _load_error("sst2", "validation", data_copy)
    assert str(path) in message
    assert "'sentence'" in message
    assert "found columns: 'text', 'label'" in message


def test_missing_label_column_in_qqp(data_copy: Path) -> None:
    path = data_copy / "glue/QQP/train.tsv"
    _rewrite(path, "id\tqid1\tqid2\tquestion1\tquestion2\nx\t1\t2\ta?\tb?\n")
    message = _load_error("qqp", "train", data_copy)
    assert "'is_duplicate'" in message
    assert str(path) in message


@pytest.mark.parametrize("value", ["2", "positive", "", "-1"])
def test_bad_label_names_file_line_and_value(data_copy: Path, value: str) -> None:
    path = data_copy / "glue/SST-2/train.tsv"
    _rewrite(path, f"sentence\tlabel\nfine\t1\nodd one\t{value}\nlast\t0\n")
    message = _load_error("sst2", "train", data_copy)
    assert str(path) in message
    assert "line 3" in message
    assert repr(value) in message
    assert "expected 0 or 1" in message


def test_bad_label_in_mrpc_counts_lines_with_bom_and_crlf(data_copy: Path) -> None:
    path = data_copy / "glue/MRPC/test.tsv"
    lines = path.read_bytes().split(b"\r\n")
    lines[4] = b"7" + lines[4][1:]  # the label of file line 5
    path.write_bytes(b"\r\n".join(lines))
    message = _load_error("mrpc", "validation", data_copy)
    assert "line 5" in message
    assert "'7'" in message
    assert "'Quality'" in message


def test_header_only_file_is_an_empty_split(data_copy: Path) -> None:
    path = data_copy / "glue/QQP/dev.tsv"
    _rewrite(path, "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n")
    message = _load_error("qqp", "validation", data_copy)
    assert str(path) in message
    assert "no data rows" in message


def test_zero_byte_file_is_named(data_copy: Path) -> None:
    path = data_copy / "glue/SST-2/dev.tsv"
    _rewrite(path, "")
    message = _load_error("sst2", "validation", data_copy)
    assert str(path) in message
    assert "empty" in message


def test_mrpc_file_with_only_toy_rows_is_empty(data_copy: Path) -> None:
    path = data_copy / "glue/MRPC/train.tsv"
    _rewrite(
        path,
        "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n"
        "0\t-1\t-1\tI like apples.\tI do not.\r\n",
    )
    message = _load_error("mrpc", "train", data_copy)
    assert str(path) in message
    assert "no usable rows" in message


@pytest.mark.parametrize("row", ["only one field", "a\tb\t1"])
def test_wrong_field_count_names_file_and_line(data_copy: Path, row: str) -> None:
    path = data_copy / "glue/SST-2/dev.tsv"
    _rewrite(path, f"sentence\tlabel\ngood\t1\nbad\t0\n{row}\nfine\t1\n")
    message = _load_error("sst2", "validation", data_copy)
    assert str(path) in message
    assert "line 4" in message
    assert "expected 2 tab-separated fields" in message


def test_blank_lines_are_skipped_and_line_numbers_stay_physical(data_copy: Path) -> None:
    path = data_copy / "glue/SST-2/dev.tsv"
    _rewrite(path, "sentence\tlabel\ngood\t1\n\nbad\t9\n")
    message = _load_error("sst2", "validation", data_copy)
    assert "line 4" in message


def test_non_utf8_file_is_named(data_copy: Path) -> None:
    path = data_copy / "glue/SST-2/dev.tsv"
    path.write_bytes(b"sentence\tlabel\ncaf\xe9\t1\n")
    message = _load_error("sst2", "validation", data_copy)
    assert str(path) in message
    assert "UTF-8" in message


def test_unknown_split_is_named(fixtures_dir: Path) -> None:
    message = _load_error("sst2", "test", fixtures_dir)
    assert "'test'" in message
    assert "train, validation" in message
