"""Ray backend: speed-up against one worker and overhead per task (issue 15 item 4).

One seeded sweep (rotated surface code, d = 3 and 5, three p values, a fixed number of shots so
every backend does the same work) run side by side: in this process (``backend="local"``, one
worker: the reference), on a local Ray with 1 CPU and on a local Ray with ``--cpus`` CPUs; then
the overhead of one Ray task (a no-op mapped over many items, per item). Ray's start-up is
reported apart from the sweep times. The counts of every run are checked equal (the backends
sample the same seeded batches). The 1-minute load average is printed: on a shared machine
other processes take CPUs from the workers.

    python benchmarks/bench_ray.py                 # 2 CPUs (this machine's)
    python benchmarks/bench_ray.py --shots 50000 --batch 5000 --cpus 2
"""

from __future__ import annotations

import argparse
import os
import time

from qec_gym.sim.executor import Executor
from qec_gym.sim.sweep import SweepConfig, run_sweep


def _noop(x):
    return x


def _sweep(cfg: SweepConfig, backend: str, batch: int):
    t = time.perf_counter()
    stats = run_sweep(cfg, save_path=None, backend=backend, seed=11, batch_shots=batch)
    return time.perf_counter() - t, [(s.strong_id, s.shots, s.errors) for s in stats]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", type=int, default=200_000, help="shots per sweep task (default 200000)")
    ap.add_argument("--batch", type=int, default=10_000, help="shots per Ray task (default 10000)")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the larger local Ray (default 2)")
    ap.add_argument("--noops", type=int, default=500, help="no-op tasks for the overhead (default 500)")
    args = ap.parse_args(argv)
    cfg = SweepConfig(families=("rotated_surface",), distances=(3, 5), p_values=(0.002, 0.005, 0.01),
                      max_shots=args.shots, max_errors=10**9, num_workers=1)
    tasks = len(cfg.specs()) * len(cfg.p_values)
    units = tasks * -(-args.shots // args.batch)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; sweep: {tasks} tasks x {args.shots} shots "
          f"= {units} batches of {args.batch}")
    _sweep(cfg, "local", args.batch)  # warm-up: imports, circuit and DEM construction
    serial, reference = _sweep(cfg, "local", args.batch)
    print(f"local, 1 worker, no Ray:  {serial:6.2f} s")
    rows = {}
    for cpus in sorted({1, args.cpus}):
        t = time.perf_counter()
        with Executor("ray", num_cpus=cpus) as ex:
            startup = time.perf_counter() - t
            _sweep(cfg, "ray", args.batch)  # warm-up: worker processes start and import qec_gym
            seconds, counts = _sweep(cfg, "ray", args.batch)
            assert counts == reference, "the Ray backend must store the local backend's counts"
            t = time.perf_counter()
            list(ex.imap(_noop, range(args.noops)))
            overhead = (time.perf_counter() - t) / args.noops
        rows[cpus] = seconds
        print(f"Ray, {cpus} CPU(s):           {seconds:6.2f} s (start-up {startup:.1f} s, not included); "
              f"overhead per task {overhead * 1e3:.2f} ms")
    one, many = rows[1], rows[max(rows)]
    print(f"speed-up {max(rows)} CPUs vs 1 CPU on Ray: {one / many:.2f}x; Ray 1 CPU vs no Ray: {serial / one:.2f}x "
          f"(< 1: Ray's per-task cost); counts identical on every backend")


if __name__ == "__main__":
    main()
