#!/usr/bin/env bash
# Set up (if needed) and run the end-to-end demo; extra arguments go to `qec-gym demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/qec-gym demo "$@"
