"""Benchmark: cat-qubit channel lookup from the cached table vs one direct Liouvillian solve.

Both are measured side by side in one run, on the same machine, at the same (off-grid) points.

    python benchmarks/bench_bosonic.py                 # default grid, temporary cache
    python benchmarks/bench_bosonic.py --cache-dir ~/.cache/qec_gym/bosonic --workers 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
import timeit

import numpy as np

from qec_gym.bosonic import CatChannelTable, CatParams, CatTableGrid, solve_rates


def _per_call(fn, *, number: int) -> float:
    """Best of 5 repeats, seconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=None, help="table cache folder (default: a temporary one)")
    parser.add_argument("--workers", type=int, default=1, help="processes for building the table")
    parser.add_argument("--points", type=int, default=8, help="direct solves to average")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)

    grid = CatTableGrid.default()
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = args.cache_dir or tmp
        start = time.perf_counter()
        table = CatChannelTable.build(grid, cache_dir=cache_dir, workers=args.workers, progress=True)
        build_s = time.perf_counter() - start
        start = time.perf_counter()
        CatChannelTable.load(grid, cache_dir=cache_dir)
        load_s = time.perf_counter() - start

    rng = np.random.default_rng(args.seed)
    nbar = rng.uniform(grid.nbar[0], grid.nbar[-1], args.points)
    log_k1 = np.log10([grid.kappa1_over_kappa2[0], grid.kappa1_over_kappa2[-1]])
    k1 = 10 ** rng.uniform(log_k1[0], log_k1[1], args.points)
    kphi = rng.uniform(grid.kappaphi_over_kappa2[0], grid.kappaphi_over_kappa2[-1], args.points)

    solve_s = []
    max_rel_err = 0.0
    for n, k, p in zip(nbar, k1, kphi):
        start = time.perf_counter()
        direct = solve_rates(CatParams(n, k, kappaphi_over_kappa2=p))
        solve_s.append(time.perf_counter() - start)
        gx, gz = table.rates(n, k, kappaphi_over_kappa2=p)
        max_rel_err = max(max_rel_err, abs(gx / direct.gamma_x - 1), abs(gz / direct.gamma_z - 1))
    solve_mean = float(np.mean(solve_s))

    point = (float(nbar[0]), float(k1[0]), float(kphi[0]))
    lookup = _per_call(lambda: table.rates(point[0], point[1], kappaphi_over_kappa2=point[2]), number=20000)
    probs = _per_call(
        lambda: table.probabilities(point[0], point[1], kappaphi_over_kappa2=point[2], t_round=5.0),
        number=20000,
    )
    batch_n = 10000
    bn = rng.uniform(grid.nbar[0], grid.nbar[-1], batch_n)
    bk = 10 ** rng.uniform(-4.0, np.log10(3e-2), batch_n)
    batch = _per_call(lambda: table.probabilities_batch(bn, bk, t_round=5.0), number=5) / batch_n

    print(f"default grid: {grid.shape} = {int(np.prod(grid.shape))} points, built in {build_s:.2f} s "
          f"(workers={args.workers}), loaded from cache in {load_s * 1e3:.1f} ms")
    print(
        f"interpolation vs direct solve at {args.points} random off-grid points: "
        f"max rel. error {max_rel_err:.2%}"
    )
    print()
    print(f"{'operation':<52}{'time per call':>16}{'direct solve / this':>22}")
    print("-" * 90)
    rows = [
        ("direct Liouvillian solve (solve_rates)", solve_mean),
        ("table.rates (scalar)", lookup),
        ("table.probabilities (scalar)", probs),
        (f"table.probabilities_batch (per point, n={batch_n})", batch),
    ]
    for name, seconds in rows:
        shown = f"{seconds:.3f} s" if seconds >= 1e-3 else f"{seconds * 1e6:.2f} us"
        print(f"{name:<52}{shown:>16}{solve_mean / seconds:>21,.0f}x")


if __name__ == "__main__":
    main()
