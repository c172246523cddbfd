"""Benchmark: `simulate_window` (warm cache) vs stim sampling + PyMatching decoding done by hand.

Both sides sample and decode the same circuit with the same number of shots, interleaved in one
run so machine noise hits both alike; the table reports medians, shots/s and the ratio (target:
<= 1.15), plus what a cache hit saves (cold compile time).

    python benchmarks/bench_window.py [--shots 10000] [--repeats 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import pymatching
import stim

from qec_gym.codes import CodeSpec
from qec_gym.noise import NoiseParams
from qec_gym.sim import SimulationCache, simulate_window


def stim_uniform(d: int, p: float) -> stim.Circuit:
    return stim.Circuit.generated(
        "surface_code:rotated_memory_x", distance=d, rounds=d, after_clifford_depolarization=p,
        after_reset_flip_probability=p, before_measure_flip_probability=p, before_round_data_depolarization=p,
    )


def bench(d: int, p: float, shots: int, repeats: int) -> dict:
    circuit = stim_uniform(d, p)
    t0 = time.perf_counter()
    matching = pymatching.Matching.from_detector_error_model(circuit.detector_error_model(decompose_errors=True))
    raw_compile = time.perf_counter() - t0

    spec, noise = CodeSpec("rotated_surface", d), NoiseParams.uniform(p)
    cache = SimulationCache()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    simulate_window(spec, noise, shots=1, rng=rng, cache=cache)  # cold: compiles everything
    cold = time.perf_counter() - t0

    raw_times, ours_times = [], []
    for r in range(repeats):
        t0 = time.perf_counter()
        sampler = circuit.compile_detector_sampler(seed=r)
        dets, obs = sampler.sample(shots, separate_observables=True)
        pred = matching.decode_batch(dets)
        _ = int(np.any(pred != obs, axis=1).sum())
        raw_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        simulate_window(spec, noise, shots=shots, rng=rng, cache=cache)
        ours_times.append(time.perf_counter() - t0)
    raw, ours = statistics.median(raw_times), statistics.median(ours_times)
    return {
        "d": d, "p": p, "shots": shots,
        "raw_s": raw, "ours_s": ours, "ratio": ours / raw,
        "raw_shots_per_s": shots / raw, "ours_shots_per_s": shots / ours,
        "cold_compile_s": cold, "raw_compile_s": raw_compile,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--distances", type=int, nargs="+", default=[5, 11])
    ap.add_argument("--p", type=float, nargs="+", default=[1e-3, 5e-3])
    ap.add_argument("--json", help="also write the rows as JSON here")
    args = ap.parse_args()
    rows = [bench(d, p, args.shots, args.repeats) for d in args.distances for p in args.p]
    print(f"{'d':>3} {'p':>8} {'raw s':>8} {'ours s':>8} {'ratio':>6} {'raw shots/s':>12} {'ours shots/s':>13} {'cold compile s':>15}")
    for r in rows:
        print(f"{r['d']:>3} {r['p']:>8.0e} {r['raw_s']:>8.4f} {r['ours_s']:>8.4f} {r['ratio']:>6.3f} "
              f"{r['raw_shots_per_s']:>12,.0f} {r['ours_shots_per_s']:>13,.0f} {r['cold_compile_s']:>15.4f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
