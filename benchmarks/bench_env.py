"""Benchmark: environment steps vs the simulation they wrap, side by side in one run.

* circuit backend: one env step vs `simulate_window` of the same window (same code, noise,
  decoder, shots, warm cache): the env's own overhead (target ratio <= 1.2);
* table backend: env steps per second on one core (target >= 10,000 for SurfaceSwitch-v1).

The measurements live in `qec_gym.bench` (``qec-gym bench`` runs them with the other benchmarks).

    python benchmarks/bench_env.py [--steps 20000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json

from qec_gym.bench import ENV_IDS_CIRCUIT, ENV_IDS_TABLE, circuit_vs_window, format_env, table_steps_per_second


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = {"circuit": [circuit_vs_window(i, repeats=args.repeats) for i in ENV_IDS_CIRCUIT],
            "table": [table_steps_per_second(i, steps=args.steps) for i in ENV_IDS_TABLE]}
    print(format_env(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
