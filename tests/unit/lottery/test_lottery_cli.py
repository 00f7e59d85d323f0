"""`joulebench ticket` in process: mounted, validates study files, tabulates a store."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from joulebench.cli import app
from joulebench.errors import UserError

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def test_ticket_group_is_mounted_and_validates_the_repo_study_files():
    files = sorted(str(p) for p in CONFIGS.glob("ticket_*.yaml"))
    result = CliRunner().invoke(app, ["ticket", "validate", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == len(files)


def test_bad_study_file_is_a_user_error(tmp_path):
    bad = tmp_path / "ticket_bad.yaml"
    bad.write_text("configs: [{task: sst2}]\nsearch: {method: lottery}\n")
    result = CliRunner().invoke(app, ["ticket", "validate", str(bad)])
    assert isinstance(result.exception, UserError) and "search.method" in str(result.exception)


def test_table_reads_the_store_only(tmp_path):
    result = CliRunner().invoke(app, ["ticket", "table", "--out", str(tmp_path), "--task", "sst2",
                                      "--transfer-sparsity", "0.5"])
    assert result.exit_code == 0, result.output
    assert "| sparsity |" in result.output and "Transfer at 50%" in result.output
