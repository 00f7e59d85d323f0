"""Where the Hub cannot be reached, a load fails at once with the clear error instead of after the Hub
client's retries (about 25 s of back-off)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}", "HF_HOME": str(tmp_path / "hf"),
           "PYTHONPATH": str(ROOT / "src")}
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "JOULEBENCH_DATA"):
        env.pop(name, None)
    return env


def test_the_reachability_check_names_the_endpoint(tmp_path):
    code = ("from joulebench.hub_access import hub_unreachable_reason\n"
            "print(hub_unreachable_reason())\n")
    done = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "127.0.0.1" in done.stdout and "unreachable" in done.stdout


def test_missing_data_with_the_hub_unreachable_fails_without_retrying(tmp_path):
    code = ("from joulebench.errors import UserError\n"
            "from joulebench.tasks import get_task\n"
            "try:\n"
            "    get_task('sst2').load('validation', None)\n"
            "except UserError as e:\n"
            "    print(e)\n"
            "    raise SystemExit(3)\n")
    done = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "cannot load glue/sst2 split 'validation' from the Hugging Face Hub" in done.stdout
    assert "127.0.0.1" in done.stdout and "JOULEBENCH_DATA" in done.stdout
    assert "Retrying in" not in done.stderr  # the Hub client's back-off never started


def test_a_hub_model_id_with_the_hub_unreachable_fails_without_retrying(tmp_path):
    (tmp_path / "c.yaml").write_text("task: sst2\nmodel: someone/some-encoder\n")
    env = {**_env(tmp_path), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([sys.executable, "-m", "joulebench", "run", "c.yaml", "--out", "out", "--data-dir",
                           str(ROOT / "tests" / "fixtures")], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "someone/some-encoder" in done.stderr and "Traceback" not in done.stderr
    assert "Retrying in" not in done.stderr
