"""Benchmark: `simulate_window` (warm cache) vs stim sampling + PyMatching decoding done by hand.

Both sides sample and decode the same circuit with the same number of shots, interleaved in one
run so machine noise hits both alike; the table reports medians, shots/s and the ratio (target:
<= 1.15), plus what a cache hit saves (cold compile time). The measurement lives in
`qec_gym.bench.bench_window` (``qec-gym bench`` runs it with the other benchmarks).

    python benchmarks/bench_window.py [--shots 10000] [--repeats 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json

from qec_gym.bench import bench_window, format_window


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--distances", type=int, nargs="+", default=[5, 11])
    ap.add_argument("--p", type=float, nargs="+", default=[1e-3, 5e-3])
    ap.add_argument("--json", help="also write the rows as JSON here")
    args = ap.parse_args()
    rows = [bench_window(d, p, shots=args.shots, repeats=args.repeats) for d in args.distances for p in args.p]
    print(format_window(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
