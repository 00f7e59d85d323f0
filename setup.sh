#!/usr/bin/env bash
# One-command setup: a virtual environment in .venv with joulebench, its pinned CPU build of
# torch 2.13.0 and everything the tests need. Re-running it is safe.
#   bash setup.sh            # core + dev tools
#   bash setup.sh --browser  # also Debian's chromium, for the report's headless-browser test
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build on Linux.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev]"
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
  fi
fi
.venv/bin/joulebench --help >/dev/null
echo "joulebench installed in .venv: try  .venv/bin/joulebench demo"
