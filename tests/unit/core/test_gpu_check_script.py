"""benchmarks/gpu_check.py is for a lent GPU; without one it says so and exits 3 (never a false PASS)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "gpu_check.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is visible: the script would run its checks")
def test_without_cuda_the_gpu_check_reports_nothing_checked(tmp_path):
    out = tmp_path / "gpu.jsonl"
    result = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 3, result.stderr
    assert "no CUDA device visible to torch: nothing to check" in result.stdout
    assert "PASS" not in result.stdout and not out.exists()
