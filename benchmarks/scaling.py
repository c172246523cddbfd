"""Time and peak memory of one simulated window against code distance (3..25), with fitted exponents.

Each distance runs in a fresh subprocess (so its peak resident memory is its own): compile the noisy
circuit and the decoder (cold), then ``--windows`` windows of ``--shots`` shots at stim-uniform
``--p`` with rounds = d (warm cache), recording the window time, the decoder's share of it and the
peak RSS. Exponents are least-squares slopes of log(cost) against log(d); the window's cost must
grow no faster than the decoder's own (their ratio is printed per distance).

    python benchmarks/scaling.py                              # d = 3..25, ~5 min on 2 cores
    python benchmarks/scaling.py --distances 3 5 7 --windows 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

CHILD = r"""
import json, resource, sys, time
import numpy as np
from qec_gym.codes import CodeSpec
from qec_gym.noise import NoiseParams
from qec_gym.sim import SimulationCache, simulate_window
family, d, p, shots, windows = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
spec, noise, cache = CodeSpec(family, d), NoiseParams.uniform(p), SimulationCache()
rng = np.random.default_rng(0)
t0 = time.perf_counter()
cache.compiled_decoder(spec, noise.quantized(64), __import__("qec_gym.decoders", fromlist=["x"]).get_decoder("pymatching"))
compile_s = time.perf_counter() - t0
times, decode = [], []
for _ in range(windows):
    t0 = time.perf_counter()
    w = simulate_window(spec, noise, shots=shots, rng=rng, cache=cache)
    times.append(time.perf_counter() - t0)
    decode.append(w.decode_seconds)
circuit = cache.circuit(spec, noise.quantized(64))
print(json.dumps(dict(family=family, distance=d, qubits=circuit.num_qubits, detectors=circuit.num_detectors,
                      compile_s=compile_s, window_s=float(np.median(times)), decode_s=float(np.median(decode)),
                      errors=w.errors, peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""


def slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", default="rotated_surface", choices=["rotated_surface", "xzzx"])
    ap.add_argument("--distances", type=int, nargs="+", default=[3, 5, 7, 9, 11, 15, 19, 25])
    ap.add_argument("--p", type=float, default=1e-3)
    ap.add_argument("--shots", type=int, default=1000)
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--out", default=None, help="also write the rows as JSON lines here")
    args = ap.parse_args(argv)
    rows = []
    for d in args.distances:
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-c", CHILD, args.family, str(d), str(args.p), str(args.shots),
                              str(args.windows)], capture_output=True, text=True, check=True)
        row = json.loads(res.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"d={d:3d} qubits={row['qubits']:5d} detectors={row['detectors']:6d} compile={row['compile_s']:.2f}s "
              f"window={row['window_s'] * 1e3:8.1f} ms (decode {row['decode_s'] * 1e3:7.1f} ms, ratio "
              f"{row['window_s'] / row['decode_s']:.2f}) peak RSS {row['peak_rss_mb']:.0f} MB  [{time.perf_counter() - t0:.0f} s]",
              flush=True)
    d = np.array([r["distance"] for r in rows], dtype=float)
    print(f"\nexponents in d ({args.family}, p={args.p}, {args.shots} shots, rounds = d):")
    for key in ("window_s", "decode_s", "compile_s", "detectors"):
        print(f"  {key:<10} ~ d^{slope(d, [r[key] for r in rows]):.2f}")
    rss = np.array([r["peak_rss_mb"] for r in rows])
    print(f"  peak RSS above the d={int(d[0])} process ~ d^{slope(d[1:], rss[1:] - rss[0] + 1e-9):.2f}" if len(d) > 2 else "")
    if args.out:
        with open(args.out, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)


if __name__ == "__main__":
    main()
