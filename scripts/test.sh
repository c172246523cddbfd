#!/usr/bin/env bash
# Set up (if needed) and run the test suite (fast tests + doctests; `-m slow` for the long ones).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-browser.sh  # chromium for the dashboard's browser test; never fails
exec .venv/bin/python -m pytest -q "$@"
