"""Render report.html in headless Chromium and check that Plotly actually drew the plots.

Needs a Chromium binary (Debian: ``apt-get install chromium``); skipped when there is none.
The page must draw with networking disabled, which also proves plotly.js is inline.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.summary import build_sections
from joulebench.report.html import render_html

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_BROWSER = next((b for b in map(shutil.which, _BROWSERS) if b), None)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(_BROWSER is None,
                       reason="no chromium binary on PATH (apt-get install chromium)"),
]


def test_plots_render_in_headless_chromium(tmp_path, record):
    records = [record(), record(reductions=[("int8", {})], accuracy=0.89, energy=0.03),
               record(reductions=[("layers", {"k": 3})], accuracy=0.87, energy=0.02, p50=2.0)]
    sections = build_sections(aggregate(records), cost_axes=("energy_j_per_example",
                                                             "latency_ms_p50"))
    html = render_html(sections)
    assert '<svg class="main-svg"' not in html  # only a live Plotly can produce it
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    cmd = [_BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert dom.count('<svg class="main-svg"') >= 2  # at least one per plot
    markers = re.findall(r'<path class="point[ "]', dom)
    assert len(markers) >= 3  # markers drawn, not just empty axes
    assert "minilm-l6 full + int8" in dom
