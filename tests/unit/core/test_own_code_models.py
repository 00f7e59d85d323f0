"""A model folder whose config.json asks for its own code (``auto_map``): the code never runs; the user is told
which built-in class ran instead, or the folder is refused before training where no built-in class fits."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import AutoConfig, AutoModel, AutoTokenizer

from joulebench import notices
from joulebench.errors import UserError
from joulebench.models.loading import TINY_CONFIGS, _packaged_minilm, load_classifier

ROOT = Path(__file__).resolve().parents[3]


def _folder(tmp_path: Path, model_type: str | None = None) -> Path:
    folder = tmp_path / "own_code_model"
    config = AutoConfig.for_model("bert", vocab_size=30522, max_position_embeddings=512, **TINY_CONFIGS["bert"])
    AutoModel.from_config(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(_packaged_minilm()).save_pretrained(folder)
    data = json.loads((folder / "config.json").read_text())
    data["auto_map"] = {"AutoModel": "modeling_mine.MyEncoder", "AutoConfig": "configuration_mine.MyConfig"}
    if model_type is not None:
        data["model_type"] = model_type
    (folder / "config.json").write_text(json.dumps(data))
    (folder / "modeling_mine.py").write_text("raise SystemExit('this file must never run')\n")
    return folder


def test_a_known_family_runs_built_in_and_says_so(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(notices, "_warned", set())
    folder = _folder(tmp_path)
    with caplog.at_level(logging.WARNING, logger="joulebench"):
        loaded = load_classifier(str(folder), 2)
        load_classifier(str(folder), 2)
    assert type(loaded.model).__name__ == "BertForSequenceClassification"
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and "\n" not in said[0]
    assert "asks for its own code" in said[0] and "modeling_mine.MyEncoder" in said[0]
    assert "built-in bert classes" in said[0]


def test_an_unknown_type_with_its_own_code_is_refused(tmp_path):
    folder = _folder(tmp_path, model_type="my-encoder")
    with pytest.raises(UserError, match="asks for its own code .* model_type 'my-encoder' has no built-in class"):
        load_classifier(str(folder), 2)


def test_the_refusal_comes_before_training_as_one_line(tmp_path, fixture_data_dir):
    folder = _folder(tmp_path, model_type="my-encoder")
    config = tmp_path / "c.yaml"
    config.write_text(f"task: sst2\nmodel: {folder}\n")
    done = subprocess.run([sys.executable, "-m", "joulebench", "run", str(config), "--out", str(tmp_path / "out"),
                           "--data-dir", str(fixture_data_dir), "--cache-dir", str(tmp_path / "cache")],
                          capture_output=True, text=True, timeout=300, env={**__import__("os").environ,
                                                                             "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("joulebench: error")]
    assert len(errors) == 1 and "has no built-in class" in errors[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.safetensors"))
