"""Time and memory of simulated windows against code distance (3..25) and patch count (1..64).

Distance: each distance runs in a fresh subprocess (so its peak resident memory is its own). It
compiles the noisy circuit, the detector error model (DEM), PyMatching's graph and the detector
layout (cold, each timed), then runs one untimed and ``--windows`` timed windows of ``--shots``
shots at stim-uniform ``--p`` with rounds = d on the warm cache, recording the window's time and
PyMatching's own time to decode the same shots alone, the C heap the cache keeps against its
estimate (`SimulationCache.info().nbytes`), and the peak RSS. Times are CPU seconds of the process
(``time.process_time``; the work is single-threaded), so other jobs on shared cores inflate them
far less than wall time (the window's wall time is listed too).

Patches: qec-gym has no multi-patch simulation path, so N independent d=5 patches are N
sequential `simulate_window` calls per step, each patch at its own noise (p (1 + i/100), so each
has its own circuit and decoder in the cache, as under per-patch drift). A fresh subprocess per N
records the cold first step (N compiles), the median warm step and the peak RSS.

Sweep task: a fresh subprocess per distance runs one `run_sweep` task (sinter, one worker
process, ``--shots`` shots) and records the CPU time of the parent (task building: circuit and
DEM) and of the worker (its own DEM, decoder compile, sampling and decoding), and both peak RSS.

Exponents are least-squares slopes of log(cost) against log(d) (or log(N)); the window's cost
must grow no faster than the decoder's own.

    python benchmarks/scaling.py                                   # both tables, ~9 min on 2 busy cores
    python benchmarks/scaling.py --distances 3 5 7 --patches 1 4 --windows 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

CHILD_DISTANCE = r"""
import gc, json, resource, sys, time
import numpy as np
from qec_gym.codes import CodeSpec, template_circuit
from qec_gym.decoders import get_decoder
from qec_gym.noise import NoiseParams
from qec_gym.sim import SimulationCache, simulate_window
from qec_gym.sim.cache import c_heap_bytes, detector_error_model
family, d, p, shots, windows = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
spec, noise, cache, dec = CodeSpec(family, d), NoiseParams.uniform(p), SimulationCache(), get_decoder("pymatching")
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def timed(f):  # CPU seconds of this process: robust to other jobs sharing the cores, unlike wall time
    t0 = time.process_time(); f(); return time.process_time() - t0
base_rss = rss()
template_circuit(spec)  # the noiseless template is memoised per spec, outside the cache
gc.collect(); heap0 = c_heap_bytes()
circuit_s = timed(lambda: cache.circuit(spec, noise))
circuit = cache.circuit(spec, noise)
dem = detector_error_model(circuit, dec, spec)
dem_s = timed(lambda: detector_error_model(circuit, dec, spec))
num_errors = dem.num_errors
del dem
decoder_s = timed(lambda: cache.compiled_decoder(spec, noise, dec)) - dem_s  # the DEM again, then the graph
layout_s = timed(lambda: cache.layout(spec))
gc.collect(); heap1 = c_heap_bytes()
compile_rss = rss()
compiled = cache.compiled_decoder(spec, noise, dec)
rng = np.random.default_rng(0)
simulate_window(spec, noise, shots=shots, rng=rng, cache=cache)  # untimed: first-touch page faults, CPU caches
times, decode, wall = [], [], []
for _ in range(windows):
    t0, w0 = time.process_time(), time.perf_counter()
    w = simulate_window(spec, noise, shots=shots, rng=rng, cache=cache, keep_events=True)
    times.append(time.process_time() - t0)
    wall.append(time.perf_counter() - w0)
    dets = w.detection_events
    packed = np.packbits(dets, axis=1, bitorder="little")
    # the decoder's own cost: the same call on the same shots, alone
    decode.append(timed(lambda: compiled.decode_packed_with_effort(packed, dets)))
print(json.dumps(dict(
    family=family, distance=d, qubits=circuit.num_qubits, detectors=circuit.num_detectors, dem_errors=num_errors,
    circuit_s=circuit_s, dem_s=dem_s, decoder_s=decoder_s, layout_s=layout_s,
    window_s=float(np.median(times)), decode_s=float(np.median(decode)), window_wall_s=float(np.median(wall)),
    errors=w.errors,
    cache_estimate_mb=cache.info().nbytes / 2**20,
    cache_heap_mb=None if heap0 is None else (heap1 - heap0) / 2**20,
    base_rss_mb=base_rss, compile_peak_rss_mb=compile_rss, peak_rss_mb=rss())))
"""

CHILD_PATCHES = r"""
import json, resource, sys, time
import numpy as np
from qec_gym.codes import CodeSpec
from qec_gym.decoders import get_decoder
from qec_gym.noise import NoiseParams
from qec_gym.sim import SimulationCache, simulate_window
n, d, p, shots, steps = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
spec, cache = CodeSpec("rotated_surface", d), SimulationCache()
noises = [NoiseParams.uniform(p * (1 + i / 100)) for i in range(n)]
rngs = [np.random.default_rng(i) for i in range(n)]
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
base_rss = rss()
decoder = get_decoder("pymatching")
def step():  # CPU seconds, as in the distance child
    total = dec = 0.0
    for noise, rng in zip(noises, rngs):
        t0 = time.process_time()
        w = simulate_window(spec, noise, shots=shots, rng=rng, cache=cache, keep_events=True)
        total += time.process_time() - t0
        compiled, dets = cache.compiled_decoder(spec, noise, decoder), w.detection_events
        packed = np.packbits(dets, axis=1, bitorder="little")
        t0 = time.process_time()
        compiled.decode_packed_with_effort(packed, dets)
        dec += time.process_time() - t0
    return total, dec
cold_s, _ = step()
warm = [step() for _ in range(steps)]
print(json.dumps(dict(patches=n, cold_step_s=cold_s, step_s=float(np.median([w[0] for w in warm])),
                      decode_s=float(np.median([w[1] for w in warm])), cache_estimate_mb=cache.info().nbytes / 2**20,
                      base_rss_mb=base_rss, peak_rss_mb=rss())))
"""

CHILD_SWEEP = r"""
import json, os, resource, sys, time
from qec_gym.sim import SweepConfig, make_tasks, run_sweep
family, d, p, shots = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
config = SweepConfig(families=(family,), distances=(d,), p_values=(p,), max_shots=shots, max_errors=10**9,
                     num_workers=1)
t0, c0 = time.perf_counter(), time.process_time()
make_tasks(config)  # what run_sweep does first, timed alone (circuit + DEM in this process)
tasks_s = time.process_time() - c0
c0 = time.process_time()
(stats,) = run_sweep(config, save_path=None)
wall = time.perf_counter() - t0
child = os.times()
print(json.dumps(dict(family=family, distance=d, shots=stats.shots, errors=stats.errors, tasks_cpu_s=tasks_s,
                      parent_cpu_s=time.process_time() - c0, worker_cpu_s=child.children_user + child.children_system,
                      wall_s=wall, parent_peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      worker_peak_rss_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)))
"""


def slope(x, y) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def run_child(code: str, args: list, timeout: float) -> dict:
    res = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                         timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def distance_table(rows: list[dict], fit_from: int) -> str:
    lines = ["| d | qubits | detectors | DEM errors | circuit s | DEM s | matching graph s | layout s "
             "| window CPU ms | PyMatching decode CPU ms | window / decode | window wall ms | cache est. MB | cache heap MB "
             "| peak RSS MB (compile) | peak RSS MB (end) |",
             "|" + "---|" * 16]
    for r in rows:
        heap = "n/a" if r["cache_heap_mb"] is None else f"{r['cache_heap_mb']:.1f}"
        lines.append(
            f"| {r['distance']} | {r['qubits']} | {r['detectors']} | {r['dem_errors']} | {r['circuit_s']:.3f} "
            f"| {r['dem_s']:.3f} | {r['decoder_s']:.3f} | {r['layout_s']:.3f} | {r['window_s'] * 1e3:.1f} "
            f"| {r['decode_s'] * 1e3:.1f} | {r['window_s'] / r['decode_s']:.2f} | {r['window_wall_s'] * 1e3:.1f} "
            f"| {r['cache_estimate_mb']:.1f} "
            f"| {heap} | {r['compile_peak_rss_mb']:.0f} | {r['peak_rss_mb']:.0f} |")
    d = [r["distance"] for r in rows]
    big = [r for r in rows if r["distance"] >= fit_from]
    db = [r["distance"] for r in big]
    lines.append("")
    lines.append(f"Exponents k of cost ~ d^k (all d | d >= {fit_from}):")
    lines.append("")
    keys = [("window_s", "window"), ("decode_s", "PyMatching decode (same shots)"), ("circuit_s", "circuit build"),
            ("dem_s", "DEM extraction"), ("decoder_s", "matching graph"), ("layout_s", "detector layout"),
            ("cache_estimate_mb", "cache memory (estimate)"), ("detectors", "detectors")]
    for key, label in keys:
        k_all = slope(d, [r[key] for r in rows])
        k_big = slope(db, [r[key] for r in big]) if len(big) >= 2 else float("nan")
        lines.append(f"- {label}: {k_all:.2f} | {k_big:.2f}")
    rss = [r["peak_rss_mb"] - r["base_rss_mb"] for r in big]
    if len(big) >= 2 and min(rss) > 0:
        lines.append(f"- peak RSS above the imports: {slope(db, rss):.2f} (d >= {fit_from} only)")
    return "\n".join(lines)


def patch_table(rows: list[dict]) -> str:
    lines = ["| patches | cold step CPU s | warm step CPU ms | per patch ms | PyMatching decode CPU ms | step / decode "
             "| cache est. MB | peak RSS MB |", "|" + "---|" * 8]
    for r in rows:
        lines.append(f"| {r['patches']} | {r['cold_step_s']:.2f} | {r['step_s'] * 1e3:.1f} "
                     f"| {r['step_s'] * 1e3 / r['patches']:.2f} | {r['decode_s'] * 1e3:.1f} "
                     f"| {r['step_s'] / r['decode_s']:.2f} | {r['cache_estimate_mb']:.2f} | {r['peak_rss_mb']:.0f} |")
    n = [r["patches"] for r in rows]
    lines.append("")
    lines.append(f"Exponents k of cost ~ N^k: warm step {slope(n, [r['step_s'] for r in rows]):.2f}, decode "
                 f"{slope(n, [r['decode_s'] for r in rows]):.2f}, cold step {slope(n, [r['cold_step_s'] for r in rows]):.2f}, "
                 f"cache memory {slope(n, [r['cache_estimate_mb'] for r in rows]):.2f}")
    return "\n".join(lines)


def sweep_table(rows: list[dict]) -> str:
    lines = ["| d | shots | make_tasks CPU s | run_sweep parent CPU s | worker CPU s | wall s "
             "| parent peak RSS MB | worker peak RSS MB |", "|" + "---|" * 8]
    for r in rows:
        lines.append(f"| {r['distance']} | {r['shots']} | {r['tasks_cpu_s']:.2f} | {r['parent_cpu_s']:.2f} "
                     f"| {r['worker_cpu_s']:.2f} | {r['wall_s']:.1f} | {r['parent_peak_rss_mb']:.0f} "
                     f"| {r['worker_peak_rss_mb']:.0f} |")
    d = [r["distance"] for r in rows]
    if len(rows) >= 2:
        lines.append("")
        lines.append(f"Exponents k of cost ~ d^k: worker CPU {slope(d, [r['worker_cpu_s'] for r in rows]):.2f}, "
                     f"parent CPU {slope(d, [r['parent_cpu_s'] for r in rows]):.2f}")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", nargs="*", default=["rotated_surface", "xzzx"], choices=["rotated_surface", "xzzx"])
    ap.add_argument("--distances", type=int, nargs="+", default=[3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25])
    ap.add_argument("--p", type=float, default=1e-3)
    ap.add_argument("--shots", type=int, default=1000)
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--fit-from", type=int, default=9, help="also fit exponents over d >= this")
    ap.add_argument("--patches", type=int, nargs="*", default=[1, 2, 4, 8, 16, 32, 64])
    ap.add_argument("--patch-distance", type=int, default=5)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--sweep-distances", type=int, nargs="*", default=[3, 5, 9, 15, 21, 25],
                    help="one sinter sweep task (rotated surface, --shots shots, 1 worker) per distance")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per child process")
    ap.add_argument("--out", default=None, help="also write the rows as JSON lines here")
    args = ap.parse_args(argv)
    all_rows = []
    for family in args.families:
        rows = []
        for d in args.distances:
            t0 = time.perf_counter()
            rows.append(run_child(CHILD_DISTANCE, [family, d, args.p, args.shots, args.windows], args.timeout))
            print(f"  {family} d={d}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        all_rows += rows
        print(f"\n### {family}, p = {args.p} (stim uniform), rounds = d, {args.shots} shots per window, "
              f"median of {args.windows} warm windows\n")
        print(distance_table(rows, args.fit_from), flush=True)
    if args.patches:
        rows = []
        for n in args.patches:
            rows.append(run_child(CHILD_PATCHES, [n, args.patch_distance, args.p, args.shots, args.steps], args.timeout))
            print(f"  patches={n} done", file=sys.stderr, flush=True)
        all_rows += rows
        print(f"\n### N rotated d={args.patch_distance} patches, sequential windows, {args.shots} shots each, "
              f"median of {args.steps} warm steps\n")
        print(patch_table(rows), flush=True)
    if args.sweep_distances:
        rows = []
        for d in args.sweep_distances:
            rows.append(run_child(CHILD_SWEEP, ["rotated_surface", d, args.p, args.shots], args.timeout))
            print(f"  sweep d={d} done", file=sys.stderr, flush=True)
        all_rows += rows
        print(f"\n### One sweep task (`run_sweep`, sinter, 1 worker process), rotated surface, rounds = d, "
              f"{args.shots} shots\n")
        print(sweep_table(rows), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in all_rows)


if __name__ == "__main__":
    main()
