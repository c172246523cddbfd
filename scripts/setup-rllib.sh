#!/usr/bin/env bash
# Create a side venv with Ray RLlib and qec-gym (idempotent; safe to re-run).
# RLlib cannot go into the project's .venv: every ray[rllib] extra from 2.55.0 to 2.60.0 pins
# gymnasium==1.2.2, while .venv runs gymnasium 1.4 (docs/distributed.md, "RLlib").
# Usage: scripts/setup-rllib.sh [VENV_DIR]   (default: ../rllib-venv, next to the checkout)
# torch is installed first and pinned: an unpinned torch pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
RAY_VERSION=${RAY_VERSION:-2.60.0}
VENV=${1:-${RLLIB_VENV:-../rllib-venv}}
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.qec-gym-rllib-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$(cat "$stamp")" != "$RAY_VERSION" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q torch==2.13.0
  "$VENV/bin/python" -m pip install -q "ray[rllib]==$RAY_VERSION"
  # qec-gym's core dependencies only (gymnasium>=1.0 accepts RLlib's 1.2.2) and pytest to run
  # tests/test_rllib.py; the constraint keeps pip from moving gymnasium off RLlib's pin.
  gym_pin=$("$VENV/bin/python" -c "import gymnasium; print(gymnasium.__version__)")
  "$VENV/bin/python" -m pip install -q -e . "pytest>=8" "gymnasium==$gym_pin"
  echo "$RAY_VERSION" > "$stamp"
fi
"$VENV/bin/python" -c "import ray, gymnasium, torch, qec_gym; print(f'rllib venv $VENV: ray {ray.__version__}, gymnasium {gymnasium.__version__}, torch {torch.__version__}')"
